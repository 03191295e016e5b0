package cliflag

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
)

func TestInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		o    string
	}{
		{[]string{"a.png", "-o", "out", "b.png"}, []string{"a.png", "b.png"}, "out"},
		{[]string{"-o", "out", "a.png"}, []string{"a.png"}, "out"},
		{[]string{"a.png", "--", "-o", "b.png"}, []string{"a.png", "-o", "b.png"}, ""},
		{nil, nil, ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		o := fs.String("o", "", "")
		pos, err := Interspersed(fs, tc.args)
		if err != nil || !slices.Equal(pos, tc.pos) || *o != tc.o {
			t.Errorf("%q: positionals %q, -o %q, err %v; want %q, %q", tc.args, pos, *o, err, tc.pos, tc.o)
		}
	}
}

// TestOptions: a flag not given leaves its field zero (the cascade's
// default); one given is honoured or refused (an error wrapping
// cascade.ErrOptions), never replaced by the default.
func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   func(cascade.Options) bool
	}{
		{nil, func(o cascade.Options) bool { return o == cascade.Options{} }},
		{[]string{"-min-size", "40"}, func(o cascade.Options) bool { return o == cascade.Options{MinSize: 40} }},
		{[]string{"-factor", "0.5"}, func(o cascade.Options) bool { return o == cascade.Options{Factor: 0.5} }},
		// Explicit zeros are kept as (all but) zero, not the default
		// 0.6,0.7,0.7 that all-zero thresholds would mean.
		{[]string{"-thresholds", "0,0,0"}, func(o cascade.Options) bool {
			th := o.Thresholds
			return th != [3]float32{} && th[0] == 0 && th[1] == 0 && th[2] < 1e-30
		}},
		{[]string{"-min-size", "0"}, nil},
		{[]string{"-factor", "0"}, nil},
		{[]string{"-factor", "1"}, nil},
		{[]string{"-thresholds", "0.5"}, nil},
		{[]string{"-min-size", "abc"}, nil},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		o := AddOptions(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		got, err := o.Options()
		switch {
		case tc.ok == nil && !errors.Is(err, cascade.ErrOptions):
			t.Errorf("%q: err %v, want one wrapping cascade.ErrOptions", tc.args, err)
		case tc.ok != nil && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.ok != nil && !tc.ok(got):
			t.Errorf("%q: got %+v", tc.args, got)
		}
	}
}
