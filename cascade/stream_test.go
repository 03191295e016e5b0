package cascade_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg"
	"math"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// TestGoldenStreamed is TestGolden with every image read as a large one
// (no BGR copy) and every pyramid level run in tiles of 200 columns, so
// the reading path of large images and the tiles of very wide ones are
// checked bit for bit against the reference on every reference image.
func TestGoldenStreamed(t *testing.T) {
	defer cascade.ReadLarge(200)()
	testGolden(t, false)
}

// TestStreamedBits checks that reading a decoded image directly, in any
// of the streamable types (JPEG's YCbCr in two subsamplings, RGBA with
// translucent pixels, NRGBA, Gray, a sub-image) gives exactly the faces
// its BGR copy gives.
func TestStreamedBits(t *testing.T) {
	d := detector(t)
	jpg := testenv.Image(t, testenv.Path(t, "testdata", "images", "solvay.jpg"))       // YCbCr 4:2:0
	jpg444 := testenv.Image(t, testenv.Path(t, "testdata", "images", "multiface.jpg")) // YCbCr 4:4:4
	gray := testenv.Image(t, testenv.Path(t, "testdata", "images", "hopper_gray.jpg"))
	b := jpg.Bounds()
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, jpg, b.Min, draw.Src)
	for i := 3; i < len(rgba.Pix); i += 4 * 7 {
		// Translucent pixels, validly premultiplied.
		rgba.Pix[i-3], rgba.Pix[i-2], rgba.Pix[i-1], rgba.Pix[i] = rgba.Pix[i-3]/2, rgba.Pix[i-2]/2, rgba.Pix[i-1]/2, 0x80
	}
	nrgba := image.NewNRGBA(b)
	draw.Draw(nrgba, b, jpg, b.Min, draw.Src)
	big := image.NewNRGBA(image.Rect(-5, -9, b.Dx()+20, b.Dy()+3))
	draw.Draw(big, big.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(big, b.Add(image.Pt(7, 1)), jpg, b.Min, draw.Src)
	sub := big.SubImage(b.Add(image.Pt(7, 1)))
	for _, tc := range []struct {
		name string
		img  image.Image
		opts cascade.Options
	}{
		{"YCbCr420", jpg, cascade.Options{MinSize: 20}},
		{"YCbCr444", jpg444, cascade.Options{MinSize: 40}},
		{"Gray", gray, cascade.Options{}},
		{"RGBA", rgba, cascade.Options{MinSize: 20}},
		{"NRGBA", nrgba, cascade.Options{MinSize: 20, FMA: true}},
		{"SubImage", sub, cascade.Options{MinSize: 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := d.Detect(context.Background(), tc.img, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				t.Fatal("no faces")
			}
			for _, tile := range []int{0, 64} {
				restore := cascade.ReadLarge(tile)
				got, err := d.Detect(context.Background(), tc.img, tc.opts)
				restore()
				if err != nil {
					t.Fatal(err)
				}
				if a, b := bits(got), bits(want); a != b {
					t.Errorf("tile %d: read directly:\n%s\nfrom the BGR copy:\n%s", tile, a, b)
				}
			}
		})
	}
}

// bits formats faces with every float's bits.
func bits(faces []cascade.Face) string {
	s := ""
	for _, f := range faces {
		s += fmt.Sprintf("%x %x", math.Float32bits(f.Score), f.Box)
		for _, p := range f.Landmarks {
			s += fmt.Sprintf(" %x %x", math.Float32bits(p[0]), math.Float32bits(p[1]))
		}
		s += "\n"
	}
	return s
}
