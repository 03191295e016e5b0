package cascade

import (
	"context"
	"image"
	_ "image/png"
	"os"
	"reflect"
	"testing"
)

// DetectNear given exactly P-Net's proposals finds exactly what Detect
// finds: it is stages 2 and 3 of the same cascade.
func TestDetectNearIsStages2And3(t *testing.T) {
	f, err := os.Open("../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, opts := range []Options{{}, {MinSize: 40}, {MinSize: 30, Thresholds: [3]float32{0.5, 0.8, 0.9}}} {
		want, err := d.Detect(ctx, img, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 {
			t.Fatal("no face in the astronaut photo")
		}
		o := opts.withDefaults()
		sc := new(scratch)
		levels, err := pyramid(nil, img.Bounds().Dy(), img.Bounds().Dx(), o)
		if err != nil {
			t.Fatal(err)
		}
		src := newSource(img, nil)
		c, err := d.stage1(ctx, &src, levels, o.Thresholds[0], o.mode(), sc)
		if err != nil {
			t.Fatal(err)
		}
		boxes := make([][4]float32, len(c.boxes))
		for i, b := range c.boxes {
			boxes[i] = [4]float32{b[1], b[0], b[3], b[2]}
		}
		got, err := d.DetectNear(ctx, img, boxes, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: DetectNear on P-Net's %d proposals:\n got %v\nwant %v", opts, len(boxes), got, want)
		}
		// Near the faces found, it finds them again.
		near := make([][4]float32, len(want))
		for i, f := range want {
			near[i] = f.Box
		}
		again, err := d.DetectNear(ctx, img, near, opts)
		if err != nil || len(again) != len(want) {
			t.Errorf("%+v: DetectNear on the faces: %d faces, %v; want %d", opts, len(again), err, len(want))
		}
	}
	if got, err := d.DetectNear(ctx, img, nil, Options{}); err != nil || len(got) != 0 {
		t.Errorf("no boxes: %v, %v", got, err)
	}
	if _, err := d.DetectNear(ctx, img, [][4]float32{{0, 0, 10, 10}}, Options{Factor: 3}); err == nil {
		t.Error("bad options accepted")
	}
}
