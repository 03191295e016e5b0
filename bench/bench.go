// Package bench holds the speed benchmarks of the detector (bench_test.go:
// per network at the shapes of a real run, end to end, cold start) and the
// helpers they share with the comparison program in bench/compare: the
// benchmark images, the pyramid and crop shapes of a run, and the
// floating-point operation counts of the three networks.
//
//	go test -run '^$' -bench . ./bench
//	go run ./bench/compare
//
// See bench/README.md for the comparison with PyTorch and ONNX Runtime.
package bench

import (
	"fmt"
	"image"
	"image/png"
	"os"

	"golang.org/x/image/draw"

	"github.com/mtcnn-go/mtcnn/nets"
)

// Case is one end-to-end benchmark: an image of the shared test data (or
// the 320x240 image Small derives from one) at a min size.
type Case struct {
	Name    string
	Image   string // file under testdata/images, or SmallName
	MinSize float32
	Want    int // faces the reference finds; -1 when there is no reference
}

// SmallName names the 320x240 image made by Small.
const SmallName = "multiface_320x240"

// SmallSource is the shared image Small is made from.
const SmallSource = "multiface.png"

// Cases are the end-to-end cases, in the order they are reported.
var Cases = []Case{
	{"solvay/min20", "solvay.png", 20, 29},
	{"solvay/min40", "solvay.png", 40, 29},
	{"road_1080p/min20", "road_1080p.png", 20, 0},
	{SmallName + "/min20", SmallName, 20, -1},
}

// Thresholds and Factor are the options every contender uses (the
// defaults of cascade.Options).
var (
	Thresholds = [3]float32{0.6, 0.7, 0.7}
	Factor     = float32(0.709)
)

// LoadPNG decodes a PNG file.
func LoadPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Small makes the 320x240 benchmark photo from src (multiface.png,
// 1200x630): the centred 4:3 crop of full height, scaled with Catmull-Rom.
// The result depends only on src's pixels.
func Small(src image.Image) *image.RGBA {
	b := src.Bounds()
	cw := min(b.Dx(), b.Dy()*4/3)
	ch := min(b.Dy(), b.Dx()*3/4)
	x0, y0 := b.Min.X+(b.Dx()-cw)/2, b.Min.Y+(b.Dy()-ch)/2
	dst := image.NewRGBA(image.Rect(0, 0, 320, 240))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, image.Rect(x0, y0, x0+cw, y0+ch), draw.Src, nil)
	return dst
}

// RGB returns the image's pixels as packed 8-bit R, G, B rows, the stored
// colour of each pixel (alpha ignored, as the detector does), which is what
// the PyTorch and ONNX Runtime scripts read.
func RGB(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, b.Dx()*b.Dy()*3)
	// rgbx appends the first three bytes of each 4-byte pixel of rows
	// stride bytes apart, from offset off on.
	rgbx := func(pix []byte, stride, off int) []byte {
		for y := 0; y < b.Dy(); y++ {
			row := pix[off+y*stride:]
			for x := 0; x < b.Dx(); x++ {
				out = append(out, row[4*x], row[4*x+1], row[4*x+2])
			}
		}
		return out
	}
	switch m := img.(type) {
	case *image.RGBA:
		return rgbx(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y))
	case *image.NRGBA:
		return rgbx(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y))
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := 0; x < b.Dx(); x++ {
				out = append(out, row[x], row[x], row[x])
			}
		}
		return out
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	return out
}

// Pyramid returns the P-Net input sizes (h, w) of a run on an h x w image,
// computed in float32 as the cascade does.
func Pyramid(h, w int, minSize, factor float32) [][2]int {
	var out [][2]int
	side := float32(min(h, w))
	for scale := float32(12) / minSize; float32(side*scale) > 12; scale = float32(scale * factor) {
		out = append(out, [2]int{int(float32(float32(h) * scale)), int(float32(float32(w) * scale))})
	}
	return out
}

// layer is one layer of a net: a convolution (k x k, cin -> cout, VALID)
// or, when cout is 0, a k x k max pool with stride s.
type layer struct {
	k, s, cin, cout int
	same            bool
}

func conv(k, cin, cout int) layer       { return layer{k: k, s: 1, cin: cin, cout: cout} }
func pool(k, s int, same bool) layer    { return layer{k: k, s: s, same: same} }
func heads(cin int, couts ...int) layer { return layer{k: 1, s: 1, cin: cin, cout: sum(couts)} }

func sum(v []int) int {
	t := 0
	for _, x := range v {
		t += x
	}
	return t
}

func layers(k nets.Kind) []layer {
	switch k {
	case nets.PNet:
		return []layer{conv(3, 3, 10), pool(2, 2, false), conv(3, 10, 16), conv(3, 16, 32), heads(32, 2, 4)}
	case nets.RNet:
		return []layer{conv(3, 3, 28), pool(3, 2, true), conv(3, 28, 48), pool(3, 2, false),
			conv(2, 48, 64), conv(3, 64, 128), heads(128, 2, 4)}
	}
	return []layer{conv(3, 3, 32), pool(3, 2, true), conv(3, 32, 64), pool(3, 2, false),
		conv(3, 64, 64), pool(2, 2, false), conv(2, 64, 128), conv(3, 128, 256), heads(256, 2, 4, 10)}
}

// FLOPs returns the floating-point operations of one forward pass of the
// net on one h x w input: 2 per multiply-add of every convolution and
// head (bias, PReLU, pooling and softmax are not counted).
func FLOPs(k nets.Kind, h, w int) int64 {
	var total int64
	for _, l := range layers(k) {
		if l.cout == 0 {
			if l.same {
				h, w = (h+l.s-1)/l.s, (w+l.s-1)/l.s
			} else {
				h, w = (h-l.k)/l.s+1, (w-l.k)/l.s+1
			}
			continue
		}
		h, w = h-l.k+1, w-l.k+1
		total += 2 * int64(h*w) * int64(l.k*l.k*l.cin*l.cout)
	}
	return total
}

// The shapes of the solvay (960x661) min-size-20 run.
const (
	SolvayH, SolvayW = 661, 960
	SolvayRNetBatch  = 694 // candidates R-Net sees
	SolvayONetBatch  = 196 // candidates O-Net sees
)
