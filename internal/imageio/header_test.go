package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"
)

func TestDecodeHeaderEmpty(t *testing.T) {
	_, err := DecodeHeader(nil, Limits{})
	if !errors.Is(err, ErrEmpty) || err.Error() != "no image: the input is empty" {
		t.Fatalf("error %v", err)
	}
}

func TestDecodeHeaderHugeMessage(t *testing.T) {
	_, err := DecodeHeader(pngHeaderOnly(2147483647, 2147483647), Limits{})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "2147483647x2147483647") || !strings.Contains(err.Error(), "50000000") {
		t.Fatalf("error %v should be ErrTooLarge giving the size and the cap", err)
	}
}

// TestDecodedBytes checks the estimate against the size of what Decode
// returns, per format and JPEG subsampling.
func TestDecodedBytes(t *testing.T) {
	w, h := 64, 48
	ycbcr := func(r image.YCbCrSubsampleRatio) image.Image {
		m := image.NewYCbCr(image.Rect(0, 0, w, h), r)
		for i := range m.Y {
			m.Y[i] = uint8(i)
		}
		return m
	}
	jpg := func(m image.Image) []byte {
		return encode(t, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) }, m)
	}
	px := int64(w * h)
	for _, tc := range []struct {
		name   string
		data   []byte
		lo, hi int64 // bounds on DecodedBytes
	}{
		{"jpeg 4:2:0", jpg(ycbcr(image.YCbCrSubsampleRatio420)), px * 3 / 2, px*3/2 + px/8},
		{"jpeg gray", jpg(image.NewGray(image.Rect(0, 0, w, h))), px, px + px/8},
		{"jpeg turned", withSegment(jpg(ycbcr(image.YCbCrSubsampleRatio420)), exifSegment(6, binary.BigEndian)), px*3/2 + 3*px, px*3/2 + 3*px + px/8},
		{"jpeg gray turned", withSegment(jpg(image.NewGray(image.Rect(0, 0, w, h))), exifSegment(8, binary.BigEndian)), 2 * px, 2*px + px/8},
		{"png nrgba", encode(t, encoders[0].encode, testImage(w, h)), 4 * px, 4 * px},
		{"png gray", encode(t, encoders[0].encode, image.NewGray(image.Rect(0, 0, w, h))), px, px},
		{"png 16-bit", encode(t, encoders[0].encode, image.NewRGBA64(image.Rect(0, 0, w, h))), 8 * px, 8 * px},
		{"png paletted", encode(t, encoders[0].encode, image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})), px, px},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hd, err := DecodeHeader(tc.data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if n := hd.DecodedBytes(); n < tc.lo || n > tc.hi {
				t.Errorf("DecodedBytes = %d, want in [%d, %d]", n, tc.lo, tc.hi)
			}
			img, _, err := decodeBytes(tc.data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := pixBytes(img); got > hd.DecodedBytes() {
				t.Errorf("the decoded %T holds %d bytes, more than the estimate %d", img, got, hd.DecodedBytes())
			}
		})
	}
}

// pixBytes is the size of an image's pixel buffers.
func pixBytes(m image.Image) int64 {
	switch m := m.(type) {
	case *image.YCbCr:
		return int64(len(m.Y) + len(m.Cb) + len(m.Cr))
	case *image.Gray:
		return int64(len(m.Pix))
	case *image.NRGBA:
		return int64(len(m.Pix))
	case *image.RGBA:
		return int64(len(m.Pix))
	case *image.RGBA64:
		return int64(len(m.Pix))
	case *image.NRGBA64:
		return int64(len(m.Pix))
	case *image.Paletted:
		return int64(len(m.Pix))
	}
	return 0
}
