package nets

import "testing"

// BenchmarkPNetLayers times each of P-Net's layers alone at its first
// pyramid level on solvay (396x576), in both modes, with GFLOP/s: where a
// pass's time goes.
func BenchmarkPNetLayers(b *testing.B) {
	const h, w = 396, 576
	x := randomInput(1, h*w*3)
	s0 := shape4{1, h, w, 3}
	w1, b1, a1 := randomInput(2, 27*10), randomInput(3, 10), randomInput(4, 10)
	p := pool{k: 2, s: 2, same: true}
	c1 := shape4{1, h - 2, w - 2, 10}
	p1, _, _ := p.out(c1)
	y1 := make([]float32, p1.size())
	w2, b2, a2 := randomInput(5, 90*16), randomInput(6, 16), randomInput(7, 16)
	s2 := shape4{1, p1.h - 2, p1.w - 2, 16}
	y2 := make([]float32, s2.size())
	w3, b3, a3 := randomInput(8, 144*32), randomInput(9, 32), randomInput(10, 32)
	hw, hb := randomInput(11, 32*6), randomInput(12, 6)
	s3 := shape4{1, s2.h - 2, s2.w - 2, 6}
	y3 := make([]float32, s3.size())
	for _, mode := range []Mode{Exact, FMA} {
		fma := mode == FMA
		for _, l := range []struct {
			name  string
			flops float64
			run   func()
		}{
			{"conv1+pool", float64(c1.h*c1.w) * 27 * 10 * 2, func() { convPool(x, s0, w1, 3, 3, 10, b1, a1, p, y1, fma) }},
			{"conv2", float64(s2.h*s2.w) * 90 * 16 * 2, func() { conv2d(y1, p1, w2, 3, 3, 16, b2, a2, y2, fma) }},
			{"conv3+heads", float64(s3.h*s3.w) * (144*32 + 32*6) * 2, func() { convHeads(y2, s2, w3, 3, 3, 32, b3, a3, hw, hb, 6, y3, fma) }},
		} {
			b.Run(l.name+"/"+mode.String(), func(b *testing.B) {
				for b.Loop() {
					l.run()
				}
				b.ReportMetric(l.flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkPNetSoftmax(b *testing.B) {
	x := randomInput(1, 193*283*6)
	y := make([]float32, 193*283*2)
	for b.Loop() {
		softmax(x, 6, y, 2)
	}
}
