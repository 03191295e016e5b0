package annotate_test

import (
	"fmt"
	"image"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/annotate"
)

func ExampleDraw() {
	img := image.NewGray(image.Rect(0, 0, 64, 48))
	faces := []cascade.Face{{
		Box:   [4]float32{10, 8, 40, 38},
		Score: 0.99,
		Landmarks: [5][2]float32{
			{18, 18}, {32, 18}, {25, 25}, {19, 31}, {31, 31},
		},
	}}
	out := annotate.Draw(img, faces)
	fmt.Println("outline:", out.NRGBAAt(10, 20))
	fmt.Println("inside: ", out.NRGBAAt(15, 20))
	fmt.Println("nose:   ", out.NRGBAAt(25, 25))
	// Output:
	// outline: {0 255 0 255}
	// inside:  {0 0 0 255}
	// nose:    {255 0 0 255}
}
