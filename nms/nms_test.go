package nms

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestIoU(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		a, b Box
		want float32
	}{
		{Box{0, 0, 10, 10}, Box{0, 0, 10, 10}, 1},
		{Box{0, 0, 10, 10}, Box{0, 5, 10, 15}, 50.0 / 150},
		{Box{0, 0, 10, 10}, Box{20, 20, 30, 30}, 0},
		{Box{10, 10, 0, 0}, Box{0, 5, 10, 15}, 50.0 / 150}, // corners in either order
		{Box{0, 0, 10, 10}, Box{10, 0, 20, 10}, 0},         // touching edges
		{Box{0, 0, 0, 10}, Box{0, 0, 0, 10}, 0},            // empty area
		{Box{0, 0, 10, 10}, Box{2, 2, 4, 4}, 4.0 / 100},    // contained
		{Box{nan, 0, 10, 10}, Box{0, 0, 10, 10}, 0},        // NaN area is not positive
		{Box{0, 0, 1e30, 1e30}, Box{0, 0, 1e30, 1e30}, 0},  // area overflows to +Inf: Inf/Inf
	} {
		got := IoU(tc.a, tc.b)
		if tc.a[2] == 1e30 {
			if !math.IsNaN(float64(got)) {
				t.Errorf("IoU(%v, %v) = %v, want NaN (as TensorFlow)", tc.a, tc.b, got)
			}
			continue
		}
		if math.Abs(float64(got-tc.want)) > 1e-7 {
			t.Errorf("IoU(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSuppress(t *testing.T) {
	// Boxes 0 and 1 overlap with IoU exactly 0.5 (50/100 ... see below).
	half := []Box{{0, 0, 10, 10}, {0, 0, 10, 5}} // IoU = 50/100 = 0.5
	for _, tc := range []struct {
		name   string
		boxes  []Box
		scores []float32
		iou    float32
		max    int
		want   []int
	}{
		{"empty", nil, nil, 0.5, 10, nil},
		{"by score", []Box{{0, 0, 10, 10}, {20, 20, 30, 30}, {40, 40, 50, 50}}, []float32{0.1, 0.9, 0.5}, 0.5, 10, []int{1, 2, 0}},
		{"suppressed", []Box{{0, 0, 10, 10}, {1, 1, 11, 11}, {40, 40, 50, 50}}, []float32{0.8, 0.9, 0.5}, 0.5, 10, []int{1, 2}},
		{"strict greater: IoU equal to threshold kept", half, []float32{0.9, 0.8}, 0.5, 10, []int{0, 1}},
		{"just above threshold dropped", half, []float32{0.9, 0.8}, 0.49, 10, []int{0}},
		{"ties by ascending index", []Box{{0, 0, 10, 10}, {1, 1, 11, 11}, {2, 2, 12, 12}}, []float32{1, 1, 1}, 0.5, 10, []int{0, 2}},
		{"ties, later index loses", []Box{{5, 5, 15, 15}, {0, 0, 10, 10}, {40, 0, 50, 10}}, []float32{1, 1, 1}, 0.1, 10, []int{0, 2}},
		{"max output", []Box{{0, 0, 1, 1}, {2, 2, 3, 3}, {4, 4, 5, 5}}, []float32{0.3, 0.2, 0.1}, 0.5, 2, []int{0, 1}},
		{"max zero", []Box{{0, 0, 1, 1}}, []float32{1}, 0.5, 0, nil},
		{"NaN score last", []Box{{0, 0, 1, 1}, {2, 2, 3, 3}}, []float32{float32(math.NaN()), 0.1}, 0.5, 10, []int{1, 0}},
		{"mismatched lengths", []Box{{0, 0, 1, 1}, {2, 2, 3, 3}}, []float32{0.5}, 0.5, 10, []int{0}},
		{"degenerate boxes never suppress", []Box{{0, 0, 0, 0}, {0, 0, 0, 0}}, []float32{0.9, 0.8}, 0, 10, []int{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Suppress(tc.boxes, tc.scores, tc.iou, tc.max)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Suppress = %v, want %v", got, tc.want)
			}
		})
	}
}

// naiveSuppress is the textbook algorithm: repeatedly take the best
// remaining box (lowest index among equals, NaN scores last) and drop its
// overlaps.
func naiveSuppress(boxes []Box, scores []float32, iou float32, maxOut int) []int {
	alive := make([]bool, len(boxes))
	for i := range alive {
		alive[i] = true
	}
	better := func(i, j int) bool { // i goes before j
		si, sj := scores[i], scores[j]
		switch {
		case si != si:
			return false
		case sj != sj:
			return true
		}
		return si > sj
	}
	var out []int
	for len(out) < maxOut {
		best := -1
		for i := range boxes {
			if alive[i] && (best < 0 || better(i, best)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		out = append(out, best)
		alive[best] = false
		for i := range boxes {
			if alive[i] && IoU(boxes[best], boxes[i]) > iou {
				alive[i] = false
			}
		}
	}
	return out
}

func TestSuppressRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n := r.IntN(60)
		boxes := make([]Box, n)
		scores := make([]float32, n)
		for i := range boxes {
			y, x := r.Float32()*100, r.Float32()*100
			boxes[i] = Box{y, x, y + 5 + r.Float32()*30, x + 5 + r.Float32()*30}
			scores[i] = float32(r.IntN(8)) / 8 // many ties
		}
		iou := r.Float32()
		maxOut := 1 + r.IntN(n+1)
		got := Suppress(boxes, scores, iou, maxOut)
		want := naiveSuppress(boxes, scores, iou, maxOut)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: got %v, want %v", trial, got, want)
		}
	}
}

