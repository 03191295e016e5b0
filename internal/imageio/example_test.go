package imageio_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"log"

	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

func ExampleDecode() {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 64, 48))); err != nil {
		log.Fatal(err)
	}
	data := buf.Bytes()
	img, format, err := imageio.Decode(bytes.NewReader(data), imageio.Limits{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.Bounds(), format)

	// A cap below 64*48 pixels rejects the same image from its header.
	_, _, err = imageio.Decode(bytes.NewReader(data), imageio.Limits{MaxPixels: 1000})
	fmt.Println(err)
	// Output:
	// (0,0)-(64,48) png
	// imageio: image too large: 64x48 exceeds the cap of 1000 pixels
}
