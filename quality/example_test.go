package quality_test

import (
	"fmt"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/quality"
)

// A level frontal face turned 15 degrees counterclockwise in the image
// (its right-hand eye higher) has a roll of about 15 degrees.
func ExampleEstimatePose() {
	face := cascade.Face{Landmarks: [5][2]float32{{96, 106}, {134, 96}, {121, 124}, {110, 145}, {141, 137}}}
	p, ok := quality.EstimatePose(face)
	fmt.Printf("%v roll %.0f\n", ok, p.Roll)
	// Output: true roll 15
}

// Select returns the indices of the faces to keep, here the best one.
func ExampleFilter_Select() {
	faces := []cascade.Face{{Score: 0.8}, {Score: 0.95}, {Score: 0.9}}
	fmt.Println(quality.Filter{Top: 1}.Select(faces))
	// Output: [1]
}
