package batch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// mkfiles creates each named file (slash paths) under dir with its content.
func mkfiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rels(items []Item) []string {
	var r []string
	for _, it := range items {
		r = append(r, it.Rel)
	}
	return r
}

func TestWalk(t *testing.T) {
	dir := t.TempDir()
	mkfiles(t, dir, map[string]string{
		"b/IMG_0001.jpg":     "x",
		"a/IMG_0001.jpg":     "x",
		"a.jpg":              "x",
		"a/sub/deep.png":     "x",
		"a/.hidden.jpg":      "x",
		".git/objects/x.jpg": "x",
		"notes.txt":          "x",
		"Z.jpg":              "x",
	})
	// A symbolic link to a file and one to an ancestor (a loop): neither
	// is followed.
	if err := os.Symlink(filepath.Join(dir, "a.jpg"), filepath.Join(dir, "b", "link.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(dir, "a", "loop")); err != nil {
		t.Fatal(err)
	}
	// A FIFO would block a reader forever: not listed.
	if err := syscall.Mkfifo(filepath.Join(dir, "b", "pipe.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	var reported []string
	items, err := Walk(context.Background(), []string{dir}, func(p string, err error) {
		reported = append(reported, p+": "+err.Error())
	})
	if err != nil {
		t.Fatal(err)
	}
	// Lexical by relative path as byte strings: "Z" < "a", "a.jpg" < "a/...".
	want := []string{"Z.jpg", "a.jpg", "a/IMG_0001.jpg", "a/sub/deep.png", "b/IMG_0001.jpg", "notes.txt"}
	if got := rels(items); !slices.Equal(got, want) {
		t.Errorf("rels %q, want %q", got, want)
	}
	for _, it := range items {
		if it.Path != filepath.Join(dir, filepath.FromSlash(it.Rel)) || !it.Walked || it.Arg != 0 {
			t.Errorf("item %+v: path does not match its rel under %s", it, dir)
		}
	}
	if len(reported) != 0 {
		t.Errorf("unexpected reports: %q", reported)
	}
}

func TestWalkArguments(t *testing.T) {
	dir := t.TempDir()
	mkfiles(t, dir, map[string]string{"p/x.jpg": "x", "p/y/z.jpg": "x", "f.png": "x"})
	p := filepath.Join(dir, "p")
	f := filepath.Join(dir, "f.png")
	missing := filepath.Join(dir, "missing.jpg")
	var reported []string
	items, err := Walk(context.Background(), []string{f, p, missing, filepath.Join(p, "y"), f, "/dev/null"}, func(path string, err error) {
		reported = append(reported, path+": "+err.Error())
	})
	if err != nil {
		t.Fatal(err)
	}
	// The file twice (as named), p's two files once; p/y inside p is a
	// repeated directory; the missing file is an item (its read fails in
	// its turn); /dev/null is reported.
	var got []string
	for _, it := range items {
		got = append(got, it.Path)
	}
	want := []string{f, filepath.Join(p, "x.jpg"), filepath.Join(p, "y", "z.jpg"), missing, f}
	if !slices.Equal(got, want) {
		t.Errorf("paths %q, want %q", got, want)
	}
	if len(reported) != 2 || !strings.Contains(reported[0], "already walked") || !strings.Contains(reported[1], "not a regular file") {
		t.Errorf("reports %q", reported)
	}
	if items[0].Rel != "f.png" || items[0].Walked {
		t.Errorf("a file argument's item is %+v", items[0])
	}
}

func TestWalkCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Walk(ctx, []string{t.TempDir()}, nil); err == nil {
		t.Error("no error from a cancelled walk")
	}
}
