package train

import (
	"fmt"
	"math"
)

// adam is the Adam optimiser (Kingma and Ba 2015) over a graph's
// parameters, with L2 weight decay on the kernels (added to their
// gradients) and clipping of the gradients' global norm.
type adam struct {
	lr, beta1, beta2, eps float64
	decay, clip           float64
	t                     int
	m, v                  [][]float64
}

func newAdam(lr, decay, clip float64) *adam {
	return &adam{lr: lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: decay, clip: clip}
}

// gradients returns the last run's gradients, one slice per parameter,
// checking that they and the loss are finite.
func gradients(gr *graph) ([][]float64, error) {
	_, _, _, total := gr.losses()
	if math.IsNaN(total) || math.IsInf(total, 0) {
		return nil, fmt.Errorf("train: %v: %w: loss is %v", gr.kind, ErrNotFinite, total)
	}
	gs := make([][]float64, len(gr.params))
	for i, p := range gr.params {
		g := values(p.grad)
		if len(g) != p.value.Size() {
			return nil, fmt.Errorf("train: %v: gradient of %s has %d values, want %d", gr.kind, p.name, len(g), p.value.Size())
		}
		for j, x := range g {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("train: %v: %w: gradient of %s element %d is %v", gr.kind, ErrNotFinite, p.name, j, x)
			}
		}
		gs[i] = g
	}
	return gs, nil
}

// step applies one update to the parameters from their gradients gs
// (which it may modify). It returns the gradients' global norm before
// clipping.
func (a *adam) step(params []*param, gs [][]float64) float64 {
	if a.m == nil {
		a.m = make([][]float64, len(params))
		a.v = make([][]float64, len(params))
		for i, p := range params {
			a.m[i] = make([]float64, p.value.Size())
			a.v[i] = make([]float64, p.value.Size())
		}
	}
	var norm float64
	for i, p := range params {
		decay := 0.0
		if p.kind == kernelHWIO || p.kind == headMatrix {
			decay = a.decay
		}
		v := bufOf(p.value)
		for j := range gs[i] {
			if decay != 0 {
				gs[i][j] += decay * v.get(j)
			}
			norm += gs[i][j] * gs[i][j]
		}
	}
	norm = math.Sqrt(norm)
	scale := 1.0
	if a.clip > 0 && norm > a.clip {
		scale = a.clip / norm
	}
	a.t++
	c1 := 1 - math.Pow(a.beta1, float64(a.t))
	c2 := 1 - math.Pow(a.beta2, float64(a.t))
	for i, p := range params {
		m, v, w := a.m[i], a.v[i], bufOf(p.value)
		for j, g := range gs[i] {
			g *= scale
			m[j] = a.beta1*m[j] + (1-a.beta1)*g
			v[j] = a.beta2*v[j] + (1-a.beta2)*g*g
			upd := a.lr * (m[j] / c1) / (math.Sqrt(v[j]/c2) + a.eps)
			w.set(j, w.get(j)-upd)
		}
	}
	return norm
}
