package annotate

import (
	"image"
	"image/color"
	"image/color/palette"
	"math"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
)

var (
	green = color.NRGBA{0, 255, 0, 255}
	red   = color.NRGBA{255, 0, 0, 255}
)

// noMarks are landmarks that Draw must skip, so that box tests see only
// the box.
var noMarks = [5][2]float32{
	{nan(), 1}, {1, nan()}, {inf(1), 1}, {1, inf(-1)}, {nan(), nan()},
}

func nan() float32         { return float32(math.NaN()) }
func inf(sign int) float32 { return float32(math.Inf(sign)) }

// reference converts through color.NRGBAModel pixel by pixel: the slow,
// obviously right specification of Draw's copy.
func reference(m image.Image) *image.NRGBA {
	b := m.Bounds()
	o := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			o.SetNRGBA(x, y, color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA))
		}
	}
	return o
}

func samePixels(t *testing.T, got, want *image.NRGBA) {
	t.Helper()
	if got.Rect != want.Rect {
		t.Fatalf("bounds %v, want %v", got.Rect, want.Rect)
	}
	for y := want.Rect.Min.Y; y < want.Rect.Max.Y; y++ {
		for x := want.Rect.Min.X; x < want.Rect.Max.X; x++ {
			if g, w := got.NRGBAAt(x, y), want.NRGBAAt(x, y); g != w {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, g, w)
			}
		}
	}
}

func inputs() map[string]image.Image {
	r := image.Rect(3, -2, 40, 27)
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i * 31)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(i*17), uint8(200-i*7)
	}
	ycc422 := image.NewYCbCr(r, image.YCbCrSubsampleRatio422)
	copy(ycc422.Y, ycc.Y)
	gray := image.NewGray(r)
	nrgba := image.NewNRGBA(r)
	rgba := image.NewRGBA(r)
	cmyk := image.NewCMYK(r)
	gray16 := image.NewGray16(r)
	pal := image.NewPaletted(r, palette.WebSafe[:100])
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 13)
		pal.Pix[i] = uint8(i % len(pal.Palette))
	}
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(i * 7)
		cmyk.Pix[i] = uint8(i * 11)
	}
	for i := 0; i < len(rgba.Pix); i += 4 {
		a := uint8(i * 5)
		rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2], rgba.Pix[i+3] = a/2, a/3, a, a
	}
	for i := range gray16.Pix {
		gray16.Pix[i] = uint8(i * 3)
	}
	return map[string]image.Image{
		"ycbcr420":  ycc,
		"ycbcr422":  ycc422,
		"gray":      gray,
		"nrgba":     nrgba,
		"rgba":      rgba,
		"cmyk":      cmyk,
		"paletted":  pal,
		"gray16":    gray16,
		"sub-image": nrgba.SubImage(image.Rect(5, 0, 20, 9)),
		"uniform":   &image.Uniform{C: color.NRGBA{10, 20, 30, 40}},
	}
}

func TestDrawNoFacesCopiesPixels(t *testing.T) {
	for name, img := range inputs() {
		t.Run(name, func(t *testing.T) {
			if _, ok := img.(*image.Uniform); ok {
				// Infinite bounds cannot be copied; use a window of it.
				img = croppedUniform{img.(*image.Uniform), image.Rect(0, 0, 5, 4)}
			}
			got := Draw(img, nil)
			samePixels(t, got, reference(img))
		})
	}
}

// croppedUniform gives a Uniform finite bounds and hides its concrete
// type, to reach Draw's generic path.
type croppedUniform struct {
	*image.Uniform
	r image.Rectangle
}

func (c croppedUniform) Bounds() image.Rectangle { return c.r }

func TestDrawDoesNotAliasInput(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 20, 20))
	out := Draw(src, []cascade.Face{{Box: [4]float32{2, 2, 18, 18}, Landmarks: noMarks}})
	for _, v := range src.Pix {
		if v != 0 {
			t.Fatal("Draw changed its input")
		}
	}
	if &out.Pix[0] == &src.Pix[0] {
		t.Fatal("Draw returned the input's pixels")
	}
}

func TestDrawPalettedIndexPastPalette(t *testing.T) {
	// Paletted.At panics on such an index; Draw must not.
	pal := image.NewPaletted(image.Rect(0, 0, 4, 1), color.Palette{color.White})
	pal.Pix[1] = 7
	out := Draw(pal, nil)
	if got := out.NRGBAAt(0, 0); got != (color.NRGBA{255, 255, 255, 255}) {
		t.Errorf("in-palette pixel = %v, want white", got)
	}
	if got := out.NRGBAAt(1, 0); got != (color.NRGBA{}) {
		t.Errorf("index past the palette = %v, want transparent black", got)
	}
}

