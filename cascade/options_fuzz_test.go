package cascade_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
)

func TestParseThresholds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [3]float32
		ok   bool
	}{
		{"0.6,0.7,0.7", [3]float32{0.6, 0.7, 0.7}, true},
		{" 0.5 , 1,0 ", [3]float32{0.5, 1, 0}, true},
		{"0.6,0.7", [3]float32{}, false},
		{"0.6,0.7,0.7,0.8", [3]float32{}, false},
		{"a,b,c", [3]float32{}, false},
		{"", [3]float32{}, false},
		{"0.6,,0.7", [3]float32{}, false},
	} {
		got, err := cascade.ParseThresholds(tc.in)
		if tc.ok != (err == nil) || (tc.ok && got != tc.want) {
			t.Errorf("ParseThresholds(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, cascade.ErrOptions) {
			t.Errorf("ParseThresholds(%q): error %v does not wrap ErrOptions", tc.in, err)
		}
	}
}

// FuzzParseThresholds checks that any text parses or fails with
// ErrOptions, and that what parses prints back to the same values.
func FuzzParseThresholds(f *testing.F) {
	for _, s := range []string{"0.6,0.7,0.7", "1,0,0.5", " 1e-3 , 0x1p-2,.5", "NaN,Inf,-0", ",,", "0.6,0.7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := cascade.ParseThresholds(s)
		if err != nil {
			if !errors.Is(err, cascade.ErrOptions) {
				t.Fatalf("error %v does not wrap ErrOptions", err)
			}
			return
		}
		again, err := cascade.ParseThresholds(fmt.Sprintf("%v,%v,%v", v[0], v[1], v[2]))
		hasNaN := v != v // NaN never equals itself
		if err != nil || (!hasNaN && again != v) {
			t.Fatalf("%q parsed as %v, printed and parsed again as %v (%v)", s, v, again, err)
		}
	})
}
