package bilinear

import (
	"math"
	"testing"
)

func TestAt(t *testing.T) {
	// A 2x2 image, 3 bytes a pixel, as a window starting at (1, 1) of a
	// 3x3 image whose other pixels are never sampled here.
	m := Image{Pix: []uint8{
		0, 10, 20, 100, 110, 120,
		200, 210, 220, 50, 60, 70,
	}, Stride: 6, BPP: 3, X0: 1, Y0: 1, W: 3, H: 3}
	for _, tc := range []struct {
		x, y float64
		want [3]uint8
		ok   bool
	}{
		{1, 1, [3]uint8{0, 10, 20}, true},       // a pixel centre
		{2, 2, [3]uint8{50, 60, 70}, true},      // another
		{1.5, 1, [3]uint8{50, 60, 70}, true},    // halfway along a row
		{1.5, 1.5, [3]uint8{88, 98, 108}, true}, // the four averaged: 87.5 rounds up
		{2.5, 2, [3]uint8{25, 30, 35}, true},    // half outside: black counts
		{3, 1, [3]uint8{}, false},               // a whole pixel outside
		{-1, 1, [3]uint8{}, false},
		{math.NaN(), 1, [3]uint8{}, false},
	} {
		got, ok := m.At(tc.x, tc.y)
		if got != tc.want || ok != tc.ok {
			t.Errorf("At(%g, %g) = %v, %v; want %v, %v", tc.x, tc.y, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRound(t *testing.T) {
	for v, want := range map[float64]uint8{-3: 0, 0.49: 0, 0.5: 1, 254.5: 255, 300: 255} {
		if got := Round(v); got != want {
			t.Errorf("Round(%g) = %d, want %d", v, got, want)
		}
	}
}
