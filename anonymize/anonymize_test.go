package anonymize_test

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

var (
	detOnce sync.Once
	det     *cascade.Detector
	detErr  error
)

func detector(tb testing.TB) *cascade.Detector {
	tb.Helper()
	testenv.Shared(tb)
	detOnce.Do(func() { det, detErr = cascade.NewDefault() })
	if detErr != nil {
		tb.Fatal(detErr)
	}
	return det
}

func detect(tb testing.TB, img image.Image) []cascade.Face {
	tb.Helper()
	faces, err := detector(tb).Detect(context.Background(), img, cascade.DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	return faces
}

func toNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	dst := image.NewNRGBA(b)
	draw.Draw(dst, b, img, b.Min, draw.Src)
	return dst
}

// inAnyMask reports whether the pixel (x, y) is in one of the regions.
func inAnyMask(rs []anonymize.Region, x, y int) bool {
	for _, r := range rs {
		if r.Contains(float64(x)+0.5, float64(y)+0.5) {
			return true
		}
	}
	return false
}

// TestApplyHidesSolvay: after anonymising, the detector finds at most 2
// of solvay's 29 faces, in every mode, and no pixel outside the masks
// changed.
func TestApplyHidesSolvay(t *testing.T) {
	src := toNRGBA(testenv.Image(t, testenv.Path(t, "testdata", "images", "solvay.png")))
	faces := detect(t, src)
	if len(faces) != 29 {
		t.Fatalf("solvay: %d faces before anonymising, want 29", len(faces))
	}
	for _, tc := range []struct {
		name string
		opts anonymize.Options
	}{
		{"blur-default-zero", anonymize.Options{}},
		{"blur-boxes", anonymize.Options{Box: true}},
		{"pixelate", anonymize.Options{Mode: anonymize.Pixelate}},
		{"fill", anonymize.Options{Mode: anonymize.Fill}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := toNRGBA(src)
			if err := anonymize.Apply(img, faces, tc.opts); err != nil {
				t.Fatal(err)
			}
			after := detect(t, img)
			t.Logf("%s: %d faces after", tc.name, len(after))
			if len(after) > 2 {
				t.Errorf("%s: detector still finds %d faces, want <= 2", tc.name, len(after))
			}
			rs := anonymize.Regions(img.Rect, faces, tc.opts)
			if len(rs) != 29 {
				t.Fatalf("%d regions, want 29", len(rs))
			}
			changed, outside := 0, 0
			b := img.Rect
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					i := img.PixOffset(x, y)
					same := [4]uint8(img.Pix[i:i+4]) == [4]uint8(src.Pix[i:i+4])
					if inAnyMask(rs, x, y) {
						if !same {
							changed++
						}
					} else if !same {
						outside++
					}
				}
			}
			if outside != 0 {
				t.Errorf("%d pixels outside the masks changed", outside)
			}
			if changed < 29*100 {
				t.Errorf("only %d pixels inside the masks changed", changed)
			}
		})
	}
}

// TestApplyYCbCr edits a decoded 4:2:0 JPEG in place: the luma plane is
// unchanged outside the masks, chroma samples whose luma block's centre is
// outside are unchanged, and the faces are gone.
func TestApplyYCbCr(t *testing.T) {
	f, err := os.Open(testenv.Path(t, "testdata", "images", "solvay.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	img, ok := dec.(*image.YCbCr)
	if !ok || img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		t.Fatalf("solvay.jpg decodes as %T, want 4:2:0 *image.YCbCr", dec)
	}
	faces := detect(t, img)
	orig := *img
	orig.Y, orig.Cb, orig.Cr = append([]uint8(nil), img.Y...), append([]uint8(nil), img.Cb...), append([]uint8(nil), img.Cr...)
	if err := anonymize.Apply(img, faces, anonymize.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := len(detect(t, img)); n > 2 {
		t.Errorf("detector still finds %d of %d faces", n, len(faces))
	}
	rs := anonymize.Regions(img.Rect, faces, anonymize.Options{})
	b := img.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if !inAnyMask(rs, x, y) && img.Y[img.YOffset(x, y)] != orig.Y[img.YOffset(x, y)] {
				t.Fatalf("luma at %d,%d changed outside the masks", x, y)
			}
			if x%2 == 0 && y%2 == 0 {
				inside := false
				for _, r := range rs {
					inside = inside || r.Contains(float64(x)+1, float64(y)+1)
				}
				c := img.COffset(x, y)
				if !inside && (img.Cb[c] != orig.Cb[c] || img.Cr[c] != orig.Cr[c]) {
					t.Fatalf("chroma at %d,%d changed outside the masks", x, y)
				}
			}
		}
	}
}

