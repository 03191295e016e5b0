package cascade

import "time"

// Face is one detected face in pixel coordinates of the input image,
// relative to its bounds' top-left corner (img.Bounds().Min is (0, 0)).
// Its JSON form is the CLI's and the HTTP API's:
// {"box":[x1,y1,x2,y2],"score":S,"landmarks":[[x,y],...]}.
type Face struct {
	// Box is x1, y1, x2, y2: the top-left and bottom-right corners.
	Box [4]float32 `json:"box"`
	// Score is O-Net's face probability.
	Score float32 `json:"score"`
	// Landmarks are x, y of the left eye, right eye, nose, left mouth
	// corner and right mouth corner, in that order.
	Landmarks [5][2]float32 `json:"landmarks"`
}

// Stats reports what one detection did: the time spent in each stage
// (P-Net pyramid, R-Net, O-Net, each including its NMS and cropping) and
// how many candidates each stage kept.
type Stats struct {
	Stage      [3]time.Duration
	Candidates [3]int
}
