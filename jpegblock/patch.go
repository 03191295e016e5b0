package jpegblock

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"

	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

// Options controls Patch. The zero value (DefaultOptions) writes optimal
// Huffman tables and caps frames at DefaultMaxPixels.
type Options struct {
	// Tables selects the Huffman tables written.
	Tables Tables
	// MaxPixels caps width*height of the original; 0 means
	// DefaultMaxPixels.
	MaxPixels int
	// Upright accepts a JPEG with an EXIF orientation other than 1 when
	// its frame is whole MCUs: its coefficients are turned upright
	// losslessly (as jpegtran -perfect does) and edited is the upright
	// image (as imageio.Decode returns it). Every untouched MCU then
	// keeps its (turned) coefficients, but decodes with image/jpeg only
	// to within one level of the upright pixels, not exactly: its
	// integer IDCT does not commute with mirroring and transposing
	// (about 1 % of the samples of solvay.jpg differ by one). false
	// refuses such files with ErrUnsupported.
	Upright bool
}

// DefaultOptions returns the zero Options.
func DefaultOptions() Options { return Options{} }

// Result says which MCUs Patch re-encoded.
type Result struct {
	// MCUWidth and MCUHeight are the MCU size in pixels (8 or 16 for
	// common files).
	MCUWidth, MCUHeight int
	// MCUsX and MCUsY count the MCUs across and down.
	MCUsX, MCUsY int
	// Touched holds MCUsX*MCUsY flags, row by row: true for an MCU
	// re-encoded from the edited pixels, false for one copied.
	Touched []bool
	// Reencoded counts the true flags.
	Reencoded int
	// Blocks counts the 8x8 blocks re-encoded: within a touched MCU, a
	// block none of whose pixels changed (a luma block of a 4:2:0 MCU
	// beside the edit) is copied too.
	Blocks int
}

