package cascade

import (
	"image"
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

// resizePlain is TensorFlow 1.x resize_bilinear (align_corners=false, no
// half-pixel centres) of the normalised image, written out per output
// pixel as the reference graph runs it.
func resizePlain(img bgrImage, oh, ow int, out []float32) {
	ys, xs := legacyWeights(nil, oh, img.h), legacyWeights(nil, ow, img.w)
	stride := img.w * 3
	for y, wy := range ys {
		for x, wx := range xs {
			for c := 0; c < 3; c++ {
				tl := normalised[img.pix[wy.lo*stride+3*wx.lo+c]]
				tr := normalised[img.pix[wy.lo*stride+3*wx.hi+c]]
				bl := normalised[img.pix[wy.hi*stride+3*wx.lo+c]]
				br := normalised[img.pix[wy.hi*stride+3*wx.hi+c]]
				t := tl + float32((tr-tl)*wx.frac)
				b := bl + float32((br-bl)*wx.frac)
				out[(y*ow+x)*3+c] = t + float32((b-t)*wy.frac)
			}
		}
	}
}

// TestResizeRowsBits checks the level resize bit for bit against the
// plain per-pixel version, from a BGR copy and from a decoded image (whole
// rows and gathered columns), for up- and downscaling and odd sizes, run
// in chunks of rows as the parallel loop runs it.
func TestResizeRowsBits(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	const w, h = 53, 41
	nrgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(r.IntN(256))
	}
	img := toBGR(nrgba, nil)
	for _, size := range [][2]int{{41, 53}, {29, 37}, {12, 12}, {7, 30}, {13, 5}, {60, 80}, {1, 1}} {
		oh, ow := size[0], size[1]
		want := make([]float32, oh*ow*3)
		resizePlain(img, oh, ow, want)
		ys, xs := legacyWeights(nil, oh, h), legacyWeights(nil, ow, w)
		// The columns read, and weights indexing them, as tile sets
		// them for a decoded image.
		var cols []int
		var cxs []lerpWeights
		for i, wx := range xs {
			cols = append(cols, wx.lo, wx.hi)
			cxs = append(cxs, lerpWeights{lo: 2 * i, hi: 2*i + 1, frac: wx.frac})
		}
		for _, tc := range []struct {
			name string
			job  resizeRows
		}{
			{"copy", resizeRows{src: &source{w: w, h: h, bgr: img.pix}, xs: xs}},
			{"rows", resizeRows{src: &source{w: w, h: h, img: nrgba, r: nrgba.Rect}, xs: xs}},
			{"cols", resizeRows{src: &source{w: w, h: h, img: nrgba, r: nrgba.Rect}, xs: cxs, cols: cols}},
		} {
			for _, chunk := range []int{1, 3, oh} {
				got := make([]float32, len(want))
				j := tc.job
				j.out, j.ys = got, ys
				for lo := 0; lo < oh; lo += chunk {
					j.Run(lo, min(lo+chunk, oh))
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%dx%d %s, chunks of %d: out[%d] = %v, want %v", ow, oh, tc.name, chunk, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// BenchmarkResizeRows resizes a 960x661 BGR copy to the first pyramid
// level of min size 20 (576x396), as P-Net's input.
func BenchmarkResizeRows(b *testing.B) {
	const w, h, ow, oh = 960, 661, 576, 396
	pix := make([]uint8, w*h*3)
	for i := range pix {
		pix[i] = uint8(i * 7)
	}
	out := make([]float32, ow*oh*3)
	j := resizeRows{src: &source{w: w, h: h, bgr: pix}, out: out, ys: legacyWeights(nil, oh, h), xs: legacyWeights(nil, ow, w)}
	b.SetBytes(int64(len(out)) * 4)
	for b.Loop() {
		j.Run(0, oh)
	}
}

// BenchmarkCropAndResize crops 200 boxes of 30 to 130 pixels from a
// 960x661 BGR copy at O-Net's size (48), as stage 3 does.
func BenchmarkCropAndResize(b *testing.B) {
	const w, h, size = 960, 661, 48
	pix := make([]uint8, w*h*3)
	for i := range pix {
		pix[i] = uint8(i * 7)
	}
	src := &source{w: w, h: h, bgr: pix}
	r := rand.New(rand.NewPCG(65, 66))
	var boxes [][4]float32
	for range 200 {
		s := 30 + r.Float32()*100
		y, x := r.Float32()*(h-s), r.Float32()*(w-s)
		boxes = append(boxes, [4]float32{y, x, y + s, x + s})
	}
	out := make([]float32, size*size*3)
	for b.Loop() {
		for _, box := range boxes {
			cropAndResize(src, box, size, out)
		}
	}
}
