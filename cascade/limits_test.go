package cascade

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPyramidPixelsMatchesPyramid(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		o    Options
	}{
		{640, 480, Options{}},
		{1200, 800, Options{MinSize: 12, Factor: 0.5}},
		{13, 400, Options{MinSize: 12}},
		{8000, 5500, Options{}},
	} {
		levels, err := pyramid(nil, tc.h, tc.w, tc.o.withDefaults())
		if err != nil {
			t.Fatal(err)
		}
		var want, largest int64
		for _, l := range levels {
			want += int64(l.h) * int64(l.w)
			largest = max(largest, int64(l.h)*int64(l.w))
		}
		gotTotal, gotLargest := PyramidPixels(tc.w, tc.h, tc.o)
		if gotTotal != want || gotLargest != largest {
			t.Errorf("%dx%d %+v: PyramidPixels = %d, %d; pyramid gives %d, %d", tc.w, tc.h, tc.o, gotTotal, gotLargest, want, largest)
		}
	}
}

func TestSmallestMinSize(t *testing.T) {
	for _, tc := range []struct {
		w, h   int
		factor float32
	}{
		{2000, 1500, 0},
		{2000, 1500, 0.99},
		{2000, 1500, 0.99999},
		{60000, 833, 0},
		{8000, 5500, 0.709},
		{100, 100, 0}, // everything fits: 1
	} {
		t.Run(fmt.Sprintf("%dx%d@%v", tc.w, tc.h, tc.factor), func(t *testing.T) {
			m := SmallestMinSize(tc.w, tc.h, tc.factor)
			if m < 1 || m > min(tc.w, tc.h) {
				t.Fatalf("SmallestMinSize = %d", m)
			}
			o := Options{MinSize: float32(m), Factor: tc.factor}
			if err := CheckPyramid(tc.w, tc.h, o); err != nil {
				t.Fatalf("min size %d: %v", m, err)
			}
			if _, err := pyramid(nil, tc.h, tc.w, o.withDefaults()); err != nil {
				t.Fatalf("min size %d: Detect's pyramid refuses it: %v", m, err)
			}
			if m == 1 {
				return
			}
			o.MinSize = float32(m - 1)
			err := CheckPyramid(tc.w, tc.h, o)
			if !errors.Is(err, ErrOptions) || !errors.Is(err, ErrTooLarge) {
				t.Fatalf("min size %d: error %v", m-1, err)
			}
			if want := fmt.Sprintf("smallest usable min size for this image at this factor is %d", m); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if _, err := pyramid(nil, tc.h, tc.w, o.withDefaults()); !errors.Is(err, ErrTooLarge) {
				t.Errorf("min size %d: Detect's pyramid accepts it (%v) but CheckPyramid refuses it", m-1, err)
			}
		})
	}
}

func TestSmallestMinSizeBadInput(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		f    float32
	}{{0, 10, 0}, {10, -1, 0}, {10, 10, 1}, {10, 10, -0.5}} {
		if m := SmallestMinSize(tc.w, tc.h, tc.f); m != 0 {
			t.Errorf("SmallestMinSize(%d, %d, %v) = %d, want 0", tc.w, tc.h, tc.f, m)
		}
	}
	if err := CheckPyramid(100, 100, Options{Factor: 2}); !errors.Is(err, ErrOptions) {
		t.Errorf("CheckPyramid with factor 2: %v", err)
	}
}

func FuzzSmallestMinSize(f *testing.F) {
	f.Add(uint16(2000), uint16(1500), float32(0.709))
	f.Add(uint16(60000), uint16(833), float32(0.99999))
	f.Add(uint16(13), uint16(1), float32(0.1))
	f.Fuzz(func(t *testing.T, w, h uint16, factor float32) {
		m := SmallestMinSize(int(w), int(h), factor)
		if w == 0 || h == 0 || !(factor >= 0 && factor < 1) {
			if m != 0 {
				t.Fatalf("SmallestMinSize = %d for invalid input", m)
			}
			return
		}
		if m < 1 || m > max(min(int(w), int(h)), 1) {
			t.Fatalf("SmallestMinSize(%d, %d, %v) = %d", w, h, factor, m)
		}
		if err := CheckPyramid(int(w), int(h), Options{MinSize: float32(m), Factor: factor}); err != nil {
			t.Fatalf("the smallest usable min size %d is refused: %v", m, err)
		}
	})
}