// Patch writes the JPEG orig (baseline or progressive; the output is
// always baseline) with the pixels of edited (an image of the same size,
// its top-left at its Bounds().Min) to w,
// re-encoding only the MCUs that hold a pixel whose colour differs from
// orig as image/jpeg decodes it: their blocks are recomputed (forward
// DCT, quantised with orig's own tables) from edited converted to YCbCr
// and subsampled as orig is. Every other MCU's coefficients are copied,
// so it decodes to exactly the pixels it had. A change is thus rounded
// out to whole MCUs (8x8 pixels for 4:4:4 and grey, 16x16 for 4:2:0);
// within a touched MCU, a block none of whose pixels changed is copied
// too.
// The output has no metadata (no APPn or COM segment).
//
// Errors wrap ErrUnsupported for JPEGs this package does not handle
// (including an EXIF orientation other than 1: the pixels of such a file
// are turned, so no block of it can be kept), ErrCorrupt or ErrTooLarge;
// nothing is written to w then.
func Patch(w io.Writer, orig []byte, edited image.Image, opts Options) (Result, error) {
	o := imageio.Orientation(orig)
	if o != 1 && !opts.Upright {
		return Result{}, unsupported("EXIF orientation %d: the pixels are turned", o)
	}
	m, err := Parse(orig, opts.MaxPixels)
	if err != nil {
		return Result{}, err
	}
	if err := m.orient(o); err != nil {
		return Result{}, err
	}
	eb := edited.Bounds()
	if eb.Dx() != m.Width || eb.Dy() != m.Height {
		return Result{}, fmt.Errorf("jpegblock: edited image is %dx%d, the JPEG %dx%d", eb.Dx(), eb.Dy(), m.Width, m.Height)
	}
	before, err := jpeg.Decode(bytes.NewReader(orig))
	if err != nil {
		return Result{}, fmt.Errorf("%w: image/jpeg: %v", ErrCorrupt, err)
	}
	// The pixels as imageio.Decode returns them: upright.
	before = imageio.Orient(before, o)
	mw, mh := m.MCUSize()
	res := Result{MCUWidth: mw, MCUHeight: mh, MCUsX: m.MCUsX, MCUsY: m.MCUsY, Touched: make([]bool, m.MCUsX*m.MCUsY)}
	changed := differ(before, edited)
	var blk [64]float64
	for my := range m.MCUsY {
		for mx := range m.MCUsX {
			r := image.Rect(mx*mw, my*mh, min(mx*mw+mw, m.Width), min(my*mh+mh, m.Height))
			if !changed(r) {
				continue
			}
			res.Touched[my*m.MCUsX+mx] = true
			res.Reencoded++
			for ci := range m.Components {
				c := &m.Components[ci]
				sx, sy := m.Hmax/c.H, m.Vmax/c.V
				for v := range c.V {
					for h := range c.H {
						bx, by := mx*c.H+h, my*c.V+v
						br := image.Rect(bx*8*sx, by*8*sy, (bx*8+8)*sx, (by*8+8)*sy).Intersect(r)
						if !changed(br) {
							// Keep a block whose pixels are all unchanged
							// (a luma block beside the edit).
							continue
						}
						res.Blocks++
						for j := range 8 {
							for i := range 8 {
								blk[j*8+i] = sample(edited, eb.Min, m, ci, (bx*8+i)*sx, (by*8+j)*sy, sx, sy) - 128
							}
						}
						fdctQuant(&blk, m.Quant[c.Tq], c.Block(bx, by))
					}
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf, opts.Tables); err != nil {
		return Result{}, err
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return Result{}, err
	}
	return res, nil
}

// sample returns the mean of channel ci (0 Y or grey, 1 Cb, 2 Cr) of
// edited over the sx x sy pixels from (x, y), edge pixels repeated past
// the image's right and bottom.
func sample(img image.Image, o image.Point, m *Image, ci, x, y, sx, sy int) float64 {
	sum, n := 0, 0
	for yy := y; yy < y+sy; yy++ {
		for xx := x; xx < x+sx; xx++ {
			px, py := min(xx, m.Width-1)+o.X, min(yy, m.Height-1)+o.Y
			sum += int(channel(img, ci, px, py))
			n++
		}
	}
	return float64(sum) / float64(n)
}

// channel returns one YCbCr channel of img at (x, y).
func channel(img image.Image, ci, x, y int) uint8 {
	switch p := img.(type) {
	case *image.YCbCr:
		switch ci {
		case 0:
			return p.Y[p.YOffset(x, y)]
		case 1:
			return p.Cb[p.COffset(x, y)]
		}
		return p.Cr[p.COffset(x, y)]
	case *image.Gray:
		if ci == 0 {
			return p.Pix[p.PixOffset(x, y)]
		}
		return 128
	}
	r, g, b, _ := img.At(x, y).RGBA()
	yy, cb, cr := color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(b>>8))
	switch ci {
	case 0:
		return yy
	case 1:
		return cb
	}
	return cr
}

// differ returns a function reporting whether any pixel of r (in
// JPEG coordinates, from 0) differs between a (as image/jpeg decoded the
// original) and b. Images of the same concrete layout are compared
// sample by sample, others by colour at 8 bits per channel.
func differ(a, b image.Image) func(r image.Rectangle) bool {
	ao, bo := a.Bounds().Min, b.Bounds().Min
	switch pa := a.(type) {
	case *image.YCbCr:
		if pb, ok := b.(*image.YCbCr); ok && pb.SubsampleRatio == pa.SubsampleRatio && ao == bo {
			return func(r image.Rectangle) bool {
				r = r.Add(ao)
				for y := r.Min.Y; y < r.Max.Y; y++ {
					ia, ib := pa.YOffset(r.Min.X, y), pb.YOffset(r.Min.X, y)
					if !bytes.Equal(pa.Y[ia:ia+r.Dx()], pb.Y[ib:ib+r.Dx()]) {
						return true
					}
					ca0, ca1 := pa.COffset(r.Min.X, y), pa.COffset(r.Max.X-1, y)+1
					cb0, cb1 := pb.COffset(r.Min.X, y), pb.COffset(r.Max.X-1, y)+1
					if !bytes.Equal(pa.Cb[ca0:ca1], pb.Cb[cb0:cb1]) || !bytes.Equal(pa.Cr[ca0:ca1], pb.Cr[cb0:cb1]) {
						return true
					}
				}
				return false
			}
		}
	case *image.Gray:
		if pb, ok := b.(*image.Gray); ok {
			return func(r image.Rectangle) bool {
				for y := r.Min.Y; y < r.Max.Y; y++ {
					ra := pa.Pix[pa.PixOffset(r.Min.X+ao.X, y+ao.Y):][:r.Dx()]
					rb := pb.Pix[pb.PixOffset(r.Min.X+bo.X, y+bo.Y):][:r.Dx()]
					if !bytes.Equal(ra, rb) {
						return true
					}
				}
				return false
			}
		}
	}
	return func(r image.Rectangle) bool {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				r1, g1, b1, a1 := a.At(x+ao.X, y+ao.Y).RGBA()
				r2, g2, b2, a2 := b.At(x+bo.X, y+bo.Y).RGBA()
				// 8 bits per channel: what image/jpeg's YCbCr
				// converts to in draw.Draw and encoders.
				if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 || a1>>8 != a2>>8 {
					return true
				}
			}
		}
		return false
	}
}

