package batch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mtcnn-go/mtcnn/batch"
	"github.com/mtcnn-go/mtcnn/cascade"
)

// Walk a folder and detect the faces of every image in it, results in the
// order of the relative paths.
func Example() {
	// A small collection: the same photo in two folders, and a note.
	dir, err := os.MkdirTemp("", "photos")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	photo, err := os.ReadFile("../testdata/astronaut.png")
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"2024/IMG_0001.png", "2025/IMG_0001.png", "notes.txt"} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, photo, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a photo"), 0o644)

	det, err := cascade.NewDefault()
	if err != nil {
		panic(err)
	}
	items, err := batch.Walk(context.Background(), []string{dir}, func(p string, err error) {
		fmt.Fprintln(os.Stderr, err)
	})
	if err != nil {
		panic(err)
	}
	_, err = batch.Run(context.Background(), det, items, batch.Options{}, func(r *batch.Result) error {
		if r.Err != nil {
			fmt.Println(r.Item.Rel, "skipped, not an image:", r.NotImage)
			return nil
		}
		fmt.Println(r.Item.Rel, r.Width, r.Height, len(r.Faces), "face(s)")
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// 2024/IMG_0001.png 512 512 1 face(s)
	// 2025/IMG_0001.png 512 512 1 face(s)
	// notes.txt skipped, not an image: true
}

// OutputPath mirrors the relative path under an output folder, so equal
// names in different folders never collide.
func ExampleOutputPath() {
	fmt.Println(filepath.ToSlash(batch.OutputPath("out", "2024/IMG_0001.jpg", ".png")))
	fmt.Println(filepath.ToSlash(batch.OutputPath("out", "2025/IMG_0001.jpg", ".png")))
	// Output:
	// out/2024/IMG_0001.jpg.png
	// out/2025/IMG_0001.jpg.png
}

// Shards split a collection between machines: each relative path belongs
// to exactly one of them.
func ExampleShard() {
	items := []batch.Item{{Rel: "2024/IMG_0001.jpg"}, {Rel: "2024/IMG_0002.jpg"}, {Rel: "2025/IMG_0001.jpg"}}
	total := 0
	for i := range 3 {
		sh, err := batch.ParseShard(fmt.Sprintf("%d/3", i))
		if err != nil {
			panic(err)
		}
		total += len(sh.Filter(items))
	}
	fmt.Println(total, "of", len(items))
	_, err := batch.ParseShard("3/3")
	fmt.Println(err)
	// Output:
	// 3 of 3
	// batch: invalid shard 3/3: want 0 <= i < n (shards of 3 are numbered 0 to 2)
}
