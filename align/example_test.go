package align_test

import (
	"fmt"
	"image"
	"math"

	"github.com/mtcnn-go/mtcnn/align"
	"github.com/mtcnn-go/mtcnn/cascade"
)

// A face whose landmarks already sit on the template maps onto it with
// the identity transform, and its crop is the image's top-left 112 x 112.
func ExampleTransform() {
	var face cascade.Face
	for i, p := range align.ArcFaceTemplate {
		face.Landmarks[i] = [2]float32{float32(p[0]), float32(p[1])}
	}
	m, ok := align.Transform(face, 112)
	fmt.Printf("%v %.3f %.3f %v\n", ok, m.A, m.B+0, math.Abs(m.C) < 1e-3) // float32 landmarks
	crop, err := align.Crop(image.NewGray(image.Rect(0, 0, 200, 200)), face, align.Options{})
	fmt.Println(crop.Bounds(), err)
	// Output:
	// true 1.000 0.000 true
	// (0,0)-(112,112) <nil>
}