// dctCos[u][x] = C(u)/2 * cos((2x+1)u*pi/16), C(0) = 1/sqrt(2), else 1.
var dctCos = func() (t [8][8]float64) {
	for u := range 8 {
		cu := 1.0
		if u == 0 {
			cu = 1 / math.Sqrt2
		}
		for x := range 8 {
			t[u][x] = cu / 2 * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16)
		}
	}
	return t
}()

// fdctQuant transforms the level-shifted samples f (row by row) and
// stores them quantised by q (zig-zag order) into out (zig-zag order).
func fdctQuant(f *[64]float64, q *[64]uint16, out []int16) {
	var tmp, F [64]float64
	for y := range 8 {
		for u := range 8 {
			s := 0.0
			for x := range 8 {
				s += dctCos[u][x] * f[y*8+x]
			}
			tmp[y*8+u] = s
		}
	}
	for v := range 8 {
		for u := range 8 {
			s := 0.0
			for y := range 8 {
				s += dctCos[v][y] * tmp[y*8+u]
			}
			F[v*8+u] = s
		}
	}
	for k := range 64 {
		out[k] = int16(math.Round(F[unzig[k]] / float64(q[k])))
	}
}

// WriteEdited writes edited as a JPEG to w: block-exact with Patch (and
// optimal tables, Upright set) when orig qualifies, else, and also when
// Patch fails for any reason, a whole re-encode with image/jpeg at
// quality. A file with an EXIF orientation is turned losslessly when its
// frame is whole MCUs: its untouched blocks then keep their coefficients
// and decode to within one level of the upright pixels (see
// Options.Upright), far closer than a whole re-encode. fallback is nil
// when Patch wrote the output, else the reason it did not; err reports a
// failure to write.
func WriteEdited(w io.Writer, orig []byte, edited image.Image, quality int) (fallback, err error) {
	var buf bytes.Buffer
	opts := DefaultOptions()
	opts.Upright = true
	if _, fallback = Patch(&buf, orig, edited, opts); fallback == nil {
		_, err = w.Write(buf.Bytes())
		return nil, err
	}
	if err := jpeg.Encode(w, edited, &jpeg.Options{Quality: quality}); err != nil {
		return fallback, fmt.Errorf("jpegblock: encoding: %w", err)
	}
	return fallback, nil
}
