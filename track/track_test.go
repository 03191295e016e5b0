package track

import (
	"reflect"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
)

func face(x, y, s float32) cascade.Face {
	return cascade.Face{Box: [4]float32{x, y, x + s, y + s}, Score: 0.99}
}

func TestStillFacesKeepIDs(t *testing.T) {
	tr := New(Options{})
	faces := []cascade.Face{face(0, 0, 50), face(100, 0, 40), face(200, 100, 60)}
	for i := range 10 {
		if ids := tr.Update(faces); !reflect.DeepEqual(ids, []int{1, 2, 3}) {
			t.Fatalf("frame %d: ids %v", i, ids)
		}
	}
	// Order of the faces within a frame does not matter.
	if ids := tr.Update([]cascade.Face{faces[2], faces[0], faces[1]}); !reflect.DeepEqual(ids, []int{3, 1, 2}) {
		t.Errorf("reordered: %v", ids)
	}
}

func TestMissesAndNewIDs(t *testing.T) {
	a, b := face(0, 0, 50), face(300, 0, 50)
	for _, tc := range []struct {
		name    string
		misses  int // Options.MaxMisses
		gap     int // frames a is missing
		wantAID int // a's id when it returns
	}{
		{"bridged", 0, 5, 1},  // default MaxMisses 5
		{"too long", 0, 6, 3}, // ended after 5 misses: new id 3 (2 is b)
		{"none kept", -1, 1, 3},
		{"kept 2", 2, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Options{MaxMisses: tc.misses})
			tr.Update([]cascade.Face{a, b})
			for i := range tc.gap {
				ids := tr.Update([]cascade.Face{b})
				if ids[0] != 2 {
					t.Fatalf("b's id %d", ids[0])
				}
				if live := tr.Tracks(); i < tr.opts.MaxMisses && (len(live) != 2 || live[0].ID != 1 || live[0].Misses != i+1 || live[0].Face.Box != a.Box) {
					t.Fatalf("miss %d: tracks %+v; want a coasting", i+1, live)
				}
			}
			ids := tr.Update([]cascade.Face{b, a})
			if ids[1] != tc.wantAID || ids[0] != 2 {
				t.Errorf("ids %v, want a=%d", ids, tc.wantAID)
			}
		})
	}
}

func TestGreedyBestOverlapWins(t *testing.T) {
	tr := New(Options{})
	tr.Update([]cascade.Face{face(0, 0, 100), face(60, 0, 100)}) // ids 1, 2
	// One face now between them, nearer track 2; and another near 1.
	ids := tr.Update([]cascade.Face{face(50, 0, 100), face(-5, 0, 100)})
	if !reflect.DeepEqual(ids, []int{2, 1}) {
		t.Errorf("ids %v, want [2 1]", ids)
	}
	// A face overlapping nothing enough starts a track.
	if ids := tr.Update([]cascade.Face{face(500, 500, 10)}); ids[0] != 3 {
		t.Errorf("new face id %d, want 3", ids[0])
	}
}

// A face that speeds up to 60% of its size per frame: its box then
// overlaps its last place by IoU 0.25, under the default 0.3, so without
// motion every fast frame starts a new track; with motion the velocity
// learnt from the slow frames keeps the track.
func TestMotionFollowsFastFaces(t *testing.T) {
	xs := []float32{0, 10, 20, 30, 60, 90, 120, 150, 180}
	for _, motion := range []bool{false, true} {
		tr := New(Options{Motion: motion})
		var ids []int
		for _, x := range xs {
			ids = append(ids, tr.Update([]cascade.Face{face(x, 10, 50)})[0])
		}
		want := []int{1, 1, 1, 1, 2, 3, 4, 5, 6}
		if motion {
			want = []int{1, 1, 1, 1, 1, 1, 1, 1, 1}
		}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("motion %v: ids %v, want %v", motion, ids, want)
		}
		if motion {
			// The track coasts along its path when the face is missed,
			// and continues when it is found further along.
			tr.Update(nil)
			if x := tr.Tracks()[0].Face.Box[0]; x <= 200 || x > 215 {
				t.Errorf("coasting box at x %v, want about 210", x)
			}
			if id := tr.Update([]cascade.Face{face(240, 10, 50)})[0]; id != 1 {
				t.Errorf("after a miss: id %d, want 1", id)
			}
		}
	}
}

func TestIoU(t *testing.T) {
	for _, tc := range []struct {
		a, b [4]float32
		want float32
	}{
		{[4]float32{0, 0, 10, 10}, [4]float32{0, 0, 10, 10}, 1},
		{[4]float32{0, 0, 10, 10}, [4]float32{5, 0, 15, 10}, 1.0 / 3},
		{[4]float32{0, 0, 10, 10}, [4]float32{10, 0, 20, 10}, 0},
		{[4]float32{0, 0, 0, 0}, [4]float32{0, 0, 0, 0}, 0},
	} {
		if got := IoU(tc.a, tc.b); got != tc.want {
			t.Errorf("IoU(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
