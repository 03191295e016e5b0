package train

import (
	"fmt"
)

// Class is what a training crop shows, as the MTCNN article labels them by
// their overlap (IoU) with the nearest face.
type Class uint8

// The four kinds of sample.
const (
	Negative Class = iota // IoU < 0.3: trains the face score towards "no face"
	Positive              // IoU > 0.65: trains the score towards "face" and the box regression
	Part                  // IoU 0.4 to 0.65: trains the box regression only
	Landmark              // a face with landmarks: trains the landmark regression only
)

// String returns the class's name.
func (c Class) String() string {
	switch c {
	case Negative:
		return "negative"
	case Positive:
		return "positive"
	case Part:
		return "part"
	case Landmark:
		return "landmark"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Sample is one training crop of a net's input size with its targets, in
// the conventions of the nets' outputs (see nets.Output): Box holds the
// offsets of the face box's corners from the crop's, y1, x1, y2, x2, in
// units of the crop's height and width; Landmarks the five points'
// offsets from the crop's top-left corner in the same units, the five ys
// then the five xs.
type Sample struct {
	// Pixels is the crop in NHWC (size x size x 3), 8-bit BGR: the
	// cascade's bilinear crop, rounded to bytes so that many samples fit
	// in memory. The nets see (v - 127.5) / 128.
	Pixels       []uint8
	Class        Class
	Box          [4]float32
	Landmarks    [10]float32
	HasLandmarks bool
}

// bind copies a batch of samples into the graph's inputs and sets the
// losses' masks and weights. len(batch) must be the graph's batch size.
func (gr *graph) bind(batch []Sample) error {
	n, s := gr.batch, gr.size
	if len(batch) != n {
		return fmt.Errorf("train: %v: batch of %d, graph takes %d", gr.kind, len(batch), n)
	}
	in, label, valid, box, boxW := bufOf(gr.in), bufOf(gr.label), bufOf(gr.valid), bufOf(gr.box), bufOf(gr.boxW)
	var lmk, lmkW buf
	if gr.lmk != nil {
		lmk, lmkW = bufOf(gr.lmk), bufOf(gr.lmkW)
	}
	var boxes, lms int
	for _, b := range batch {
		if b.Class == Positive || b.Class == Part {
			boxes++
		}
		if b.HasLandmarks {
			lms++
		}
	}
	plane := s * s
	for i, b := range batch {
		if len(b.Pixels) != 3*plane {
			return fmt.Errorf("train: %v: sample %d has %d values, want %d", gr.kind, i, len(b.Pixels), 3*plane)
		}
		base := i * 3 * plane
		for p := 0; p < plane; p++ {
			for c := 0; c < 3; c++ {
				in.set(base+c*plane+p, normalised[b.Pixels[3*p+c]])
			}
		}
		l0, l1, v := 0.0, 0.0, 0.0
		switch b.Class {
		case Negative:
			l0, v = 1, 1
		case Positive:
			l1, v = 1, 1
		}
		label.set(2*i, l0)
		label.set(2*i+1, l1)
		valid.set(i, v)
		bw := 0.0
		if b.Class == Positive || b.Class == Part {
			bw = 1 / float64(boxes)
		}
		boxW.set(i, bw)
		for j := 0; j < 4; j++ {
			box.set(4*i+j, float64(b.Box[j]))
		}
		if gr.lmk != nil {
			lw := 0.0
			if b.HasLandmarks {
				lw = 1 / float64(lms)
			}
			lmkW.set(i, lw)
			for j := 0; j < 10; j++ {
				lmk.set(10*i+j, float64(b.Landmarks[j]))
			}
		}
	}
	return nil
}

// normalised maps a byte to the nets' input value, (v - 127.5) / 128.
var normalised = func() (t [256]float64) {
	for i := range t {
		t[i] = (float64(i) - 127.5) / 128
	}
	return t
}()

// quantise maps a normalised value back to the nearest byte.
func quantise(v float32) uint8 {
	q := float64(v)*128 + 127.5
	switch {
	case !(q > 0):
		return 0
	case q >= 255:
		return 255
	}
	return uint8(q + 0.5)
}
