package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

func TestDecodeFormats(t *testing.T) {
	src := testImage(13, 7)
	for _, e := range encoders {
		t.Run(e.format, func(t *testing.T) {
			data := encode(t, e.encode, src)
			img, format, err := Decode(bytes.NewReader(data), Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if format != e.format {
				t.Errorf("format %q, want %q", format, e.format)
			}
			if img.Bounds() != src.Rect {
				t.Errorf("bounds %v, want %v", img.Bounds(), src.Rect)
			}
		})
	}
}

func TestDecodeKeepsStoredPixels(t *testing.T) {
	src := testImage(9, 5)
	tests := []struct {
		name string
		img  image.Image
		// want is the decoder's own type: Decode must not convert.
		want string
	}{
		{"nrgba", src, "*image.NRGBA"},
		{"opaque", opaque(src), "*image.RGBA"},
		{"gray", grayOf(src), "*image.Gray"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := encode(t, encoders[0].encode, tc.img)
			img, _, err := Decode(bytes.NewReader(data), Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := fmt.Sprintf("%T", img); got != tc.want {
				t.Errorf("type %s, want %s", got, tc.want)
			}
			sameNRGBA(t, asNRGBA(img), asNRGBA(tc.img))
		})
	}
	t.Run("jpeg", func(t *testing.T) {
		data := encode(t, encoders[1].encode, opaque(src))
		img, _, err := Decode(bytes.NewReader(data), Limits{})
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		ref, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := img.(*image.YCbCr); !ok {
			t.Errorf("type %T, want *image.YCbCr", img)
		}
		sameNRGBA(t, asNRGBA(img), asNRGBA(ref))
	})
}

func TestDecodeWebP(t *testing.T) {
	for _, file := range []string{"gopher-doc.1bpp.lossless.webp", "blue-purple-pink.lossy.webp"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			img, format, err := Decode(bytes.NewReader(data), Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if format != "webp" {
				t.Errorf("format %q, want webp", format)
			}
			if img.Bounds() != image.Rect(0, 0, cfg.Width, cfg.Height) {
				t.Errorf("bounds %v, want %dx%d", img.Bounds(), cfg.Width, cfg.Height)
			}
		})
	}
}

func TestDecodeSniffsContentNotName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "really_a_png.jpg")
	if err := os.WriteFile(path, encode(t, encoders[0].encode, testImage(4, 3)), 0o600); err != nil {
		t.Fatal(err)
	}
	img, format, err := DecodeFile(path, Limits{})
	if err != nil {
		t.Fatalf("DecodeFile: %v", err)
	}
	if format != "png" || img.Bounds().Dx() != 4 {
		t.Errorf("got %s %v, want png 4x3", format, img.Bounds())
	}
}

func TestDecodeFileErrorsNamePath(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.png")
	if err := os.WriteFile(bad, []byte("not an image"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		is   error
	}{
		{filepath.Join(dir, "missing.png"), os.ErrNotExist},
		{bad, ErrUnsupported},
	}
	for _, tc := range tests {
		_, _, err := DecodeFile(tc.path, Limits{})
		if !errors.Is(err, tc.is) {
			t.Errorf("DecodeFile(%s) = %v, want %v", tc.path, err, tc.is)
		}
		if err != nil && !strings.Contains(err.Error(), tc.path) {
			t.Errorf("error %q does not name %s", err, tc.path)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	pngData := encode(t, encoders[0].encode, testImage(8, 8))
	jpgData := encode(t, encoders[1].encode, testImage(64, 64))
	tests := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"empty", nil, Limits{}, ErrEmpty},
		{"random", random, Limits{}, ErrUnsupported},
		{"text", []byte("GIF? no, just text"), Limits{}, ErrUnsupported},
		{"20000x20000 png", pngHeaderOnly(20000, 20000), Limits{}, ErrTooLarge},
		{"2^40 pixel png", pngHeaderOnly(1<<20, 1<<20), Limits{}, ErrTooLarge},
		{"2147483647 square png", pngHeaderOnly(2147483647, 2147483647), Limits{}, ErrTooLarge},
		{"4294967295 square png", pngHeaderOnly(4294967295, 4294967295), Limits{}, ErrTooLarge},
		{"2147483647 square bmp", bmpHeaderOnly(2147483647, 2147483647), Limits{}, ErrTooLarge},
		{"top-down bmp over the cap", bmpHeaderOnly(100000, -2147483648), Limits{}, ErrTooLarge},
		{"bmp 16x16 header only", bmpHeaderOnly(16, 16), Limits{}, ErrCorrupt},
		{"png over custom cap", pngData, Limits{MaxPixels: 63}, ErrTooLarge},
		{"png at custom cap", pngData, Limits{MaxPixels: 64}, nil},
		{"over MaxBytes", pngData, Limits{MaxBytes: int64(len(pngData)) - 1}, ErrTooLarge},
		{"at MaxBytes", pngData, Limits{MaxBytes: int64(len(pngData))}, nil},
		{"zero-width png", pngHeaderOnly(0, 5), Limits{}, ErrCorrupt},
		{"png header only", pngHeaderOnly(8, 8), Limits{}, ErrCorrupt},
		{"truncated png", pngData[:len(pngData)/2], Limits{}, ErrCorrupt},
		{"truncated jpeg", jpgData[:len(jpgData)/2], Limits{}, ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, _, err := Decode(bytes.NewReader(tc.data), tc.lim)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode error %v, want %v", err, tc.want)
			}
			if img != nil {
				t.Errorf("image %T returned with error", img)
			}
		})
	}
}

