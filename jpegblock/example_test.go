package jpegblock_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"

	"github.com/mtcnn-go/mtcnn/jpegblock"
)

// Blacken a 20x20 square of a JPEG: only the 4:2:0 MCUs (16x16 pixels)
// under it are re-encoded; every other one is copied.
func ExamplePatch() {
	src := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			src.Set(x, y, color.RGBA{uint8(4 * x), uint8(5 * y), 128, 255})
		}
	}
	var orig bytes.Buffer
	if err := jpeg.Encode(&orig, src, &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(orig.Bytes()))
	if err != nil {
		panic(err)
	}
	edited := image.NewRGBA(img.Bounds())
	for y := range 48 {
		for x := range 64 {
			edited.Set(x, y, img.At(x, y))
			if x >= 20 && x < 40 && y >= 10 && y < 30 {
				edited.Set(x, y, color.Black)
			}
		}
	}
	var out bytes.Buffer
	res, err := jpegblock.Patch(&out, orig.Bytes(), edited, jpegblock.DefaultOptions())
	if err != nil {
		panic(err)
	}
	fmt.Printf("%dx%d MCUs, %d of %d re-encoded\n", res.MCUWidth, res.MCUHeight, res.Reencoded, len(res.Touched))
	// Output: 16x16 MCUs, 4 of 12 re-encoded
}