func ExampleSuppress() {
	boxes := []Box{
		{10, 10, 50, 50}, // y1, x1, y2, x2
		{12, 12, 52, 52}, // overlaps the first
		{100, 100, 140, 140},
	}
	scores := []float32{0.9, 0.95, 0.8}
	fmt.Println(Suppress(boxes, scores, 0.5, 10))
	// Output: [1 2]
}

func BenchmarkSuppress(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	boxes := make([]Box, 2000)
	scores := make([]float32, len(boxes))
	for i := range boxes {
		y, x := r.Float32()*1000, r.Float32()*1000
		boxes[i] = Box{y, x, y + 24, x + 24}
		scores[i] = r.Float32()
	}
	b.ReportAllocs()
	for b.Loop() {
		Suppress(boxes, scores, 0.5, 1000)
	}
}

// TestIoUBits checks IoU bit for bit against TensorFlow's formula written
// out plainly, on random boxes with corners in either order, empty and
// touching boxes.
func TestIoUBits(t *testing.T) {
	plain := func(a, b Box) float32 {
		ay1, ay2 := min(a[0], a[2]), max(a[0], a[2])
		ax1, ax2 := min(a[1], a[3]), max(a[1], a[3])
		by1, by2 := min(b[0], b[2]), max(b[0], b[2])
		bx1, bx2 := min(b[1], b[3]), max(b[1], b[3])
		areaA := float32(float32(ay2-ay1) * float32(ax2-ax1))
		areaB := float32(float32(by2-by1) * float32(bx2-bx1))
		if !(areaA > 0) || !(areaB > 0) {
			return 0
		}
		ih := max(float32(min(ay2, by2)-max(ay1, by1)), 0)
		iw := max(float32(min(ax2, bx2)-max(ax1, bx1)), 0)
		inter := float32(ih * iw)
		return inter / float32(float32(areaA+areaB)-inter)
	}
	r := rand.New(rand.NewPCG(3, 4))
	coord := func() float32 {
		if r.IntN(10) == 0 {
			return float32(r.IntN(4)) * 10 // shared and touching edges
		}
		return r.Float32()*60 - 10
	}
	for range 200000 {
		a := Box{coord(), coord(), coord(), coord()}
		b := Box{coord(), coord(), coord(), coord()}
		if got, want := IoU(a, b), plain(a, b); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("IoU(%v, %v) = %v, want %v", a, b, got, want)
		}
	}
}

