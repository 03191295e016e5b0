package cascade

import (
	"math"
	"math/rand/v2"
	"testing"
)

// cropAndResizePlain is TensorFlow's CropAndResize (bilinear, extrapolation
// value 0) written out per output pixel, as the reference graph runs it.
func cropAndResizePlain(img bgrImage, box [4]float32, size int, out []float32) {
	hm1, wm1 := float32(img.h-1), float32(img.w-1)
	y1n, x1n := box[0]/float32(img.h), box[1]/float32(img.w)
	y2n, x2n := box[2]/float32(img.h), box[3]/float32(img.w)
	den := float32(size - 1)
	hScale := float32(float32(y2n-y1n)*hm1) / den
	wScale := float32(float32(x2n-x1n)*wm1) / den
	y0, x0 := float32(y1n*hm1), float32(x1n*wm1)
	stride := img.w * 3
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			inY := y0 + float32(float32(y)*hScale)
			inX := x0 + float32(float32(x)*wScale)
			px := out[(y*size+x)*3 : (y*size+x)*3+3]
			if !(inY >= 0 && inY <= hm1) || !(inX >= 0 && inX <= wm1) {
				px[0], px[1], px[2] = 0, 0, 0
				continue
			}
			top, bot := int(math.Floor(float64(inY))), int(math.Ceil(float64(inY)))
			l, r := int(math.Floor(float64(inX))), int(math.Ceil(float64(inX)))
			fy, fx := inY-float32(top), inX-float32(l)
			for c := 0; c < 3; c++ {
				tl := normalised[img.pix[top*stride+3*l+c]]
				tr := normalised[img.pix[top*stride+3*r+c]]
				bl := normalised[img.pix[bot*stride+3*l+c]]
				br := normalised[img.pix[bot*stride+3*r+c]]
				t := tl + float32((tr-tl)*fx)
				b := bl + float32((br-bl)*fx)
				px[c] = t + float32((b-t)*fy)
			}
		}
	}
}

// TestCropAndResizeBits checks cropAndResize bit for bit against the plain
// per-pixel version: boxes inside, across and outside the image edges, tiny
// and flipped boxes, at both crop sizes.
func TestCropAndResizeBits(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	img := bgrImage{w: 37, h: 29, pix: make([]uint8, 37*29*3)}
	for i := range img.pix {
		img.pix[i] = uint8(r.IntN(256))
	}
	coord := func(n int) float32 { return r.Float32()*float32(n+20) - 10 }
	for range 3000 {
		box := [4]float32{coord(img.h), coord(img.w), coord(img.h), coord(img.w)}
		for _, size := range []int{24, 48} {
			got := make([]float32, size*size*3)
			want := make([]float32, size*size*3)
			for i := range got {
				got[i] = 99
			}
			cropAndResize(&source{w: img.w, h: img.h, bgr: img.pix}, box, size, got)
			cropAndResizePlain(img, box, size, want)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("box %v size %d: out[%d] = %v, want %v", box, size, i, got[i], want[i])
				}
			}
		}
	}
}
