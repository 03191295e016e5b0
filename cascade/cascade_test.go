package cascade_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/reference"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

func TestOptionsValidate(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		opts cascade.Options
		msg  string // empty: valid
	}{
		{cascade.Options{}, ""},
		{cascade.DefaultOptions(), ""},
		{cascade.Options{MinSize: 1}, ""},
		{cascade.Options{MinSize: 40, Factor: 0.5, Thresholds: [3]float32{0, 1, 0.5}}, ""},
		{cascade.Options{MinSize: 0.99}, "min size"},
		{cascade.Options{MinSize: -20}, "min size"},
		{cascade.Options{MinSize: nan}, "min size"},
		{cascade.Options{MinSize: float32(math.Inf(1))}, "min size"},
		{cascade.Options{Factor: 1}, "factor"},
		{cascade.Options{Factor: -0.5}, "factor"},
		{cascade.Options{Factor: nan}, "factor"},
		{cascade.Options{Thresholds: [3]float32{0.6, 0.7, 1.01}}, "threshold 3"},
		{cascade.Options{Thresholds: [3]float32{-0.1, 0.7, 0.7}}, "threshold 1"},
		{cascade.Options{Thresholds: [3]float32{0.6, nan, 0.7}}, "threshold 2"},
	} {
		err := tc.opts.Validate()
		if tc.msg == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.opts, err)
			}
			continue
		}
		if !errors.Is(err, cascade.ErrOptions) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v: error %v, want ErrOptions mentioning %q", tc.opts, err, tc.msg)
		}
	}
}

func TestDetectRejectsBadOptions(t *testing.T) {
	det := detector(t)
	_, err := det.Detect(context.Background(), image.NewGray(image.Rect(0, 0, 50, 50)), cascade.Options{Factor: 2})
	if !errors.Is(err, cascade.ErrOptions) {
		t.Errorf("error %v, want ErrOptions", err)
	}
	if _, err := det.Detect(context.Background(), nil, cascade.Options{}); err == nil {
		t.Error("nil image accepted")
	}
}

var (
	detOnce sync.Once
	det     *cascade.Detector
	detErr  error
)

func detector(t testing.TB) *cascade.Detector {
	detOnce.Do(func() { det, detErr = cascade.NewDefault() })
	if detErr != nil {
		t.Fatal(detErr)
	}
	return det
}

func TestSmallImages(t *testing.T) {
	d := detector(t)
	for _, r := range []image.Rectangle{
		image.Rect(0, 0, 0, 0),
		image.Rect(0, 0, 1, 1),
		image.Rect(0, 0, 11, 500),
		image.Rect(0, 0, 500, 12), // min side*scale must exceed 12
		image.Rect(5, 5, 17, 17),
	} {
		faces, err := d.Detect(context.Background(), image.NewRGBA(r), cascade.Options{})
		if err != nil || faces == nil || len(faces) != 0 {
			t.Errorf("%v: faces %v, err %v; want empty, no error", r, faces, err)
		}
	}
}

func TestPyramidBudget(t *testing.T) {
	d := detector(t)
	img := image.NewGray(image.Rect(0, 0, 4000, 3000))
	_, err := d.Detect(context.Background(), img, cascade.Options{MinSize: 1})
	if !errors.Is(err, cascade.ErrTooLarge) {
		t.Errorf("error %v, want ErrTooLarge", err)
	}
}