// TestApplyTypes checks every supported type on a synthetic image with
// non-zero bounds: a mask in the middle changes, corners stay.
func TestApplyTypes(t *testing.T) {
	b := image.Rect(10, 20, 110, 120)
	face := []cascade.Face{{Box: [4]float32{30, 30, 70, 70}, Score: 0.99}}
	imgs := map[string]image.Image{
		"rgba":  image.NewRGBA(b),
		"nrgba": image.NewNRGBA(b),
		"gray":  image.NewGray(b),
		"420":   image.NewYCbCr(b, image.YCbCrSubsampleRatio420),
		"422":   image.NewYCbCr(b, image.YCbCrSubsampleRatio422),
		"444":   image.NewYCbCr(b, image.YCbCrSubsampleRatio444),
	}
	for name, img := range imgs {
		// A checkerboard so that blur and pixelate change the centre.
		d, isDraw := img.(draw.Image)
		if y, ok := img.(*image.YCbCr); ok {
			for i := range y.Y {
				y.Y[i] = uint8(255 * ((i / 3) % 2))
			}
		} else if isDraw {
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					d.Set(x, y, color.Gray{uint8(255 * ((x/3 + y/3) % 2))})
				}
			}
		}
		for _, mode := range []anonymize.Mode{anonymize.Blur, anonymize.Pixelate, anonymize.Fill} {
			before := color.GrayModel.Convert(img.At(b.Min.X+50, b.Min.Y+50)).(color.Gray).Y
			corner := img.At(b.Min.X, b.Min.Y)
			opts := anonymize.Options{Mode: mode, Color: color.RGBA{R: 200, G: 10, B: 10, A: 255}}
			if mode != anonymize.Fill {
				opts.Color = color.RGBA{}
			}
			if err := anonymize.Apply(img, face, opts); err != nil {
				t.Fatalf("%s %v: %v", name, mode, err)
			}
			after := color.GrayModel.Convert(img.At(b.Min.X+50, b.Min.Y+50)).(color.Gray).Y
			if img.At(b.Min.X, b.Min.Y) != corner {
				t.Errorf("%s %v: corner changed", name, mode)
			}
			if mode == anonymize.Fill && after == before && before != 76 {
				t.Errorf("%s fill: centre still %d", name, after)
			}
		}
	}
	if err := anonymize.Apply(image.NewCMYK(b), face, anonymize.Options{}); !errors.Is(err, anonymize.ErrImageType) {
		t.Errorf("CMYK: err %v, want ErrImageType", err)
	}
	w := anonymize.Writable(image.NewCMYK(b))
	if err := anonymize.Apply(w, face, anonymize.Options{}); err != nil {
		t.Errorf("Writable(CMYK): %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opts anonymize.Options
		ok   bool
	}{
		{anonymize.Options{}, true},
		{anonymize.DefaultOptions(), true},
		{anonymize.Options{Mode: 7}, false},
		{anonymize.Options{MaskScale: -1}, false},
		{anonymize.Options{MaskScale: 11}, false},
		{anonymize.Options{BlurDivisor: -2}, false},
		{anonymize.Options{BlockCount: -1}, false},
	} {
		err := tc.opts.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, anonymize.ErrOptions)) {
			t.Errorf("%+v: err %v, want ok=%v", tc.opts, err, tc.ok)
		}
		if err := anonymize.Apply(image.NewRGBA(image.Rect(0, 0, 4, 4)), nil, tc.opts); (err == nil) != tc.ok {
			t.Errorf("Apply %+v: err %v", tc.opts, err)
		}
	}
	for _, s := range []string{"blur", "pixelate", "fill"} {
		m, err := anonymize.ParseMode(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := anonymize.ParseMode("smudge"); !errors.Is(err, anonymize.ErrOptions) {
		t.Errorf("ParseMode(smudge): %v", err)
	}
}

// TestDegenerateFaces: NaN, infinite, empty and outside boxes are skipped
// without panicking; the threshold skips low scores.
func TestDegenerateFaces(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 50, 50))
	nan := float32(0)
	nan /= nan
	inf := float32(math.Inf(1))
	faces := []cascade.Face{
		{Box: [4]float32{nan, 0, 10, 10}, Score: 1},
		{Box: [4]float32{-inf, -inf, inf, inf}, Score: 1},
		{Box: [4]float32{5, 5, 5, 5}, Score: 1},
		{Box: [4]float32{500, 500, 600, 600}, Score: 1},
		{Box: [4]float32{10, 10, 40, 40}, Score: 0.5},
	}
	if err := anonymize.Apply(img, faces, anonymize.Options{Mode: anonymize.Fill}); err != nil {
		t.Fatal(err)
	}
	if n := len(anonymize.Regions(img.Rect, faces, anonymize.Options{})); n != 1 {
		t.Errorf("%d regions, want 1", n)
	}
	if n := len(anonymize.Regions(img.Rect, faces, anonymize.Options{Threshold: 0.6})); n != 0 {
		t.Errorf("threshold 0.6: %d regions, want 0", n)
	}
	if img.RGBAAt(25, 25).A != 255 {
		t.Errorf("centre not filled: %v", img.RGBAAt(25, 25))
	}
}

