package synth

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"testing"

	"github.com/mtcnn-go/mtcnn/train"
)

func TestMaskCoversLowerFace(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	lm := [5][2]float32{{40, 40}, {60, 40}, {50, 52}, {42, 62}, {58, 62}}
	f := train.Face{Box: [4]float32{30, 25, 70, 75}, Landmarks: &lm}
	Mask(img, f, rand.New(rand.NewPCG(1, 2)))
	painted := func(x, y int) bool { return img.RGBAAt(x, y) != (color.RGBA{}) }
	for _, p := range [][2]int{{50, 52}, {42, 62}, {58, 62}, {50, 72}} {
		if !painted(p[0], p[1]) {
			t.Errorf("(%d, %d) (nose, mouth, chin) not covered", p[0], p[1])
		}
	}
	for _, p := range [][2]int{{40, 40}, {60, 40}, {50, 30}, {5, 5}, {95, 95}} {
		if painted(p[0], p[1]) {
			t.Errorf("(%d, %d) (eyes, forehead, background) covered", p[0], p[1])
		}
	}
	// A mask at the image's edge stays inside it.
	Mask(img, train.Face{Box: [4]float32{-20, 80, 20, 130}}, rand.New(rand.NewPCG(1, 2)))
}

func TestCrop(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 400, 300))
	lm := [5][2]float32{{110, 110}, {130, 110}, {120, 120}, {112, 130}, {128, 130}}
	faces := []train.Face{{Box: [4]float32{100, 100, 140, 140}, Landmarks: &lm}, {Box: [4]float32{300, 50, 340, 90}}}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50; i++ {
		out, kept, _ := Crop(src, faces, faces[0], 0.5, 1.5, 320, r)
		b := out.Bounds()
		if b.Dx() > 320 || b.Dy() > 320 {
			t.Fatalf("crop %v larger than the max side", b)
		}
		if len(kept) == 0 {
			t.Fatal("the face the crop is made around was dropped")
		}
		for _, k := range kept {
			if k.Box[0] < 0 || k.Box[1] < 0 || k.Box[2] > float32(b.Dx()) || k.Box[3] > float32(b.Dy()) {
				t.Fatalf("kept face %v outside the %v crop", k.Box, b)
			}
			// The box keeps its aspect ratio (one scale for both axes).
			if w, h := k.Box[2]-k.Box[0], k.Box[3]-k.Box[1]; w-h > 0.01 || h-w > 0.01 {
				t.Fatalf("face %v is no longer square", k.Box)
			}
		}
		if k := kept[0]; k.Landmarks != nil {
			s := (k.Box[2] - k.Box[0]) / 40
			if d := k.Landmarks[2][0] - (k.Box[0] + 20*s); d > 0.01 || d < -0.01 {
				t.Fatalf("nose %v not mapped with the box %v", k.Landmarks[2], k.Box)
			}
		}
	}
}

// TestSoften checks that softening keeps the image's size and mean colour
// while smoothing a sharp edge (a column of white beside black), and that
// a factor of 1 or below leaves a smooth image as it was.
func TestSoften(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			v := uint8(0)
			if x >= 16 {
				v = 255
			}
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	Soften(img, 4)
	if b := img.Bounds(); b != image.Rect(0, 0, 32, 32) {
		t.Fatalf("bounds %v", b)
	}
	if v := img.RGBAAt(15, 16).R; v == 0 || v == 255 {
		t.Errorf("edge pixel (15, 16) = %d: not softened", v)
	}
	if v := img.RGBAAt(16, 16).R; v == 0 || v == 255 {
		t.Errorf("edge pixel (16, 16) = %d: not softened", v)
	}
	if v := img.RGBAAt(0, 0).R; v > 8 {
		t.Errorf("far from the edge (0, 0) = %d, want about 0", v)
	}
	if v := img.RGBAAt(31, 31).R; v < 247 {
		t.Errorf("far from the edge (31, 31) = %d, want about 255", v)
	}
	flat := image.NewRGBA(image.Rect(0, 0, 8, 8))
	draw.Draw(flat, flat.Bounds(), image.NewUniform(color.RGBA{90, 120, 30, 255}), image.Point{}, draw.Src)
	Soften(flat, 3)
	if c := flat.RGBAAt(4, 4); c != (color.RGBA{90, 120, 30, 255}) {
		t.Errorf("a flat image changed: %v", c)
	}
}
