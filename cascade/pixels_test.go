package cascade

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// TestUnpremultiply checks unpremultiply against color.NRGBAModel for
// every channel value and alpha, the invalid premultiplied values (above
// alpha) included.
func TestUnpremultiply(t *testing.T) {
	for a := 0; a < 256; a++ {
		for v := 0; v < 256; v++ {
			want := color.NRGBAModel.Convert(color.RGBA{uint8(v), 0, 0, uint8(a)}).(color.NRGBA).R
			if got := unpremultiply(uint8(v), uint8(a)); got != want {
				t.Fatalf("unpremultiply(%d, %d) = %d, want %d", v, a, got, want)
			}
		}
	}
}

// TestConvertYCbCr checks convertRow's and gather's YCbCr loops against
// color.YCbCrToRGB: on every Y, Cb, Cr triple (4:4:4 rows), and on random
// images of every subsampling ratio with bounds off the origin, negative
// ones included.
func TestConvertYCbCr(t *testing.T) {
	row := image.NewYCbCr(image.Rect(0, 0, 256, 1), image.YCbCrSubsampleRatio444)
	dst := make([]uint8, 3*256)
	for y := 0; y < 256; y++ {
		for cb := 0; cb < 256; cb++ {
			for cr := range row.Cr {
				row.Y[cr], row.Cb[cr], row.Cr[cr] = uint8(y), uint8(cb), uint8(cr)
			}
			convertRow(row, row.Rect, 0, dst)
			for cr := 0; cr < 256; cr++ {
				r, g, b := color.YCbCrToRGB(uint8(y), uint8(cb), uint8(cr))
				if d := dst[3*cr : 3*cr+3]; d[0] != b || d[1] != g || d[2] != r {
					t.Fatalf("Y %d Cb %d Cr %d: BGR %v, want %d %d %d", y, cb, cr, d, b, g, r)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		for _, rect := range []image.Rectangle{image.Rect(0, 0, 13, 7), image.Rect(3, 5, 20, 12), image.Rect(-5, -3, 8, 6)} {
			m := image.NewYCbCr(rect, ratio)
			for _, p := range [][]uint8{m.Y, m.Cb, m.Cr} {
				for i := range p {
					p[i] = uint8(rng.IntN(256))
				}
			}
			// A sub-image, so that the bounds read differ from the planes'.
			sub := m.SubImage(image.Rect(rect.Min.X+1, rect.Min.Y+1, rect.Max.X, rect.Max.Y)).(*image.YCbCr)
			for _, img := range []*image.YCbCr{m, sub} {
				r := img.Bounds()
				w := r.Dx()
				full := make([]uint8, 3*w)
				xs := rng.Perm(w)
				picked := make([]uint8, 3*w)
				for y := 0; y < r.Dy(); y++ {
					convertRow(img, r, y, full)
					gather(img, r, y, xs, picked)
					for x := 0; x < w; x++ {
						c := img.YCbCrAt(r.Min.X+x, r.Min.Y+y)
						cr, cg, cb := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
						want := []uint8{cb, cg, cr}
						if got := full[3*x : 3*x+3]; !bytes.Equal(got, want) {
							t.Fatalf("%v %v: convertRow pixel (%d,%d) = %v, want %v", ratio, r, x, y, got, want)
						}
					}
					for i, x := range xs {
						if !bytes.Equal(picked[3*i:3*i+3], full[3*x:3*x+3]) {
							t.Fatalf("%v %v: gather pixel (%d,%d) = %v, want %v", ratio, r, x, y, picked[3*i:3*i+3], full[3*x:3*x+3])
						}
					}
				}
			}
		}
	}
}

// BenchmarkConvertRow converts the rows of a 1920x1080 4:2:0 image (a
// JPEG's) to BGR bytes.
func BenchmarkConvertRow(b *testing.B) {
	m := image.NewYCbCr(image.Rect(0, 0, 1920, 1080), image.YCbCrSubsampleRatio420)
	for _, p := range [][]uint8{m.Y, m.Cb, m.Cr} {
		for i := range p {
			p[i] = uint8(i * 13)
		}
	}
	dst := make([]uint8, 3*1920)
	b.SetBytes(1920 * 1080 * 3)
	for b.Loop() {
		for y := range 1080 {
			convertRow(m, m.Rect, y, dst)
		}
	}
}
