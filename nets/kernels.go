package nets

import "math"

// shape4 is an NHWC tensor shape.
type shape4 struct{ n, h, w, c int }

func (s shape4) size() int { return s.n * s.h * s.w * s.c }

// conv2d computes a VALID, stride-1 convolution of in (NHWC) with an HWIO
// kernel, then adds the bias and, when alpha is non-nil, applies PReLU
// (x > 0 ? x : alpha*x), as the graph's Conv2D, BiasAdd and Select do. The
// bias is added after the full sum, like BiasAdd, not used as the sum's start.
//
// Each kernel row ky of output row y is one matrix product: in NHWC the
// kw*cin inputs under the kernel at column x are contiguous and start cin
// floats after those of column x-1, so the input serves as a matrix with
// overlapping rows and no im2col copy is needed.
func conv2d(in []float32, s shape4, w []float32, kh, kw, cout int, bias, alpha, out []float32) shape4 {
	o := shape4{s.n, s.h - kh + 1, s.w - kw + 1, cout}
	clear(out[:o.size()])
	k := kw * s.c
	if o.h == 1 && o.w == 1 && kh == s.h && kw == s.w {
		// The "fully connected" layers: each image is one row of A.
		gemm(s.n, cout, kh*k, in, s.h*s.w*s.c, w, cout, out, cout)
	} else {
		for b := 0; b < s.n; b++ {
			for y := 0; y < o.h; y++ {
				dst := out[((b*o.h+y)*o.w)*cout:]
				for ky := 0; ky < kh; ky++ {
					src := in[((b*s.h+y+ky)*s.w)*s.c:]
					gemm(o.w, cout, k, src, s.c, w[ky*k*cout:], cout, dst, cout)
				}
			}
		}
	}
	biasPReLU(out[:o.size()], bias, alpha)
	return o
}

// biasPReLU adds the per-channel bias to x (channels last) and applies PReLU
// with per-channel slopes alpha, or no activation when alpha is nil.
func biasPReLU(x, bias, alpha []float32) {
	c := len(bias)
	for i := 0; i < len(x); i += c {
		v := x[i : i+c]
		for j := range v {
			t := v[j] + bias[j]
			if alpha != nil && !(t > 0) {
				t *= alpha[j]
			}
			v[j] = t
		}
	}
}

// poolOut returns the output size and leading padding of TensorFlow's
// pooling along one axis. SAME pads (out-1)*s+k-in in total, the smaller
// half before, so an odd total pads one more at the bottom/right; VALID
// drops what does not fill a window.
func poolOut(in, k, s int, same bool) (out, padBefore int) {
	if !same {
		return (in-k)/s + 1, 0
	}
	out = (in + s - 1) / s
	pad := max((out-1)*s+k-in, 0)
	return out, pad / 2
}

// maxPool is TensorFlow's MaxPool (NHWC, square k×k window, stride s, SAME
// or VALID). Padding never wins: windows take the max of real inputs only.
func maxPool(in []float32, s shape4, k, stride int, same bool, out []float32) shape4 {
	oh, ph := poolOut(s.h, k, stride, same)
	ow, pw := poolOut(s.w, k, stride, same)
	o := shape4{s.n, oh, ow, s.c}
	for b := 0; b < s.n; b++ {
		for y := 0; y < oh; y++ {
			y0, y1 := max(y*stride-ph, 0), min(y*stride-ph+k, s.h)
			for x := 0; x < ow; x++ {
				x0, x1 := max(x*stride-pw, 0), min(x*stride-pw+k, s.w)
				dst := out[((b*oh+y)*ow+x)*s.c:][:s.c]
				for c := range dst {
					dst[c] = float32(math.Inf(-1))
				}
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						src := in[((b*s.h+iy)*s.w+ix)*s.c:][:s.c]
						for c, v := range src {
							if v > dst[c] {
								dst[c] = v
							}
						}
					}
				}
			}
		}
	}
	return o
}

// softmax applies a softmax over each run of c values, as TensorFlow's
// Softmax does: exp(x - max), times the reciprocal of the sum.
func softmax(x []float32, c int) {
	for i := 0; i < len(x); i += c {
		v := x[i : i+c]
		m := v[0]
		for _, t := range v[1:] {
			m = max(m, t)
		}
		var sum float32
		for j, t := range v {
			e := float32(math.Exp(float64(t - m)))
			v[j] = e
			sum += e
		}
		inv := 1 / sum
		for j := range v {
			v[j] *= inv
		}
	}
}
