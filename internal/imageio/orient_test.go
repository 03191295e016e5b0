package imageio

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// TestOrientKeepsPixels checks Orient on each image type it moves without
// converting: every upright pixel holds exactly the stored pixel's values
// (Y, Cb, Cr for YCbCr, whatever the source's subsampling and odd sizes;
// gray levels; NRGBA bytes), and the type is the lean one the detector
// reads directly.
func TestOrientKeepsPixels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	fill := func(b []uint8) {
		for i := range b {
			b[i] = uint8(r.IntN(256))
		}
	}
	rect := image.Rect(3, -2, 3+13, -2+7) // odd sizes, bounds off the origin
	var srcs []image.Image
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio444} {
		m := image.NewYCbCr(rect, ratio)
		fill(m.Y)
		fill(m.Cb)
		fill(m.Cr)
		srcs = append(srcs, m)
	}
	g := image.NewGray(rect)
	fill(g.Pix)
	n := image.NewNRGBA(rect)
	fill(n.Pix)
	srcs = append(srcs, g, n)
	for _, src := range srcs {
		b := src.Bounds()
		for o := 2; o <= 8; o++ {
			dst := Orient(src, o)
			db := dst.Bounds()
			if db.Min != (image.Point{}) {
				t.Fatalf("%T o=%d: bounds %v, want them at the origin", src, o, db)
			}
			for dy := 0; dy < db.Dy(); dy++ {
				for dx := 0; dx < db.Dx(); dx++ {
					sx, sy := sourceOf(o, dx, dy, b.Dx(), b.Dy())
					want := src.At(b.Min.X+sx, b.Min.Y+sy)
					var got color.Color
					switch d := dst.(type) {
					case *image.YCbCr:
						if d.SubsampleRatio != image.YCbCrSubsampleRatio444 {
							t.Fatalf("o=%d: %v, want 4:4:4", o, d.SubsampleRatio)
						}
						got = d.YCbCrAt(dx, dy)
						if _, ok := src.(*image.YCbCr); !ok {
							t.Fatalf("%T gave %T", src, dst)
						}
					case *image.Gray:
						got = d.GrayAt(dx, dy)
					case *image.NRGBA:
						got = d.NRGBAAt(dx, dy)
					default:
						t.Fatalf("%T gave %T", src, dst)
					}
					if got != want {
						t.Fatalf("%T o=%d: pixel (%d,%d) = %v, want %v (stored at (%d,%d))", src, o, dx, dy, got, want, sx, sy)
					}
				}
			}
		}
	}
}
