package jpegblock

// orientation says how EXIF orientation o (2 to 8) turns the stored
// pixels upright: for an upright pixel (x, y) of a w x h stored image,
// the stored pixel is (x', y') swapped when transpose, where x' is
// w-1-x when flipX, else x, and y' likewise with flipY (mirroring the
// swapped coordinates when transpose).
type orientation struct {
	transpose, flipX, flipY bool
}

var orientations = [9]orientation{
	2: {flipX: true},
	3: {flipX: true, flipY: true},
	4: {flipY: true},
	5: {transpose: true},
	6: {transpose: true, flipY: true},
	7: {transpose: true, flipX: true, flipY: true},
	8: {transpose: true, flipX: true},
}

// source returns the stored position of upright position (x, y) in a
// stored grid of w x h.
func (t orientation) source(x, y, w, h int) (int, int) {
	if t.transpose {
		x, y = y, x
	}
	if t.flipX {
		x = w - 1 - x
	}
	if t.flipY {
		y = h - 1 - y
	}
	return x, y
}

// zig maps natural (row-major) index to zig-zag index.
var zig = func() (z [64]int) {
	for k, n := range unzig {
		z[n] = k
	}
	return z
}()

// orient turns m's coefficients upright for EXIF orientation o (1 to
// 8), losslessly as jpegtran does: blocks moved, coefficients transposed
// and odd frequencies negated, quantisation tables transposed with
// them. Each upright block is the exact transform of a stored one only
// when the frame is whole MCUs: other frames get an error wrapping
// ErrUnsupported.
func (m *Image) orient(o int) error {
	if o == 1 {
		return nil
	}
	if o < 2 || o > 8 {
		return unsupported("EXIF orientation %d", o)
	}
	mw, mh := m.MCUSize()
	if m.Width%mw != 0 || m.Height%mh != 0 {
		return unsupported("EXIF orientation %d of a %dx%d frame that is not whole %dx%d MCUs: the pixels are turned", o, m.Width, m.Height, mw, mh)
	}
	t := orientations[o]
	// perm[k] is the stored zig-zag index of upright coefficient k, and
	// neg[k] whether it changes sign.
	var perm [64]int
	var neg [64]bool
	for k := range 64 {
		n := unzig[k]
		v, u := n/8, n%8 // upright frequencies, vertical and horizontal
		su, sv := u, v
		if t.transpose {
			su, sv = v, u
		}
		perm[k] = zig[sv*8+su]
		// Mirroring along the stored x axis negates odd stored
		// horizontal frequencies, along y odd vertical ones.
		neg[k] = (t.flipX && su%2 == 1) != (t.flipY && sv%2 == 1)
	}
	for i := range m.Components {
		c := &m.Components[i]
		bw, bh := c.BlocksX, c.BlocksY
		nbw, nbh := bw, bh
		if t.transpose {
			nbw, nbh = bh, bw
		}
		coef := make([]int16, len(c.Coef))
		for by := range nbh {
			for bx := range nbw {
				sx, sy := t.source(bx, by, bw, bh)
				src := c.Block(sx, sy)
				dst := coef[(by*nbw+bx)*64:][:64]
				for k := range 64 {
					v := src[perm[k]]
					if neg[k] {
						if v == -32768 {
							return corrupt("coefficient -32768 cannot be negated")
						}
						v = -v
					}
					dst[k] = v
				}
			}
		}
		c.Coef, c.BlocksX, c.BlocksY = coef, nbw, nbh
		if t.transpose {
			c.H, c.V = c.V, c.H
		}
	}
	if t.transpose {
		for i, q := range m.Quant {
			if q == nil {
				continue
			}
			nq := new([64]uint16)
			for k := range 64 {
				nq[k] = q[perm[k]]
			}
			m.Quant[i] = nq
		}
		m.Width, m.Height = m.Height, m.Width
		m.Hmax, m.Vmax = m.Vmax, m.Hmax
		m.MCUsX, m.MCUsY = m.MCUsY, m.MCUsX
	}
	return nil
}
