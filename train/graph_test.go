package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

var kinds = []nets.Kind{nets.PNet, nets.RNet, nets.ONet}

func defaultModel(t testing.TB) *weights.Model {
	t.Helper()
	m, err := weights.Default()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randomSamples returns n samples of net k's input size with random
// pixels and a mix of every class.
func randomSamples(r *rand.Rand, k nets.Kind, n int) []Sample {
	s := k.InputSize()
	out := make([]Sample, n)
	for i := range out {
		px := make([]uint8, s*s*3)
		for j := range px {
			px[j] = uint8(r.IntN(256))
		}
		c := Class(i % 4)
		sm := Sample{Pixels: px, Class: c}
		if c == Positive || c == Part {
			for j := range sm.Box {
				sm.Box[j] = float32(r.NormFloat64() * 0.1)
			}
		}
		if c == Landmark {
			sm.HasLandmarks = true
			for j := range sm.Landmarks {
				sm.Landmarks[j] = float32(0.2 + 0.6*r.Float64())
			}
		}
		out[i] = sm
	}
	return out
}

// TestForwardMatchesInference checks that the training graph of each net,
// on the real weights, computes what the inference nets compute: the face
// probability, the box regression and O-Net's landmarks, within float32
// rounding (the two sum the products in different orders).
func TestForwardMatchesInference(t *testing.T) {
	m := defaultModel(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range kinds {
		t.Run(k.String(), func(t *testing.T) {
			const n = 4
			samples := randomSamples(r, k, n)
			gr, err := newGraph(m, k, n, graphOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := gr.bind(samples); err != nil {
				t.Fatal(err)
			}
			if err := gr.run(); err != nil {
				t.Fatal(err)
			}
			net, err := nets.New(m, k)
			if err != nil {
				t.Fatal(err)
			}
			s := k.InputSize()
			var in []float32
			for _, sm := range samples {
				in = append(in, floats(sm.Pixels)...)
			}
			var want *nets.Output
			if k == nets.PNet {
				// P-Net takes a batch of one: run each crop alone.
				want = &nets.Output{}
				for _, sm := range samples {
					o, err := net.Run(floats(sm.Pixels), 1, s, s)
					if err != nil {
						t.Fatal(err)
					}
					want.Prob = append(want.Prob, o.Prob...)
					want.Reg = append(want.Reg, o.Reg...)
				}
			} else if want, err = net.Run(in, n, s, s); err != nil {
				t.Fatal(err)
			}
			prob, reg := values(gr.probV), values(gr.regV)
			const tol = 2e-5
			for i := 0; i < n; i++ {
				if d := math.Abs(prob[2*i+1] - float64(want.Prob[i])); d > tol {
					t.Errorf("sample %d: probability %v, inference %v", i, prob[2*i+1], want.Prob[i])
				}
				for j := 0; j < 4; j++ {
					if d := math.Abs(reg[4*i+j] - float64(want.Reg[4*i+j])); d > tol {
						t.Errorf("sample %d: regression %d is %v, inference %v", i, j, reg[4*i+j], want.Reg[4*i+j])
					}
				}
			}
			if k == nets.ONet {
				lm := values(gr.lmV)
				for i := range want.Landmarks {
					if d := math.Abs(lm[i] - float64(want.Landmarks[i])); d > tol {
						t.Errorf("landmark value %d is %v, inference %v", i, lm[i], want.Landmarks[i])
					}
				}
			}
		})
	}
}

func floats(px []uint8) []float32 {
	out := make([]float32, len(px))
	for i, v := range px {
		out[i] = float32(normalised[v])
	}
	return out
}