func TestContextCancelled(t *testing.T) {
	d := detector(t)
	img := testenv.Image(t, testenv.Path(t, "testdata", "images", "ivan.png"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Detect(ctx, img, cascade.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// TestImageTypes checks that every image representation of the same pixels
// gives the same faces: the stored colour is used and alpha is ignored.
func TestImageTypes(t *testing.T) {
	shared := testenv.Shared(t)
	d := detector(t)
	src := testenv.Image(t, filepath.Join(shared, "testdata", "images", "test_image.png"))
	ref, err := reference.Load(filepath.Join(shared, "testdata", "reference", "min40", "test_image.json"))
	if err != nil {
		t.Fatal(err)
	}
	b := src.Bounds()
	nrgba := image.NewNRGBA(b)
	draw.Draw(nrgba, b, src, b.Min, draw.Src)
	// Opaque pixels only in the RGBA copies: premultiplication is lossy.
	opaque := image.NewNRGBA(b)
	copy(opaque.Pix, nrgba.Pix)
	for i := 3; i < len(opaque.Pix); i += 4 {
		opaque.Pix[i] = 0xff
	}
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, opaque, b.Min, draw.Src)
	n64 := image.NewNRGBA64(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			n64.Set(x, y, color.NRGBA64Model.Convert(nrgba.NRGBAAt(x, y)))
		}
	}
	// The alpha channel differs, the stored colour does not.
	halfAlpha := image.NewNRGBA(b)
	copy(halfAlpha.Pix, nrgba.Pix)
	for i := 3; i < len(halfAlpha.Pix); i += 4 {
		halfAlpha.Pix[i] = 0x30
	}
	sub := image.NewNRGBA(image.Rect(-7, -3, b.Dx()+10, b.Dy()+5))
	draw.Draw(sub, sub.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(sub, b.Add(image.Pt(3, 2)), nrgba, b.Min, draw.Src)
	subImg := sub.SubImage(b.Add(image.Pt(3, 2)))

	for name, img := range map[string]image.Image{
		"NRGBA": nrgba, "RGBA": rgba, "NRGBA64": n64, "NRGBA alpha 0x30": halfAlpha, "SubImage": subImg,
	} {
		t.Run(name, func(t *testing.T) {
			// Every variant holds the reference's stored colours, so every
			// one must give the reference faces; coordinates are relative
			// to the image's bounds.
			want := ref.Faces()
			got, err := d.Detect(context.Background(), img, ref.Options())
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range reference.Compare(got, want).Errors {
				t.Error(e)
			}
		})
	}
}

// TestGrayAndPaletted checks that gray and paletted images read as their
// RGB equivalents.
func TestGrayAndPaletted(t *testing.T) {
	d := detector(t)
	gray := testenv.Image(t, testenv.Path(t, "testdata", "images", "hopper_gray.png"))
	b := gray.Bounds()
	rgb := image.NewNRGBA(b)
	draw.Draw(rgb, b, gray, b.Min, draw.Src)
	pal := make(color.Palette, 256)
	for i := range pal {
		pal[i] = color.Gray{uint8(i)}
	}
	paletted := image.NewPaletted(b, pal)
	draw.Draw(paletted, b, gray, b.Min, draw.Src)
	cmyk := image.NewCMYK(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			v := color.GrayModel.Convert(gray.At(x, y)).(color.Gray).Y
			cmyk.SetCMYK(x, y, color.CMYK{K: 255 - v})
		}
	}
	want, err := d.Detect(context.Background(), rgb, cascade.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 1 {
		t.Fatalf("%d faces in hopper_gray, want 1", len(want))
	}
	for name, img := range map[string]image.Image{"Gray": gray, "Paletted": paletted, "CMYK": cmyk} {
		got, err := d.Detect(context.Background(), img, cascade.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d := reference.Compare(got, want); len(d.Errors) > 0 || d.MaxPixel != 0 {
			t.Errorf("%s: %v", name, d.Errors)
		}
	}
}

// TestConcurrentDetect runs one Detector from several goroutines on
// different images (run with -race).
func TestConcurrentDetect(t *testing.T) {
	shared := testenv.Shared(t)
	d := detector(t)
	names := []string{"ivan", "test_image", "hopper_gray", "astronaut"}
	var wg sync.WaitGroup
	for _, n := range names {
		ref, err := reference.Load(filepath.Join(shared, "testdata", "reference", "min40", n+".json"))
		if err != nil {
			t.Fatal(err)
		}
		img := testenv.Image(t, filepath.Join(shared, "testdata", "images", ref.Image))
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := d.Detect(context.Background(), img, ref.Options())
				if err != nil {
					t.Error(err)
					return
				}
				if e := reference.Compare(got, ref.Faces()).Errors; len(e) > 0 {
					t.Errorf("%s: %v", n, e)
				}
			}()
		}
	}
	wg.Wait()
}

// TestDetectAllocs checks that a detection in a steady state allocates
// only the faces it returns: buffers, loops and graphs are all reused.
func TestDetectAllocs(t *testing.T) {
	old := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(old)
	d := detector(t)
	for _, tc := range []struct {
		image string
		opts  cascade.Options
	}{
		{"solvay.png", cascade.Options{MinSize: 20}},
		{"multiface.png", cascade.Options{MinSize: 20, FMA: true}},
		{"hopper_gray.png", cascade.DefaultOptions()},
	} {
		img := testenv.Image(t, testenv.Path(t, "testdata", "images", tc.image))
		var faces []cascade.Face
		detect := func() {
			var err error
			if faces, err = d.Detect(context.Background(), img, tc.opts); err != nil {
				t.Fatal(err)
			}
		}
		// Level workers take pyramid levels in whatever order they come
		// free: a few runs let each see the largest ones.
		for range 4 {
			detect()
		}
		if len(faces) == 0 {
			t.Fatalf("%s: no faces", tc.image)
		}
		if a := testing.AllocsPerRun(5, detect); a > 1 {
			t.Errorf("%s: %v allocations per detection, want 1 (the faces)", tc.image, a)
		}
	}
}

func TestDetectStats(t *testing.T) {
	d := detector(t)
	img := testenv.Image(t, testenv.Path(t, "testdata", "images", "test_image.png"))
	faces, st, err := d.DetectStats(context.Background(), img, cascade.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Candidates[2] != len(faces) || st.Candidates[0] < st.Candidates[1] || st.Candidates[1] < len(faces) {
		t.Errorf("candidates %v for %d faces", st.Candidates, len(faces))
	}
	for i, s := range st.Stage {
		if s <= 0 {
			t.Errorf("stage %d took %v", i+1, s)
		}
	}
}

func Example() {
	det, err := cascade.NewDefault()
	if err != nil {
		panic(err)
	}
	// A plain gray square has no faces.
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	faces, err := det.Detect(context.Background(), img, cascade.Options{MinSize: 20})
	fmt.Println(len(faces), err)
	// Output: 0 <nil>
}
