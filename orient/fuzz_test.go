package orient_test

import (
	"errors"
	"math"
	"testing"

	"github.com/mtcnn-go/mtcnn/orient"
)

// FuzzParseAngles: any input parses to at most MaxAngles distinct angles
// in [0, 360), or fails with ErrAngles.
func FuzzParseAngles(f *testing.F) {
	for _, s := range []string{"", "auto", "none", "0,90,180,270", "-90", "1e308,-1e308", "NaN", "0x1p3", " 45 , 45 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := orient.ParseAngles(s)
		if err != nil {
			if !errors.Is(err, orient.ErrAngles) {
				t.Fatalf("%q: %v is not ErrAngles", s, err)
			}
			return
		}
		if len(a) > orient.MaxAngles {
			t.Fatalf("%q: %d angles", s, len(a))
		}
		seen := map[float64]bool{}
		for _, v := range a {
			if !(v >= 0 && v < 360) || math.IsNaN(v) || seen[v] {
				t.Fatalf("%q: angle %v", s, v)
			}
			seen[v] = true
		}
	})
}
