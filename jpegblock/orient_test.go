package jpegblock

import (
	"bytes"
	"errors"
	"image"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

// jpegtranOp is the jpegtran transform that turns a file of EXIF
// orientation o upright.
var jpegtranOp = [9][]string{
	2: {"-flip", "horizontal"},
	3: {"-rotate", "180"},
	4: {"-flip", "vertical"},
	5: {"-transpose"},
	6: {"-rotate", "90"},
	7: {"-transverse"},
	8: {"-rotate", "270"},
}

// TestOrient patches files of every EXIF orientation whose frame is
// whole MCUs (grey, 4:4:4 with restarts, 4:2:0, and progressive 4:2:2
// and 4:2:0): refused by default; with Options.Upright the output is
// upright (the size imageio.Decode gives) without orientation, every
// untouched MCU has exactly the coefficients jpegtran's lossless
// transform gives, and decodes to within one level of the upright
// pixels imageio.Decode returns.
func TestOrient(t *testing.T) {
	col, gray := testImage(208, 144, false), testImage(200, 136, true)
	cases := []testCase{
		{"gray", goJPEG(t, gray, 80), 8, 80},
		{"420", goJPEG(t, col, 75), 16, 75},
		{"444", jpeg444(t, col, 5), 8, 90},
	}
	tools := toolOrCI("jpegtran") && toolOrCI("cjpeg")
	if tools {
		cases = append(cases,
			testCase{"422-prog", runTool(t, "cjpeg", ppm(col), "-progressive", "-sample", "2x1", "-quality", "85"), 0, 85},
			testCase{"420-prog", runTool(t, "cjpeg", ppm(col), "-progressive", "-quality", "70"), 16, 70})
	} else {
		t.Log("jpegtran/cjpeg not installed: no progressive cases, no comparison with jpegtran's coefficients")
	}
	// A frame that is not whole MCUs cannot be turned block for block.
	odd := withEXIFOrientation(goJPEG(t, testImage(40, 30, false), 80), 6)
	if _, err := Patch(&bytes.Buffer{}, odd, testImage(30, 40, false), Options{Upright: true}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("40x30 4:2:0 with orientation 6: got %v, want ErrUnsupported", err)
	}
	for _, tc := range cases {
		for o := 2; o <= 8; o++ {
			t.Run(tc.name+"-"+itoa(o), func(t *testing.T) {
				var ref *Image
				if tools {
					var err error
					if ref, err = Parse(runTool(t, "jpegtran", tc.data, append([]string{"-perfect"}, jpegtranOp[o]...)...), 0); err != nil {
						t.Fatal(err)
					}
				}
				testOrient(t, tc, o, ref)
			})
		}
	}
}

func testOrient(t *testing.T, tc testCase, o int, ref *Image) {
	data := withEXIFOrientation(tc.data, uint16(o))
	upright, _, err := imageio.Decode(bytes.NewReader(data), imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Patch(&bytes.Buffer{}, data, upright, Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("without Upright: got %v, want ErrUnsupported", err)
	}
	ub := upright.Bounds()
	for _, r := range []image.Rectangle{{}, image.Rect(ub.Dx()/4, ub.Dy()/3, ub.Dx()/2, ub.Dy()/2)} {
		edited := imageio.Orient(decode(t, tc.data), o)
		editRect(edited, r)
		var out bytes.Buffer
		res, err := Patch(&out, data, edited, Options{Upright: true})
		if err != nil {
			t.Fatal(err)
		}
		if imageio.Orientation(out.Bytes()) != 1 {
			t.Error("output still has an orientation")
		}
		if r.Empty() != (res.Reencoded == 0) {
			t.Errorf("%v: %d MCUs re-encoded", r, res.Reencoded)
		}
		got := decode(t, out.Bytes())
		if got.Bounds() != ub {
			t.Fatalf("output %v, upright input %v", got.Bounds(), ub)
		}
		touched := func(x, y int) bool { return res.Touched[(y/res.MCUHeight)*res.MCUsX+x/res.MCUWidth] }
		n := 0
		for y := range ub.Dy() {
			for x := range ub.Dx() {
				if touched(x, y) {
					continue
				}
				for ci := range 3 {
					if d := int(channel(upright, ci, x, y)) - int(channel(got, ci, x, y)); d < -1 || d > 1 {
						t.Fatalf("%v: pixel (%d,%d) channel %d off by %d", r, x, y, ci, d)
					} else if d != 0 {
						n++
					}
				}
			}
		}
		if ref == nil {
			continue
		}
		m, err := Parse(out.Bytes(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if m.Width != ref.Width || m.Height != ref.Height || m.MCUsX != ref.MCUsX {
			t.Fatalf("frame %dx%d, jpegtran %dx%d", m.Width, m.Height, ref.Width, ref.Height)
		}
		for i := range m.Components {
			c, rc := &m.Components[i], &ref.Components[i]
			if *m.Quant[c.Tq] != *ref.Quant[rc.Tq] {
				t.Errorf("component %d: quantisation table differs from jpegtran's", i)
			}
			for by := range c.BlocksY {
				for bx := range c.BlocksX {
					if !res.Touched[(by/c.V)*res.MCUsX+bx/c.H] && !slicesEqual(c.Block(bx, by), rc.Block(bx, by)) {
						t.Fatalf("%v: component %d block (%d,%d) differs from jpegtran's", r, i, bx, by)
					}
				}
			}
		}
		if r.Empty() {
			t.Logf("%d of %d samples one level off", n, 3*ub.Dx()*ub.Dy())
		}
	}
}
