package detopts_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/detopts"
)

func ptr(s string) *string { return &s }

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   detopts.Text
		want cascade.Options
		err  []string // substrings of the error; nil means no error
	}{
		{name: "absent", in: detopts.Text{}, want: cascade.Options{}},
		{name: "all given", in: detopts.Text{MinSize: ptr("40"), Factor: ptr(" 0.5 "), Thresholds: ptr("0.1, 0.2,0.3")},
			want: cascade.Options{MinSize: 40, Factor: 0.5, Thresholds: [3]float32{0.1, 0.2, 0.3}}},
		{name: "min_size 1", in: detopts.Text{MinSize: ptr("1")}, want: cascade.Options{MinSize: 1}},
		{name: "min_size 0", in: detopts.Text{MinSize: ptr("0")}, err: []string{"min_size 0 is out of range", "at least 1"}},
		{name: "min_size 0.5", in: detopts.Text{MinSize: ptr("0.5")}, err: []string{"min_size 0.5", "at least 1"}},
		{name: "min_size -3", in: detopts.Text{MinSize: ptr("-3")}, err: []string{"min_size -3", "at least 1"}},
		{name: "min_size inf", in: detopts.Text{MinSize: ptr("Inf")}, err: []string{"min_size Inf", "at least 1"}},
		{name: "min_size overflow", in: detopts.Text{MinSize: ptr("1e40")}, err: []string{"min_size 1e40 is out of range"}},
		{name: "min_size NaN", in: detopts.Text{MinSize: ptr("NaN")}, err: []string{`min_size "NaN" is not a number`}},
		{name: "min_size word", in: detopts.Text{MinSize: ptr("big")}, err: []string{`min_size "big" is not a number`}},
		{name: "min_size empty", in: detopts.Text{MinSize: ptr("")}, err: []string{`min_size "" is not a number`}},
		{name: "factor 0", in: detopts.Text{Factor: ptr("0")}, err: []string{"factor 0 is out of range", "above 0 and below 1"}},
		{name: "factor 1", in: detopts.Text{Factor: ptr("1")}, err: []string{"factor 1 is out of range", "above 0 and below 1"}},
		{name: "factor -0.5", in: detopts.Text{Factor: ptr("-0.5")}, err: []string{"factor -0.5 is out of range"}},
		{name: "factor 0.99999", in: detopts.Text{Factor: ptr("0.99999")}, want: cascade.Options{Factor: 0.99999}},
		{name: "thresholds 0,0,0 honoured", in: detopts.Text{Thresholds: ptr("0,0,0")},
			want: cascade.Options{Thresholds: [3]float32{0, 0, math.SmallestNonzeroFloat32}}},
		{name: "thresholds 0,0,0.5", in: detopts.Text{Thresholds: ptr("0,0,0.5")}, want: cascade.Options{Thresholds: [3]float32{0, 0, 0.5}}},
		{name: "thresholds two", in: detopts.Text{Thresholds: ptr("0.5,0.5")}, err: []string{"thresholds", "three comma-separated numbers", "[0, 1]"}},
		{name: "thresholds range", in: detopts.Text{Thresholds: ptr("0.5,1.5,0.5")}, err: []string{"thresholds value 2 (1.5) is out of range", "[0, 1]"}},
		{name: "thresholds negative", in: detopts.Text{Thresholds: ptr("-0.1,0.5,0.5")}, err: []string{"thresholds value 1 (-0.1)"}},
		{name: "thresholds word", in: detopts.Text{Thresholds: ptr("a,0.5,0.5")}, err: []string{`thresholds value 1 "a" is not a number`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := detopts.Parse(tc.in, detopts.Query)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if got != tc.want {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				if err := got.Validate(); err != nil {
					t.Fatalf("result does not validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, options %+v", got)
			}
			if !errors.Is(err, cascade.ErrOptions) {
				t.Errorf("error %v does not wrap cascade.ErrOptions", err)
			}
			for _, s := range tc.err {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestParseFlagNames(t *testing.T) {
	_, err := detopts.Parse(detopts.Text{MinSize: ptr("0")}, detopts.Flags)
	if err == nil || !strings.Contains(err.Error(), "-min-size 0 is out of range") {
		t.Fatalf("error %v does not name -min-size", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("20", "0.709", "0.6,0.7,0.7", uint8(7))
	f.Add("0", "0", "0,0,0", uint8(7))
	f.Add("1e40", "NaN", "1,,1", uint8(5))
	f.Add("-1", "1", " 0.5 , 0.5 , 0.5 ", uint8(3))
	f.Fuzz(func(t *testing.T, minSize, factor, thresholds string, given uint8) {
		var in detopts.Text
		if given&1 != 0 {
			in.MinSize = &minSize
		}
		if given&2 != 0 {
			in.Factor = &factor
		}
		if given&4 != 0 {
			in.Thresholds = &thresholds
		}
		o, err := detopts.Parse(in, detopts.Query)
		if err != nil {
			if !errors.Is(err, cascade.ErrOptions) {
				t.Fatalf("error %v does not wrap ErrOptions", err)
			}
			return
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("accepted options %+v do not validate: %v", o, err)
		}
		// Given values are never replaced by defaults.
		if in.MinSize != nil && o.MinSize == 0 || in.Factor != nil && o.Factor == 0 ||
			in.Thresholds != nil && o.Thresholds == [3]float32{} {
			t.Fatalf("a given value became the default: %+v from %+v", o, in)
		}
	})
}

func TestCheckImage(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		o    cascade.Options
		want string // "" for no error
	}{
		{2000, 1500, cascade.Options{}, ""},
		{2000, 1500, cascade.Options{MinSize: 1}, "min_size 1 with factor 0.709 is too small for this 2000x1500 image"},
		{2000, 1500, cascade.Options{Factor: 0.99999}, "min_size must be at least"},
		{2000, 1500, cascade.Options{MinSize: 3, Factor: 0.99}, "min_size must be at least"},
		{100, 100, cascade.Options{MinSize: 1}, ""},
	} {
		err := detopts.CheckImage(tc.w, tc.h, tc.o, detopts.Query)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%dx%d %+v: %v", tc.w, tc.h, tc.o, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, cascade.ErrOptions) || !errors.Is(err, cascade.ErrTooLarge) {
			t.Errorf("%dx%d %+v: error %v, want one saying %q", tc.w, tc.h, tc.o, err, tc.want)
			continue
		}
		m := cascade.SmallestMinSize(tc.w, tc.h, tc.o.Factor)
		if !strings.Contains(err.Error(), fmt.Sprintf("must be at least %d for this image", m)) {
			t.Errorf("error %q does not name the smallest min size %d", err, m)
		}
	}
}