func TestDecodeTooLargeMessage(t *testing.T) {
	_, _, err := Decode(bytes.NewReader(pngHeaderOnly(20000, 20000)), Limits{})
	if err == nil || !strings.Contains(err.Error(), "20000x20000") || !strings.Contains(err.Error(), "50000000") {
		t.Errorf("error %q should give the size and the cap", err)
	}
}

func TestDecodeTooLargeDoesNotAllocate(t *testing.T) {
	data := pngHeaderOnly(20000, 20000)
	allocs := testing.AllocsPerRun(10, func() {
		_, _, _ = Decode(bytes.NewReader(data), Limits{})
	})
	// A 20000x20000 RGB image is 1.2 GB; a handful of small header and
	// error allocations is all that may happen.
	if allocs > 50 {
		t.Errorf("%v allocations for a rejected header", allocs)
	}
}

func TestDecodeReadError(t *testing.T) {
	boom := errors.New("boom")
	_, _, err := Decode(iotest.ErrReader(boom), Limits{})
	if !errors.Is(err, boom) {
		t.Errorf("Decode error %v, want it to wrap %v", err, boom)
	}
}

func TestDecodeTruncatedShared(t *testing.T) {
	for _, name := range []string{"hopper_exif6.jpg", "solvay.jpg", "multiface.jpg", "camera.png", "alpha_turned.png"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(testenv.Path(t, "testdata", "images", name))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = Decode(bytes.NewReader(data[:len(data)/2]), Limits{})
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Decode of first half = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestDecodeSharedPNGNamedJPG(t *testing.T) {
	img, format, err := DecodeFile(testenv.Path(t, "testdata", "images", "test_image.jpg"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if format != "png" {
		t.Errorf("format %q, want png", format)
	}
	// Its transparent pixels must keep their stored colour (RGB 0, alpha 0)
	// rather than being composited on anything.
	if _, ok := img.(*image.NRGBA); !ok {
		t.Errorf("type %T, want *image.NRGBA", img)
	}
}

func TestDecodeSharedExif6(t *testing.T) {
	jpg := testenv.Path(t, "testdata", "images", "hopper_exif6.jpg")
	data, err := os.ReadFile(jpg)
	if err != nil {
		t.Fatal(err)
	}
	if o := Orientation(data); o != 6 {
		t.Fatalf("Orientation = %d, want 6", o)
	}
	got, format, err := DecodeFile(jpg, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if format != "jpeg" {
		t.Errorf("format %q, want jpeg", format)
	}
	stored, _, err := DecodeFile(testenv.Path(t, "testdata", "images", "hopper_exif6.png"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sameNRGBA(t, asNRGBA(got), rotCW(asNRGBA(stored)))
}

func TestOrientationAllEight(t *testing.T) {
	base := encode(t, encoders[1].encode, opaque(testImage(16, 9)))
	plain, _, err := Decode(bytes.NewReader(base), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	stored := asNRGBA(plain)
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for o := 1; o <= 8; o++ {
			t.Run(bo.String()+"/"+strconv.Itoa(o), func(t *testing.T) {
				data := withSegment(base, exifSegment(uint16(o), bo))
				if got := Orientation(data); got != o {
					t.Fatalf("Orientation = %d, want %d", got, o)
				}
				img, _, err := Decode(bytes.NewReader(data), Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if o == 1 {
					if _, ok := img.(*image.YCbCr); !ok {
						t.Errorf("orientation 1 gave %T, want the decoder's *image.YCbCr", img)
					}
				}
				sameNRGBA(t, asNRGBA(img), upright(stored, o))
			})
		}
	}
}

func TestOrientFastPathsMatchModel(t *testing.T) {
	src := testImage(7, 5)
	ycc := image.NewYCbCr(image.Rect(1, 2, 8, 7), image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i * 37)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(i*91), uint8(255-i*53)
	}
	tests := []struct {
		name string
		img  image.Image
	}{
		{"nrgba", src},
		{"nrgba sub-image", src.SubImage(image.Rect(1, 1, 6, 4))},
		{"ycbcr", ycc},
		{"gray", grayOf(src)},
		{"rgba", rgbaOf(src)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for o := 2; o <= 8; o++ {
				sameNRGBA(t, asNRGBA(Orient(tc.img, o)), upright(asNRGBA(tc.img), o))
			}
			if Orient(tc.img, 1) != tc.img || Orient(tc.img, 9) != tc.img {
				t.Error("orientation 1 or out of range must return the image itself")
			}
		})
	}
}

func TestOrientationMalformed(t *testing.T) {
	jpg := encode(t, encoders[1].encode, opaque(testImage(8, 8)))
	good := exifSegment(6, binary.BigEndian)
	mutate := func(f func(seg []byte) []byte) []byte {
		seg := f(append([]byte(nil), good...))
		return withSegment(jpg, seg)
	}
	// Offsets inside good: 4 segment header, 6 "Exif\0\0", then TIFF.
	const tiffAt = 10
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"good", withSegment(jpg, good), 6},
		// Entries are read only as far as the orientation tag, so an
		// overstated count does not hide a tag that is there.
		{"entry count overstated", mutate(func(s []byte) []byte {
			binary.BigEndian.PutUint16(s[tiffAt+8:], 0xFFFF)
			return s
		}), 6},
		{"entry cut off", withSegment(jpg, good)[:len(good)-2], 1},
		{"nil", nil, 1},
		{"soi only", []byte{0xFF, 0xD8}, 1},
		{"not jpeg", []byte("\x89PNG\r\n\x1a\n"), 1},
		{"no exif", jpg, 1},
		{"short segment length", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01}, 1},
		{"segment past end", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E'}, 1},
		{"bad byte order", mutate(func(s []byte) []byte { s[tiffAt] = 'X'; return s }), 1},
		{"bad magic", mutate(func(s []byte) []byte { s[tiffAt+3] = 43; return s }), 1},
		{"ifd offset past end", mutate(func(s []byte) []byte {
			binary.BigEndian.PutUint32(s[tiffAt+4:], 0xFFFFFFF0)
			return s
		}), 1},
		{"value 0", mutate(func(s []byte) []byte { s[len(s)-7] = 0; return s }), 1},
		{"value 9", mutate(func(s []byte) []byte { s[len(s)-7] = 9; return s }), 1},
		{"type LONG", mutate(func(s []byte) []byte { s[len(s)-13] = 4; return s }), 1},
		{"truncated", withSegment(jpg, good)[:30], 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if o := Orientation(tc.data); o != tc.want {
				t.Errorf("Orientation = %d, want %d", o, tc.want)
			}
		})
	}
}

func grayOf(m image.Image) *image.Gray {
	g := image.NewGray(m.Bounds())
	for y := m.Bounds().Min.Y; y < m.Bounds().Max.Y; y++ {
		for x := m.Bounds().Min.X; x < m.Bounds().Max.X; x++ {
			g.Set(x, y, m.At(x, y))
		}
	}
	return g
}

func rgbaOf(m image.Image) *image.RGBA {
	r := image.NewRGBA(m.Bounds())
	for y := m.Bounds().Min.Y; y < m.Bounds().Max.Y; y++ {
		for x := m.Bounds().Min.X; x < m.Bounds().Max.X; x++ {
			r.Set(x, y, m.At(x, y))
		}
	}
	return r
}
