package nets

import (
	"fmt"
	"testing"
)

// The shapes of the solvay (960x661) min-size-20 run: P-Net's first
// pyramid level, and the R-Net and O-Net batches the cascade sends.
func benchmarkNet(b *testing.B, k Kind, batch, h, w int) {
	net, err := New(model(b), k)
	if err != nil {
		b.Fatal(err)
	}
	x := randomInput(1, batch*h*w*3)
	if _, err := net.Run(x, batch, h, w); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := net.Run(x, batch, h, w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPNet(b *testing.B) {
	for _, s := range [][2]int{{396, 576}, {101, 146}, {12, 12}} {
		b.Run(fmt.Sprintf("%dx%d", s[0], s[1]), func(b *testing.B) { benchmarkNet(b, PNet, 1, s[0], s[1]) })
	}
}

func BenchmarkRNet(b *testing.B) {
	for _, n := range []int{1, 64, 694} {
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) { benchmarkNet(b, RNet, n, 24, 24) })
	}
}

func BenchmarkONet(b *testing.B) {
	for _, n := range []int{1, 16, 196} {
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) { benchmarkNet(b, ONet, n, 48, 48) })
	}
}