// TestSuppressorReuse checks that one Suppressor reused across inputs of
// growing and shrinking size gives Suppress's results, and allocates
// nothing once grown.
func TestSuppressorReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var s Suppressor
	var dst []int
	gen := func(n int) ([]Box, []float32) {
		boxes := make([]Box, n)
		scores := make([]float32, n)
		for i := range boxes {
			y, x := r.Float32()*100, r.Float32()*100
			boxes[i] = Box{y, x, y + 5 + r.Float32()*30, x + 5 + r.Float32()*30}
			scores[i] = float32(r.IntN(8)) / 8
		}
		return boxes, scores
	}
	for _, n := range []int{50, 5, 200, 0, 120} {
		boxes, scores := gen(n)
		dst = s.Suppress(dst, boxes, scores, 0.5, 1000)
		if want := Suppress(boxes, scores, 0.5, 1000); !slices.Equal(dst, want) {
			t.Fatalf("n=%d: got %v, want %v", n, dst, want)
		}
	}
	boxes, scores := gen(150)
	if a := testing.AllocsPerRun(20, func() { dst = s.Suppress(dst, boxes, scores, 0.5, 1000) }); a != 0 {
		t.Errorf("a grown Suppressor allocates %v times per call", a)
	}
	// Different box sets in turn, as a detector's pyramid levels and
	// stages give one Suppressor: the boxes fall in different grid cells
	// each time, and once every set has been seen nothing grows.
	type set struct {
		boxes  []Box
		scores []float32
	}
	var sets []set
	for _, n := range []int{150, 400, 90, 300} {
		b, sc := gen(n)
		sets = append(sets, set{b, sc})
	}
	for _, st := range sets {
		dst = s.Suppress(dst, st.boxes, st.scores, 0.5, 1000)
	}
	k := 0
	if a := testing.AllocsPerRun(20, func() {
		st := sets[k%len(sets)]
		k++
		dst = s.Suppress(dst, st.boxes, st.scores, 0.5, 1000)
	}); a != 0 {
		t.Errorf("a grown Suppressor allocates %v times per call on sets it has seen", a)
	}
}

// A Suppressor keeps its working memory between calls: in a loop over
// frames, suppression allocates nothing once it has grown.
func ExampleSuppressor() {
	var s Suppressor
	var keep []int
	frames := [][]Box{
		{{0, 0, 10, 10}, {1, 1, 11, 11}, {20, 20, 30, 30}},
		{{0, 0, 10, 10}, {0, 20, 10, 30}},
	}
	scores := [][]float32{{0.9, 0.8, 0.7}, {0.6, 0.95}}
	for i, boxes := range frames {
		keep = s.Suppress(keep, boxes, scores[i], 0.5, 10)
		fmt.Println(keep)
	}
	// Output:
	// [0 2]
	// [1 0]
}

// TestSuppressLargeRandom checks Suppress against the textbook algorithm
// on inputs large enough for the grid index: clustered and scattered
// boxes of very different sizes, corners in either order, empty, NaN and
// infinite boxes, NaN scores, and thresholds of 0, negative and NaN (where
// the grid must not be used).
func TestSuppressLargeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for trial := 0; trial < 300; trial++ {
		n := 64 + r.IntN(400)
		boxes := make([]Box, n)
		scores := make([]float32, n)
		spread := float32([]int{50, 500, 5000}[r.IntN(3)])
		for i := range boxes {
			y, x := r.Float32()*spread-spread/4, r.Float32()*spread
			h, w := 1+r.Float32()*float32([]int{5, 40, 400}[r.IntN(3)]), 1+r.Float32()*60
			boxes[i] = Box{y, x, y + h, x + w}
			switch r.IntN(40) {
			case 0:
				boxes[i] = Box{y + h, x + w, y, x} // corners swapped
			case 1:
				boxes[i][2] = boxes[i][0] // empty
			case 2:
				boxes[i][r.IntN(4)] = nan
			case 3:
				boxes[i][2] = inf
			case 4:
				boxes[i][1] = -inf
			}
			scores[i] = float32(r.IntN(50)) / 50
			if r.IntN(100) == 0 {
				scores[i] = nan
			}
		}
		iou := []float32{0, 0.3, 0.5, 0.7, 1, -0.1, nan}[r.IntN(7)]
		maxOut := 1 + r.IntN(n+1)
		got := Suppress(boxes, scores, iou, maxOut)
		want := naiveSuppress(boxes, scores, iou, maxOut)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (n=%d, iou=%v): got %v, want %v", trial, n, iou, got, want)
		}
	}
}
