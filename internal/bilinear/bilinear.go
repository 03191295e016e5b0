// Package bilinear samples an 8-bit image between its pixels as OpenCV's
// warpAffine does with INTER_LINEAR: pixel centres at integer
// coordinates, the four neighbours weighted in float64, samples outside
// the image black. align's crops and orient's turned copies both use it.
package bilinear

import "math"

// Image is pixels to sample: a window of a W x H image, whose top-left
// pixel is (X0, Y0) of the image. The window must hold every pixel of
// the image that At is asked to sample (the neighbours of the points
// given); pixels outside the image count as black.
type Image struct {
	Pix    []uint8 // the window's pixels, row-major
	Stride int     // bytes between two rows of Pix
	BPP    int     // bytes per pixel; the first three channels are sampled
	X0, Y0 int     // the window's top-left pixel, in image coordinates
	W, H   int     // the whole image's size
}

// At returns the first three channels at (x, y), each rounded to the
// nearest level. ok is false, and nothing is sampled, when (x, y) lies a
// whole pixel or more outside the image (or is NaN): the caller leaves
// such a point black.
func (m *Image) At(x, y float64) (c [3]uint8, ok bool) {
	if !(x > -1 && x < float64(m.W) && y > -1 && y < float64(m.H)) {
		return c, false
	}
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	ix, iy := int(x0), int(y0)
	var acc [3]float64
	for j := 0; j < 2; j++ {
		yy := iy + j
		if yy < 0 || yy >= m.H {
			continue
		}
		wy := 1 - fy
		if j == 1 {
			wy = fy
		}
		for i := 0; i < 2; i++ {
			xx := ix + i
			if xx < 0 || xx >= m.W {
				continue
			}
			wx := 1 - fx
			if i == 1 {
				wx = fx
			}
			p := m.Pix[(yy-m.Y0)*m.Stride+(xx-m.X0)*m.BPP:]
			wt := wx * wy
			acc[0] += wt * float64(p[0])
			acc[1] += wt * float64(p[1])
			acc[2] += wt * float64(p[2])
		}
	}
	return [3]uint8{Round(acc[0]), Round(acc[1]), Round(acc[2])}, true
}

// Round returns v rounded to the nearest level (halves away from zero)
// and clamped to [0, 255].
func Round(v float64) uint8 {
	return uint8(min(max(math.Round(v), 0), 255))
}
