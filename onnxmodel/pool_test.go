package onnxmodel

import (
	"errors"
	"testing"

	"github.com/mtcnn-go/mtcnn/nets"
)

// TestCheckPool compares ONNX MaxPool settings with the reference's pools
// at the sizes each net sees.
func TestCheckPool(t *testing.T) {
	pool := func(k, s int, pads [4]int, autoPad string, ceil bool) poolAttrs {
		if autoPad == "" {
			autoPad = "NOTSET"
		}
		return poolAttrs{k: [2]int{k, k}, s: [2]int{s, s}, padB: [2]int{pads[0], pads[1]}, padE: [2]int{pads[2], pads[3]},
			autoPad: autoPad, ceil: ceil, description: "test"}
	}
	cases := []struct {
		name string
		kind nets.Kind
		step int // index of the pool in the arch's steps
		p    poolAttrs
		want string // "ok", "note" or "unsupported"
	}{
		{"p-valid", nets.PNet, 1, pool(2, 2, [4]int{}, "", false), "ok"},
		{"p-auto-valid", nets.PNet, 1, pool(2, 2, [4]int{}, "VALID", false), "ok"},
		{"p-ceil", nets.PNet, 1, pool(2, 2, [4]int{}, "", true), "note"},
		{"p-same-upper", nets.PNet, 1, pool(2, 2, [4]int{}, "SAME_UPPER", false), "note"},
		{"p-padded-front", nets.PNet, 1, pool(2, 2, [4]int{1, 1, 0, 0}, "", false), "unsupported"},
		{"p-stride-1", nets.PNet, 1, pool(2, 1, [4]int{}, "", false), "unsupported"},
		{"r-pool1-ceil", nets.RNet, 1, pool(3, 2, [4]int{}, "", true), "ok"},
		{"r-pool1-pads", nets.RNet, 1, pool(3, 2, [4]int{0, 0, 1, 1}, "", false), "ok"},
		{"r-pool1-same-upper", nets.RNet, 1, pool(3, 2, [4]int{}, "SAME_UPPER", false), "ok"},
		{"r-pool1-same-lower", nets.RNet, 1, pool(3, 2, [4]int{}, "SAME_LOWER", false), "unsupported"},
		{"r-pool1-floor", nets.RNet, 1, pool(3, 2, [4]int{}, "", false), "unsupported"},
		{"r-pool1-both-sides", nets.RNet, 1, pool(3, 2, [4]int{1, 1, 1, 1}, "", false), "unsupported"},
		{"r-pool2-ceil", nets.RNet, 3, pool(3, 2, [4]int{}, "", true), "ok"},
		{"r-pool2-floor", nets.RNet, 3, pool(3, 2, [4]int{}, "", false), "ok"},
		{"o-pool1-ceil", nets.ONet, 1, pool(3, 2, [4]int{}, "", true), "ok"},
		{"o-pool2-ceil", nets.ONet, 3, pool(3, 2, [4]int{}, "", true), "ok"},
		{"o-pool3-ceil", nets.ONet, 5, pool(2, 2, [4]int{}, "", true), "ok"},
		{"o-pool3-3x3", nets.ONet, 5, pool(3, 2, [4]int{}, "", true), "unsupported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := archOf(tc.kind)
			sizes, _ := a.spatial(tc.kind.InputSize())
			note, err := checkPool(&layer{typ: lPool, node: "pool", pool: tc.p}, a.steps[tc.step], tc.kind, sizes[tc.step])
			got := "ok"
			switch {
			case errors.Is(err, ErrUnsupported):
				got = "unsupported"
			case err != nil:
				t.Fatal(err)
			case note != "":
				got = "note"
			}
			if got != tc.want {
				t.Errorf("got %s (%v %q), want %s", got, err, note, tc.want)
			}
		})
	}
}
