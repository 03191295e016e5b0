package track_test

import (
	"fmt"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/track"
)

func Example() {
	tr := track.New(track.Options{})
	frames := [][]cascade.Face{
		{{Box: [4]float32{10, 10, 60, 60}}},
		{{Box: [4]float32{12, 10, 62, 60}}, {Box: [4]float32{200, 50, 240, 90}}},
		{{Box: [4]float32{202, 52, 242, 92}}}, // the first face missed: its track coasts
		{{Box: [4]float32{14, 11, 64, 61}}, {Box: [4]float32{204, 52, 244, 92}}},
	}
	for i, faces := range frames {
		fmt.Println("frame", i, "ids", tr.Update(faces))
	}
	// Output:
	// frame 0 ids [1]
	// frame 1 ids [1 2]
	// frame 2 ids [2]
	// frame 3 ids [1 2]
}