func TestDrawMasks(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 60, 60))
	out, err := anonymize.DrawMasks(img, []cascade.Face{{Box: [4]float32{20, 20, 40, 40}, Score: 1}}, anonymize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	red := color.NRGBA{R: 255, A: 255}
	if out.NRGBAAt(30, 30) == red || out.NRGBAAt(2, 2) == red {
		t.Error("centre or corner outlined")
	}
	// The ellipse's left end: centre 30, half-width 13.
	if out.NRGBAAt(17, 30) != red {
		t.Errorf("outline missing at the ellipse's left end: %v", out.NRGBAAt(17, 30))
	}
	if img.GrayAt(17, 30).Y != 0 {
		t.Error("DrawMasks changed its input")
	}
}

func BenchmarkApply(b *testing.B) {
	src := toNRGBA(testenv.Image(b, testenv.Path(b, "testdata", "images", "solvay.png")))
	faces := detect(b, src)
	img := toNRGBA(src)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		copy(img.Pix, src.Pix)
		if err := anonymize.Apply(img, faces, anonymize.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestApplyHidesOthers runs every mode on the other shared photos with
// faces: afterwards the detector finds none of them.
func TestApplyHidesOthers(t *testing.T) {
	for _, name := range []string{"astronaut.png", "multiface.png", "test_image.png", "ivan.png", "hopper_gray.png"} {
		src := toNRGBA(testenv.Image(t, testenv.Path(t, "testdata", "images", name)))
		faces := detect(t, src)
		if len(faces) == 0 {
			t.Fatalf("%s: no faces to hide", name)
		}
		for _, mode := range []anonymize.Mode{anonymize.Blur, anonymize.Pixelate, anonymize.Fill} {
			img := toNRGBA(src)
			if err := anonymize.Apply(img, faces, anonymize.Options{Mode: mode}); err != nil {
				t.Fatal(err)
			}
			if after := detect(t, img); len(after) > 0 {
				t.Errorf("%s %v: %d of %d faces still found", name, mode, len(after), len(faces))
			}
		}
	}
}
