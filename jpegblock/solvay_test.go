package jpegblock_test

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
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/jpegblock"
)

// solvay returns solvay.jpg's bytes, its decode with every face blurred,
// and the detector.
func solvay(tb testing.TB) ([]byte, image.Image, *cascade.Detector) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.Shared(tb), "testdata", "images", "solvay.jpg"))
	if err != nil {
		tb.Fatal(err)
	}
	img, _, err := imageio.Decode(bytes.NewReader(data), imageio.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	det, err := cascade.NewDefault()
	if err != nil {
		tb.Fatal(err)
	}
	faces, err := det.Detect(context.Background(), img, cascade.DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	if len(faces) != 29 {
		tb.Fatalf("%d faces on solvay.jpg, want 29", len(faces))
	}
	out := anonymize.Writable(img)
	if err := anonymize.Apply(out, faces, anonymize.DefaultOptions()); err != nil {
		tb.Fatal(err)
	}
	return data, out, det
}

// TestPatchSolvay anonymises solvay.jpg block-exactly: the detector
// finds at most 2 faces after, every pixel outside the re-encoded MCUs
// decodes (with image/jpeg) as in the input, and the output has no
// metadata segment.
func TestPatchSolvay(t *testing.T) {
	data, edited, det := solvay(t)
	var buf bytes.Buffer
	res, err := jpegblock.Patch(&buf, data, edited, jpegblock.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	orig, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	b := orig.Bounds()
	same, kept := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if res.Touched[(y/res.MCUHeight)*res.MCUsX+x/res.MCUWidth] {
				continue
			}
			kept++
			if orig.At(x, y) == got.At(x, y) {
				same++
			}
		}
	}
	if kept != same {
		t.Errorf("%d of %d pixels outside the re-encoded MCUs changed", kept-same, kept)
	}
	if res.Reencoded == 0 || kept == 0 {
		t.Errorf("%d MCUs re-encoded, %d pixels kept", res.Reencoded, kept)
	}
	t.Logf("%dx%d MCUs, %d of %d re-encoded (%d blocks); %d pixels kept exactly; %d bytes in, %d out",
		res.MCUWidth, res.MCUHeight, res.Reencoded, res.MCUsX*res.MCUsY, res.Blocks, kept, len(data), len(out))
	faces, err := det.Detect(context.Background(), got, cascade.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("detector finds %d faces after", len(faces))
	if len(faces) > 2 {
		t.Errorf("detector finds %d faces after anonymising, want <= 2", len(faces))
	}
	for p := 2; p+4 <= len(out) && out[p+1] != 0xDA; p += 2 + int(out[p+2])<<8 | int(out[p+3]) {
		if m := out[p+1]; m >= 0xE0 && m <= 0xEF || m == 0xFE {
			t.Errorf("output has marker %#x", m)
		}
	}
}

// BenchmarkEncodeSolvay compares the block-exact Patch of anonymised
// solvay.jpg with a whole re-encode by imageio.Encode.
func BenchmarkEncodeSolvay(b *testing.B) {
	data, edited, _ := solvay(b)
	b.Run("Patch", func(b *testing.B) {
		for b.Loop() {
			if _, err := jpegblock.Patch(&bytes.Buffer{}, data, edited, jpegblock.DefaultOptions()); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Patch decodes the original with image/jpeg to find the changed
	// pixels: this part of its cost.
	b.Run("image-jpeg.Decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("imageio.Encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := imageio.Encode(&bytes.Buffer{}, edited, "jpeg"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestPatchSolvayUnchanged: with no pixel changed, no MCU is re-encoded
// and, with the input's own Huffman tables, the entropy-coded data is
// the input's byte for byte.
func TestPatchSolvayUnchanged(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.Shared(t), "testdata", "images", "solvay.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	res, err := jpegblock.Patch(&buf, data, img, jpegblock.Options{Tables: jpegblock.TablesKeep})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reencoded != 0 {
		t.Errorf("%d MCUs re-encoded with no change", res.Reencoded)
	}
	sos := func(d []byte) []byte {
		i := bytes.Index(d, []byte{0xFF, 0xDA})
		if i < 0 {
			t.Fatal("no SOS")
		}
		return d[i:]
	}
	if !bytes.Equal(sos(data), sos(buf.Bytes())) {
		t.Error("scan (header and entropy-coded data) differs from the input's")
	}
}
