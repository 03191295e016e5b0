package anonymize_test

import (
	"fmt"
	"image"
	"image/color"

	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/cascade"
)

// Apply edits the image in place; here a face box on a white image is
// filled with black, and a pixel outside its ellipse stays white.
func ExampleApply() {
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	// Faces usually come from cascade.Detector.Detect.
	faces := []cascade.Face{{Box: [4]float32{30, 30, 70, 70}, Score: 0.99}}
	if err := anonymize.Apply(img, faces, anonymize.Options{Mode: anonymize.Fill}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(img.At(50, 50), img.At(25, 25), img.At(5, 5) == color.RGBA{255, 255, 255, 255})
	// Output: {0 0 0 255} {255 255 255 255} true
}
