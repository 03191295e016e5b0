package nets

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite ../testdata/nets_golden.json from the current nets")

// goldenPath holds every net's outputs on fixed inputs, exact to the bit:
// the nets are bit-identical to the reference graph on its golden images,
// so these outputs pin that exactness down on machines without the shared
// ground truth (the tolerance is zero: every kernel must give these bits).
var goldenPath = filepath.Join("..", "testdata", "nets_golden.json")

type goldenCase struct {
	Net   string `json:"net"`
	Seed  uint64 `json:"seed"`
	N     int    `json:"n"`
	H     int    `json:"h"`
	W     int    `json:"w"`
	Prob  []f32  `json:"prob"`
	Reg   []f32  `json:"reg"`
	Marks []f32  `json:"landmarks,omitempty"`
}

// f32 is a float32 written as its shortest decimal, which reads back to
// the same bits.
type f32 float32

func (b f32) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(b), 'g', -1, 32)), nil
}

func toF32(x []float32) []f32 {
	out := make([]f32, len(x))
	for i, v := range x {
		out[i] = f32(v)
	}
	return out
}

func goldenCases(t *testing.T) []goldenCase {
	m := model(t)
	var cases []goldenCase
	for _, c := range []struct {
		kind    Kind
		n, h, w int
		seed    uint64
	}{
		{PNet, 1, 12, 12, 1},
		{PNet, 1, 37, 50, 2},
		{RNet, 3, 24, 24, 3},
		{ONet, 2, 48, 48, 4},
	} {
		net, err := New(m, c.kind)
		if err != nil {
			t.Fatal(err)
		}
		out, err := net.Run(randomInput(c.seed, c.n*c.h*c.w*3), c.n, c.h, c.w)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, goldenCase{Net: c.kind.String(), Seed: c.seed, N: c.n, H: c.h, W: c.w,
			Prob: toF32(out.Prob), Reg: toF32(out.Reg), Marks: toF32(out.Landmarks)})
	}
	return cases
}

// TestGoldenOutputs compares every net's outputs on fixed inputs with the
// committed golden file, bit for bit. Regenerate with -update-golden only
// after showing the change keeps the reference golden tests at zero
// difference.
func TestGoldenOutputs(t *testing.T) {
	got := goldenCases(t)
	if *updateGolden {
		data, err := json.MarshalIndent(got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	var want []struct {
		Net       string
		Seed      uint64
		N, H, W   int
		Prob, Reg []float32
		Landmarks []float32
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("golden file has %d cases, want %d", len(want), len(got))
	}
	for i, g := range got {
		w := want[i]
		name := fmt.Sprintf("%s/%dx%dx%d", g.Net, g.N, g.H, g.W)
		if w.Net != g.Net || w.Seed != g.Seed || w.N != g.N || w.H != g.H || w.W != g.W {
			t.Fatalf("%s: golden case is %s/%dx%dx%d seed %d", name, w.Net, w.N, w.H, w.W, w.Seed)
		}
		for _, part := range []struct {
			name string
			got  []f32
			want []float32
		}{{"prob", g.Prob, w.Prob}, {"reg", g.Reg, w.Reg}, {"landmarks", g.Marks, w.Landmarks}} {
			if len(part.got) != len(part.want) {
				t.Errorf("%s %s: %d values, golden %d", name, part.name, len(part.got), len(part.want))
				continue
			}
			for j := range part.got {
				if math.Float32bits(float32(part.got[j])) != math.Float32bits(part.want[j]) {
					t.Errorf("%s %s[%d] = %v, golden %v (kernel %s)", name, part.name, j, part.got[j], part.want[j], gemmKernel)
					break
				}
			}
		}
	}
}
