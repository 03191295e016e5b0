package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep each fuzz input cheap: a hostile header can ask for at
// most a megapixel.
var fuzzLimits = Limits{MaxPixels: 1 << 20, MaxBytes: 1 << 20}

func FuzzDecode(f *testing.F) {
	src := testImage(5, 4)
	for _, e := range encoders {
		data := encode(f, e.encode, src)
		f.Add(data)
		f.Add(data[:len(data)*2/3])
	}
	jpg := encode(f, encoders[1].encode, opaque(src))
	f.Add(withSegment(jpg, exifSegment(6, binary.LittleEndian)))
	f.Add(withSegment(jpg, exifSegment(7, binary.BigEndian)))
	f.Add(pngHeaderOnly(20000, 20000))
	for _, name := range []string{"gopher-doc.1bpp.lossless.webp", "blue-purple-pink.lossy.webp"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, format, err := Decode(bytes.NewReader(data), fuzzLimits)
		if err != nil {
			var pe *panicError
			if errors.As(err, &pe) {
				t.Fatalf("decoder panicked: %v", err)
			}
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if img != nil {
				t.Fatalf("image %T returned with error %v", img, err)
			}
			return
		}
		switch format {
		case "jpeg", "png", "gif", "bmp", "tiff", "webp":
		default:
			t.Fatalf("format %q", format)
		}
		b := img.Bounds()
		if b.Empty() || int64(b.Dx())*int64(b.Dy()) > fuzzLimits.MaxPixels {
			t.Fatalf("bounds %v with cap %d", b, fuzzLimits.MaxPixels)
		}
	})
}

func FuzzOrientation(f *testing.F) {
	jpg := encode(f, encoders[1].encode, opaque(testImage(4, 4)))
	f.Add([]byte{})
	f.Add(jpg)
	for o := uint16(0); o <= 9; o += 3 {
		seg := exifSegment(o, binary.BigEndian)
		f.Add(withSegment(jpg, seg)[:2+len(seg)])
		f.Add(withSegment(jpg, exifSegment(o, binary.LittleEndian))[:2+len(seg)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := Orientation(data); o < 1 || o > 8 {
			t.Fatalf("Orientation = %d", o)
		}
	})
}

func FuzzDecodeHeader(f *testing.F) {
	src := testImage(5, 4)
	for _, e := range encoders {
		data := encode(f, e.encode, src)
		f.Add(data)
		f.Add(data[:len(data)/3])
	}
	f.Add([]byte{})
	f.Add(pngHeaderOnly(2147483647, 2147483647))
	f.Add(bmpHeaderOnly(2147483647, -2147483648))
	f.Add(bmpHeaderOnly(7, 7))
	f.Fuzz(func(t *testing.T, data []byte) {
		hd, err := DecodeHeader(data, fuzzLimits)
		if err != nil {
			var pe *panicError
			if errors.As(err, &pe) {
				t.Fatalf("decoder panicked: %v", err)
			}
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		px := int64(hd.Width) * int64(hd.Height)
		if hd.Width <= 0 || hd.Height <= 0 || px > fuzzLimits.MaxPixels {
			t.Fatalf("size %dx%d with cap %d", hd.Width, hd.Height, fuzzLimits.MaxPixels)
		}
		if n := hd.DecodedBytes(); n < px/2 || n > 16*px {
			t.Fatalf("DecodedBytes %d for %d pixels", n, px)
		}
	})
}
