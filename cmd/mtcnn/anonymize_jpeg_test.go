package main

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// TestAnonymizeJPEGBlockExact runs "mtcnn anonymize" on solvay.jpg (a
// baseline 4:2:0 JPEG without EXIF rotation) and ivan.jpg (progressive
// 4:2:0): every 16x16 MCU away from the masks decodes to exactly the
// input's pixels, and the output has no APPn or COM segment.
func TestAnonymizeJPEGBlockExact(t *testing.T) {
	for _, name := range []string{"solvay", "ivan"} {
		t.Run(name, func(t *testing.T) { testAnonymizeJPEGBlockExact(t, name) })
	}
}

func testAnonymizeJPEGBlockExact(t *testing.T, name string) {
	data, err := os.ReadFile(filepath.Join(testenv.Shared(t), "testdata", "images", name+".jpg"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, name+".jpg")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI("anonymize", in); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	out, err := os.ReadFile(filepath.Join(dir, name+"_anonymized.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range jpegMarkers(t, out) {
		if m >= 0xE0 && m <= 0xEF || m == 0xFE {
			t.Errorf("output JPEG has marker %#x (APPn or COM)", m)
		}
	}
	orig, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	faces, err := det.Detect(context.Background(), orig, cascade.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	rs := anonymize.Regions(orig.Bounds(), faces, anonymize.Options{})
	b := orig.Bounds()
	kept := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			mcu := image.Rect(x/16*16, y/16*16, x/16*16+16, y/16*16+16)
			near := false
			for _, r := range rs {
				near = near || mcu.Overlaps(r.Bounds().Inset(-2))
			}
			if near {
				continue
			}
			kept++
			if orig.At(x, y) != got.At(x, y) {
				t.Fatalf("pixel %d,%d in an MCU away from the masks changed", x, y)
			}
		}
	}
	if kept < b.Dx()*b.Dy()/2 {
		t.Errorf("only %d pixels away from the masks", kept)
	}
	after, err := det.Detect(context.Background(), got, cascade.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(after) > 2 {
		t.Errorf("detector finds %d faces after anonymising, want <= 2", len(after))
	}
}
