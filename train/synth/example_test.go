package synth_test

import (
	"fmt"
	"image"
	"math/rand/v2"

	"github.com/mtcnn-go/mtcnn/train"
	"github.com/mtcnn-go/mtcnn/train/synth"
)

// Make one masked training image from a labelled photo: a rescaled crop
// around a face, the face covered by a drawn mask. The crop's labels are
// the photo's faces mapped into it.
func Example() {
	photo := image.NewRGBA(image.Rect(0, 0, 400, 300))
	lm := [5][2]float32{{110, 112}, {130, 112}, {120, 122}, {112, 132}, {128, 132}}
	faces := []train.Face{{Box: [4]float32{100, 100, 140, 145}, Landmarks: &lm}}
	r := rand.New(rand.NewPCG(1, 2))
	crop, kept, _ := synth.Crop(photo, faces, faces[0], 0.8, 1.2, 320, r)
	for _, f := range kept {
		synth.Mask(crop, f, r)
	}
	fmt.Println(len(kept), "face in a crop at most 320 pixels on a side:", crop.Bounds().Dx() <= 320 && crop.Bounds().Dy() <= 320)
	// Output: 1 face in a crop at most 320 pixels on a side: true
}