func TestDrawBoxes(t *testing.T) {
	// On 100x80 the line width is the minimum, 2.
	const w, h, lw = 100, 80, 2
	tests := []struct {
		name string
		box  [4]float32
		// outer is the expected box in pixels; empty means nothing drawn.
		outer image.Rectangle
	}{
		{"inside", [4]float32{10, 20, 50, 60}, image.Rect(10, 20, 50, 60)},
		{"fractional", [4]float32{10.4, 19.6, 49.5, 60.49}, image.Rect(10, 20, 50, 60)},
		{"inverted", [4]float32{50, 60, 10, 20}, image.Rect(10, 20, 50, 60)},
		{"off right and bottom", [4]float32{80, 70, 130, 95}, image.Rect(80, 70, 130, 95)},
		{"negative", [4]float32{-30, -12, 25, 15}, image.Rect(-30, -12, 25, 15)},
		{"covers image", [4]float32{-1, -1, 101, 81}, image.Rect(-1, -1, 101, 81)},
		{"edges on border", [4]float32{0, 0, 100, 80}, image.Rect(0, 0, 100, 80)},
		{"wholly off", [4]float32{200, 10, 300, 50}, image.Rectangle{}},
		{"wholly off negative", [4]float32{-50, -50, -3, -3}, image.Rectangle{}},
		{"huge", [4]float32{-1e30, 5, 1e30, 3e38}, image.Rect(-10, 5, 110, 90)},
		{"thinner than two lines", [4]float32{30, 30, 33, 70}, image.Rect(30, 30, 33, 70)},
		{"nan", [4]float32{nan(), 5, 20, 20}, image.Rectangle{}},
		{"inf", [4]float32{5, 5, inf(1), 20}, image.Rectangle{}},
		{"-inf", [4]float32{5, inf(-1), 20, 20}, image.Rectangle{}},
	}
	base := image.NewGray(image.Rect(0, 0, w, h))
	for i := range base.Pix {
		base.Pix[i] = 77
	}
	bg := color.NRGBA{77, 77, 77, 255}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := Draw(base, []cascade.Face{{Box: tc.box, Score: 0.9, Landmarks: noMarks}})
			// Not image.Rect, which would swap the corners of a box
			// thinner than two lines instead of leaving it empty.
			inner := image.Rectangle{Min: tc.outer.Min.Add(image.Pt(lw, lw)), Max: tc.outer.Max.Sub(image.Pt(lw, lw))}
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					p := image.Pt(x, y)
					want := bg
					if p.In(tc.outer) && !p.In(inner) {
						want = green
					}
					if got := out.NRGBAAt(x, y); got != want {
						t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
}

func TestDrawOffsetBounds(t *testing.T) {
	// Coordinates count from the image's top-left corner, wherever its
	// bounds start.
	img := image.NewGray(image.Rect(100, 200, 160, 260))
	out := Draw(img, []cascade.Face{{
		Box:       [4]float32{10, 10, 30, 30},
		Landmarks: [5][2]float32{{20, 20}, {20, 20}, {20, 20}, {20, 20}, {20, 20}},
	}})
	if got := out.NRGBAAt(110, 210); got != green {
		t.Errorf("box corner = %v, want green", got)
	}
	if got := out.NRGBAAt(120, 220); got != red {
		t.Errorf("landmark = %v, want red", got)
	}
}

func TestDrawLandmarks(t *testing.T) {
	base := image.NewGray(image.Rect(0, 0, 100, 80))
	const radius = 3 // line width 2, plus one
	tests := []struct {
		name   string
		p      [2]float32
		centre image.Point
	}{
		{"integer", [2]float32{30, 40}, image.Pt(30, 40)},
		{"fractional", [2]float32{30.9, 40.2}, image.Pt(30, 40)},
		{"corner", [2]float32{0, 0}, image.Pt(0, 0)},
		{"just outside", [2]float32{-1.5, 80.5}, image.Pt(-2, 80)},
		{"far outside", [2]float32{-1e9, 1e20}, image.Pt(-1e9, 1e9)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			marks := noMarks
			marks[2] = tc.p
			out := Draw(base, []cascade.Face{{Box: [4]float32{nan(), 0, 0, 0}, Landmarks: marks}})
			for y := 0; y < 80; y++ {
				for x := 0; x < 100; x++ {
					dx, dy := x-tc.centre.X, y-tc.centre.Y
					want := color.NRGBA{0, 0, 0, 255}
					if dx*dx+dy*dy <= radius*radius {
						want = red
					}
					if got := out.NRGBAAt(x, y); got != want {
						t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
}

func TestDrawLandmarksOverBoxes(t *testing.T) {
	base := image.NewGray(image.Rect(0, 0, 50, 50))
	marks := [5][2]float32{{10, 10}, {10, 10}, {10, 10}, {10, 10}, {10, 10}}
	out := Draw(base, []cascade.Face{
		{Box: [4]float32{5, 5, 40, 40}, Landmarks: marks},
		{Box: [4]float32{10, 10, 20, 20}, Landmarks: noMarks},
	})
	if got := out.NRGBAAt(10, 10); got != red {
		t.Errorf("landmark under a later box = %v, want red", got)
	}
}

func TestLineWidth(t *testing.T) {
	tests := []struct {
		w, h, want int
	}{
		{1, 1, 2},
		{100, 80, 2},
		{749, 2000, 2},
		{750, 750, 3}, // 2.5 rounds up
		{1920, 1080, 4},
		{4000, 3000, 10},
	}
	for _, tc := range tests {
		if got := lineWidth(image.Rect(0, 0, tc.w, tc.h)); got != tc.want {
			t.Errorf("lineWidth(%dx%d) = %d, want %d", tc.w, tc.h, got, tc.want)
		}
	}
}

func BenchmarkDraw(b *testing.B) {
	img := image.NewYCbCr(image.Rect(0, 0, 1920, 1080), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i)
	}
	faces := make([]cascade.Face, 30)
	for i := range faces {
		x, y := float32(i%6*300+20), float32(i/6*200+10)
		f := &faces[i]
		f.Box = [4]float32{x, y, x + 150, y + 180}
		f.Score = 0.99
		f.Landmarks = [5][2]float32{{x + 50, y + 60}, {x + 100, y + 60}, {x + 75, y + 100}, {x + 55, y + 140}, {x + 95, y + 140}}
	}
	b.ReportAllocs()
	for b.Loop() {
		Draw(img, faces)
	}
}
