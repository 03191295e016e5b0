package score

import (
	"fmt"
	"math"
	"testing"
)

func TestEvaluate(t *testing.T) {
	truths := [][][4]float32{
		{{0, 0, 10, 10}, {20, 20, 30, 30}},
		{{0, 0, 10, 10}},
		{},
	}
	for _, c := range []struct {
		name       string
		dets       [][]Detection
		recall, ap float64
		tp         int
	}{
		{"perfect", [][]Detection{{{[4]float32{0, 0, 10, 10}, 0.9}, {[4]float32{20, 20, 30, 30}, 0.8}}, {{[4]float32{1, 0, 10, 10}, 0.7}}}, 1, 1, 3},
		{"none", nil, 0, 0, 0},
		// A false positive ranked first: precision 0, 1/2, 2/3 at recalls 0, 1/3,
		// 2/3, made monotone 2/3 throughout.
		{"fp first", [][]Detection{{{[4]float32{0, 0, 10, 10}, 0.8}}, {{[4]float32{0, 0, 10, 10}, 0.7}}, {{[4]float32{50, 50, 60, 60}, 0.9}}}, 2.0 / 3, 4.0 / 9, 2},
		// Two detections of one face: the second is a false positive.
		{"duplicate", [][]Detection{{{[4]float32{0, 0, 10, 10}, 0.9}, {[4]float32{0, 0, 10, 11}, 0.8}}}, 1.0 / 3, 1.0 / 3, 1},
		// IoU below 0.5 does not match.
		{"loose", [][]Detection{{{[4]float32{0, 0, 10, 25}, 0.9}}}, 0, 0, 0},
	} {
		r := Evaluate(c.dets, truths, 0.5)
		if r.Truths != 3 || r.TruePositives != c.tp || math.Abs(r.Recall-c.recall) > 1e-12 || math.Abs(r.AveragePrecision-c.ap) > 1e-12 {
			t.Errorf("%s: %+v, want recall %v AP %v TP %d", c.name, r, c.recall, c.ap, c.tp)
		}
	}
	if r := Evaluate([][]Detection{{{[4]float32{0, 0, 1, 1}, 1}}}, nil, 0.5); r.Recall != 0 || r.Detections != 1 || r.AveragePrecision != 0 {
		t.Errorf("no truths: %+v", r)
	}
}

func TestIoU(t *testing.T) {
	for _, c := range []struct {
		a, b [4]float32
		want float64
	}{
		{[4]float32{0, 0, 10, 10}, [4]float32{0, 0, 10, 10}, 1},
		{[4]float32{0, 0, 10, 10}, [4]float32{5, 0, 15, 10}, 50.0 / 150},
		{[4]float32{0, 0, 10, 10}, [4]float32{10, 0, 20, 10}, 0},
		{[4]float32{0, 0, 0, 0}, [4]float32{0, 0, 0, 0}, 0},
	} {
		if got := IoU(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("IoU(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func ExampleEvaluate() {
	truths := [][][4]float32{{{10, 10, 50, 50}, {60, 10, 100, 50}}}
	dets := [][]Detection{{{Box: [4]float32{12, 11, 50, 52}, Score: 0.99}}}
	r := Evaluate(dets, truths, 0.5)
	fmt.Printf("recall %.2f, AP %.2f\n", r.Recall, r.AveragePrecision)
	// Output: recall 0.50, AP 0.50
}
