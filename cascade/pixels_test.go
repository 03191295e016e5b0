package cascade

import (
	"image/color"
	"testing"
)

// TestUnpremultiply checks unpremultiply against color.NRGBAModel for
// every channel value and alpha, the invalid premultiplied values (above
// alpha) included.
func TestUnpremultiply(t *testing.T) {
	for a := 0; a < 256; a++ {
		for v := 0; v < 256; v++ {
			want := color.NRGBAModel.Convert(color.RGBA{uint8(v), 0, 0, uint8(a)}).(color.NRGBA).R
			if got := unpremultiply(uint8(v), uint8(a)); got != want {
				t.Fatalf("unpremultiply(%d, %d) = %d, want %d", v, a, got, want)
			}
		}
	}
}
