package imageio

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// testImage returns a w x h image with no symmetry, so that every flip
// and turn changes it, and with partly transparent pixels, so that
// premultiplication would show.
func testImage(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetNRGBA(x, y, color.NRGBA{
				R: uint8(x * 255 / max(w-1, 1)),
				G: uint8(y * 255 / max(h-1, 1)),
				B: uint8((x*7 + y*13) % 256),
				A: uint8(255 - (x+y)%3*60),
			})
		}
	}
	return m
}

// opaque returns m with every alpha set to 255, for encoders that would
// otherwise flatten alpha in their own way.
func opaque(m *image.NRGBA) *image.NRGBA {
	o := image.NewNRGBA(m.Rect)
	copy(o.Pix, m.Pix)
	for i := 3; i < len(o.Pix); i += 4 {
		o.Pix[i] = 0xFF
	}
	return o
}

type encodeFunc func(*bytes.Buffer, image.Image) error

var encoders = []struct {
	format string
	encode encodeFunc
}{
	{"png", func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) }},
	{"jpeg", func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, &jpeg.Options{Quality: 90}) }},
	{"gif", func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) }},
	{"bmp", func(b *bytes.Buffer, m image.Image) error { return bmp.Encode(b, m) }},
	{"tiff", func(b *bytes.Buffer, m image.Image) error { return tiff.Encode(b, m, nil) }},
	{"tiff", func(b *bytes.Buffer, m image.Image) error {
		return tiff.Encode(b, m, &tiff.Options{Compression: tiff.Deflate, Predictor: true})
	}},
}

func encode(tb testing.TB, enc encodeFunc, m image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := enc(&b, m); err != nil {
		tb.Fatalf("encoding test image: %v", err)
	}
	return b.Bytes()
}

// exifSegment builds a JPEG APP1 segment (marker included) whose EXIF
// IFD0 holds an orientation tag, in either TIFF byte order. A dummy tag
// comes first so that the parser has to walk the entries.
func exifSegment(o uint16, bo binary.ByteOrder) []byte {
	var t bytes.Buffer
	if bo == binary.LittleEndian {
		t.WriteString("II")
	} else {
		t.WriteString("MM")
	}
	put16 := func(v uint16) { _ = binary.Write(&t, bo, v) }
	put32 := func(v uint32) { _ = binary.Write(&t, bo, v) }
	put16(42)
	put32(8) // IFD0 right after the header
	put16(2) // entries
	// ImageDescription-like ASCII tag with an inline value.
	put16(0x010E)
	put16(2)
	put32(4)
	t.WriteString("abc\x00")
	put16(tagOrientation)
	put16(typeShort)
	put32(1)
	put16(o)
	put16(0) // padding of the 4-byte value field
	put32(0) // no next IFD

	body := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xFF, markerAPP1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(body)+2))
	return append(seg, body...)
}

// withSegment inserts seg right after the SOI marker of a JPEG.
func withSegment(jpg, seg []byte) []byte {
	out := make([]byte, 0, len(jpg)+len(seg))
	out = append(out, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// pngHeaderOnly returns a PNG signature, an IHDR claiming w x h and an
// IEND: a valid header with no pixel data.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		td := append([]byte(typ), data...)
		b.Write(td)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(td))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8] = 8 // bit depth
	ihdr[9] = 2 // truecolour
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	return b.Bytes()
}

// bmpHeaderOnly returns a BMP file and info header (32 bits per pixel)
// claiming w x h pixels, with no pixel data.
func bmpHeaderOnly(w, h int32) []byte {
	b := make([]byte, 14+40)
	copy(b, "BM")
	binary.LittleEndian.PutUint32(b[2:], uint32(len(b)))
	binary.LittleEndian.PutUint32(b[10:], uint32(len(b)))
	binary.LittleEndian.PutUint32(b[14:], 40)
	binary.LittleEndian.PutUint32(b[18:], uint32(w))
	binary.LittleEndian.PutUint32(b[22:], uint32(h))
	binary.LittleEndian.PutUint16(b[26:], 1)
	binary.LittleEndian.PutUint16(b[28:], 32)
	return b
}

// asNRGBA converts through color.NRGBAModel pixel by pixel: the slow,
// obviously right reference for the fast paths.
func asNRGBA(m image.Image) *image.NRGBA {
	b := m.Bounds()
	o := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			o.SetNRGBA(x, y, color.NRGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA))
		}
	}
	return o
}

// rotCW turns m a quarter clockwise: stored (x, y) lands at (H-1-y, x).
func rotCW(m *image.NRGBA) *image.NRGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	o := image.NewNRGBA(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o.SetNRGBA(h-1-y, x, m.NRGBAAt(x, y))
		}
	}
	return o
}

// flipH mirrors m left to right.
func flipH(m *image.NRGBA) *image.NRGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	o := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o.SetNRGBA(w-1-x, y, m.NRGBAAt(x, y))
		}
	}
	return o
}

// upright applies orientation o to a stored image as the EXIF
// specification words it (mirror, then turn), independently of Orient's
// inverse mapping.
func upright(m *image.NRGBA, o int) *image.NRGBA {
	cw := func(m *image.NRGBA, n int) *image.NRGBA {
		for range n {
			m = rotCW(m)
		}
		return m
	}
	switch o {
	case 2:
		return flipH(m)
	case 3:
		return cw(m, 2)
	case 4:
		return cw(flipH(m), 2)
	case 5:
		return cw(flipH(m), 3)
	case 6:
		return cw(m, 1)
	case 7:
		return cw(flipH(m), 1)
	case 8:
		return cw(m, 3)
	}
	return m
}

func sameNRGBA(tb testing.TB, got, want *image.NRGBA) {
	tb.Helper()
	if got.Rect.Size() != want.Rect.Size() {
		tb.Fatalf("size %v, want %v", got.Rect.Size(), want.Rect.Size())
	}
	for y := 0; y < want.Rect.Dy(); y++ {
		for x := 0; x < want.Rect.Dx(); x++ {
			g := got.NRGBAAt(got.Rect.Min.X+x, got.Rect.Min.Y+y)
			w := want.NRGBAAt(want.Rect.Min.X+x, want.Rect.Min.Y+y)
			if g != w {
				tb.Fatalf("pixel (%d,%d) = %v, want %v", x, y, g, w)
			}
		}
	}
}
