package train

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkStep measures one training step (forward, losses, gradients and
// an Adam update) of each net on a batch of 64 crops; samples/s is the
// figure to compare.
func BenchmarkStep(b *testing.B) {
	m := defaultModel(b)
	for _, k := range kinds {
		b.Run(k.String(), func(b *testing.B) {
			const n = 64
			gr, err := newGraph(m, k, n, graphOptions{ohemRatio: 0.7})
			if err != nil {
				b.Fatal(err)
			}
			samples := randomSamples(rand.New(rand.NewPCG(1, 2)), k, n)
			opt := newAdam(1e-4, 5e-4, 10)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := gr.bind(samples); err != nil {
					b.Fatal(err)
				}
				if err := gr.run(); err != nil {
					b.Fatal(err)
				}
				gs, err := gradients(gr)
				if err != nil {
					b.Fatal(err)
				}
				opt.step(gr.params, gs)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
