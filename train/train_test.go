package train

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/image/draw"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

func loadPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testImages writes a few variants of the repository's astronaut photo
// (public domain) into dir and labels them with the base model's
// detections.
func testImages(t testing.TB, dir string) []Image {
	t.Helper()
	src := loadPNG(t, "../testdata/astronaut.png")
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	b := src.Bounds()
	variants := []image.Image{src}
	for _, scale := range []float64{0.6, 0.8} {
		dst := image.NewRGBA(image.Rect(0, 0, int(float64(b.Dx())*scale), int(float64(b.Dy())*scale)))
		draw.BiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
		variants = append(variants, dst)
	}
	crop := image.NewRGBA(image.Rect(0, 0, 300, 280))
	draw.Draw(crop, crop.Bounds(), src, image.Pt(120, 40), draw.Src)
	variants = append(variants, crop)
	var out []Image
	for i, v := range variants {
		p := filepath.Join(dir, "img"+string(rune('a'+i))+".png")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, v); err != nil {
			t.Fatal(err)
		}
		f.Close()
		faces, err := det.Detect(context.Background(), v, cascade.Options{})
		if err != nil {
			t.Fatal(err)
		}
		im := Image{Path: p}
		for _, f := range faces {
			lm := f.Landmarks
			im.Faces = append(im.Faces, Face{Box: f.Box, Landmarks: &lm})
		}
		out = append(out, im)
	}
	return out
}

// TestZeroStepsBitIdentical checks that the training path, with no step
// taken, writes back exactly the base weights: the file is byte-identical
// to the embedded one and detects exactly the same faces.
func TestZeroStepsBitIdentical(t *testing.T) {
	base := defaultModel(t)
	m := base
	for _, k := range kinds {
		gr, err := newGraph(m, k, 2, graphOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if m, err = withParams(m, gr); err != nil {
			t.Fatal(err)
		}
	}
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, weights.Embedded()) {
		t.Fatal("weights after zero steps differ from the base model's")
	}
	back, err := weights.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	img := loadPNG(t, "../testdata/astronaut.png")
	detect := func(m *weights.Model) []cascade.Face {
		d, err := cascade.New(m)
		if err != nil {
			t.Fatal(err)
		}
		f, err := d.Detect(context.Background(), img, cascade.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	want, got := detect(base), detect(back)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("faces %v, base model %v", got, want)
	}
}

// TestTrain runs a tiny training of every net and checks what it reports
// and writes: a history with the base model's score first, checkpoints,
// provenance, a model the detector loads, and determinism under a seed.
func TestTrain(t *testing.T) {
	dir := t.TempDir()
	imgs := testImages(t, dir)
	base := defaultModel(t)
	opts := Options{Epochs: 1, BatchSize: 16, MaxSamples: 32, Seed: 7, ValFraction: 0.25,
		Provenance: map[string]string{"base": "embedded", "data": "astronaut variants"}}
	var checkpoints int
	var phases []Phase
	opts.Checkpoint = func(m *weights.Model, e Epoch) error {
		checkpoints++
		if _, err := m.MarshalBinary(); err != nil {
			t.Error(err)
		}
		return nil
	}
	opts.Progress = func(p Progress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	}
	res, err := Train(context.Background(), base, imgs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 3 || res.Val != 1 {
		t.Errorf("%d training and %d validation images, want 3 and 1", res.Images, res.Val)
	}
	if len(res.History) != 4 || res.History[0].Net != -1 || !res.History[0].Best || res.History[0].Val.Truths != 1 {
		t.Fatalf("history %+v", res.History)
	}
	for i, k := range kinds {
		e := res.History[i+1]
		if e.Net != k || e.Samples == 0 || e.Counts[Positive] == 0 || e.Counts[Negative] == 0 {
			t.Errorf("epoch of %v: %+v", k, e)
		}
	}
	if checkpoints == 0 || !slices.Contains(phases, Mining) || !slices.Contains(phases, Training) || !slices.Contains(phases, Validating) {
		t.Errorf("%d checkpoints, phases %v", checkpoints, phases)
	}
	md := res.Model.Metadata()
	if md["base"] != "embedded" || md["seed"] != "7" || md["nets"] != "pnet,rnet,onet" || md["val_ap"] == "" {
		t.Errorf("metadata %v", md)
	}
	data, err := res.Model.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m, err := weights.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cascade.New(m); err != nil {
		t.Fatal(err)
	}
}

// TestTrainDeterministic trains P-Net twice with one seed: the same bytes.
func TestTrainDeterministic(t *testing.T) {
	imgs := testImages(t, t.TempDir())
	run := func() []byte {
		res, err := Train(context.Background(), defaultModel(t), imgs,
			Options{Nets: []nets.Kind{nets.PNet}, Epochs: 1, BatchSize: 16, MaxSamples: 48, Seed: 3, ValFraction: -1})
		if err != nil {
			t.Fatal(err)
		}
		data, err := res.Model.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	a, b := run(), run()
	if !bytes.Equal(a, b) {
		t.Error("two runs with the same seed wrote different models")
	}
	if bytes.Equal(a[:len(weights.Embedded())], weights.Embedded()) {
		t.Error("training changed nothing")
	}
}

// TestTrainDiverges checks that a learning rate far too high stops with
// ErrDiverged and leaves the best model, here the base one.
func TestTrainDiverges(t *testing.T) {
	imgs := testImages(t, t.TempDir())
	base := defaultModel(t)
	res, err := Train(context.Background(), base, imgs,
		Options{Nets: []nets.Kind{nets.PNet}, Epochs: 50, BatchSize: 8, MaxSamples: 64, LearnRate: 1e4, Clip: -1, ValFraction: 0.25})
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("error %v, want ErrDiverged", err)
	}
	if res == nil || res.Model == nil {
		t.Fatal("no model after divergence")
	}
	data, _ := res.Model.MarshalBinary()
	if !bytes.HasPrefix(data, weights.Embedded()) {
		t.Error("the model kept after divergence is not the base model")
	}
}

// TestTrainBadInput checks the skipped counts and the errors of unusable
// data and options.
func TestTrainBadInput(t *testing.T) {
	dir := t.TempDir()
	imgs := testImages(t, dir)
	broken := filepath.Join(dir, "broken.png")
	os.WriteFile(broken, []byte("not an image"), 0o644)
	imgs[0].Faces = append(imgs[0].Faces, Face{Box: [4]float32{600, 600, 700, 700}}, Face{Box: [4]float32{-50, 10, -1, 40}})
	imgs = append(imgs, Image{Path: broken}, Image{Path: filepath.Join(dir, "missing.png")})
	res, err := Train(context.Background(), defaultModel(t), imgs,
		Options{Nets: []nets.Kind{nets.PNet}, Epochs: 1, BatchSize: 8, MaxSamples: 16, ValFraction: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Undecodable != 2 || res.OutsideImage != 2 {
		t.Errorf("%d undecodable images and %d boxes outside, want 2 and 2", res.Undecodable, res.OutsideImage)
	}
	if _, err := Train(context.Background(), defaultModel(t), []Image{{Path: broken}}, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("only broken images: %v, want ErrNoData", err)
	}
	for _, o := range []Options{{LearnRate: -1}, {OHEMRatio: 2}, {ValFraction: 1}, {Nets: []nets.Kind{}}, {BatchSize: -1}, {Detect: cascade.Options{Factor: 3}}} {
		if _, err := Train(context.Background(), defaultModel(t), imgs, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// TestTrainCancel checks that a cancelled run returns a usable model.
func TestTrainCancel(t *testing.T) {
	imgs := testImages(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	res, err := Train(ctx, defaultModel(t), imgs, Options{Nets: []nets.Kind{nets.PNet}, Epochs: 3, BatchSize: 8, ValFraction: 0.25,
		Progress: func(p Progress) {
			if p.Phase == Training {
				if steps++; steps == 3 {
					cancel()
				}
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if res == nil || res.Model == nil {
		t.Fatal("no model after cancellation")
	}
	if _, err := cascade.New(res.Model); err != nil {
		t.Fatal(err)
	}
}

// TestFlipSample checks that flipping twice gives the sample back and
// that the flipped targets are those of the mirrored face.
func TestFlipSample(t *testing.T) {
	c := [4]float32{10, 20, 58, 68}
	lm := [5][2]float32{{25, 35}, {45, 36}, {33, 45}, {27, 55}, {44, 56}}
	f := Face{Box: [4]float32{14, 22, 50, 66}, Landmarks: &lm}
	box, lms, _ := targets(c, f)
	s := Sample{Pixels: make([]uint8, 48*48*3), Box: box, Landmarks: lms, HasLandmarks: true}
	for i := range s.Pixels {
		s.Pixels[i] = uint8(i * 7)
	}
	orig := s
	orig.Pixels = slices.Clone(s.Pixels)
	flipSample(&s, 48)
	// The mirrored face about the crop's vertical centre line.
	mx := func(x float32) float32 { return c[0] + c[2] - x }
	mlm := [5][2]float32{{mx(lm[1][0]), lm[1][1]}, {mx(lm[0][0]), lm[0][1]}, {mx(lm[2][0]), lm[2][1]}, {mx(lm[4][0]), lm[4][1]}, {mx(lm[3][0]), lm[3][1]}}
	wantBox, wantLm, _ := targets(c, Face{Box: [4]float32{mx(f.Box[2]), f.Box[1], mx(f.Box[0]), f.Box[3]}, Landmarks: &mlm})
	near := func(a, b float32) bool { return a-b < 1e-6 && b-a < 1e-6 }
	for i := range wantBox {
		if !near(s.Box[i], wantBox[i]) {
			t.Errorf("flipped box %v, want %v", s.Box, wantBox)
			break
		}
	}
	for i := range wantLm {
		if !near(s.Landmarks[i], wantLm[i]) {
			t.Errorf("flipped landmarks %v, want %v", s.Landmarks, wantLm)
			break
		}
	}
	if s.Pixels[0] != orig.Pixels[47*3] {
		t.Error("pixels not mirrored")
	}
	flipSample(&s, 48)
	if !slices.Equal(s.Pixels, orig.Pixels) || s.Box != orig.Box {
		t.Error("flipping twice does not give the sample back")
	}
	for i := range s.Landmarks {
		if !near(s.Landmarks[i], orig.Landmarks[i]) {
			t.Errorf("landmarks flipped twice %v, want %v", s.Landmarks, orig.Landmarks)
			break
		}
	}
}

// TestMine checks the classes and targets of mined samples: positives'
// targets undo their crop's offset from the face, and the ratio holds.
func TestMine(t *testing.T) {
	imgs := testImages(t, t.TempDir())
	for _, k := range []nets.Kind{nets.PNet, nets.RNet} {
		s, err := Mine(context.Background(), defaultModel(t), k, imgs, Options{Seed: 1, NoFlip: true})
		if err != nil {
			t.Fatal(err)
		}
		c := Counts(s)
		if c[Positive] == 0 || c[Negative] == 0 || c[Part] == 0 || c[Landmark] == 0 {
			t.Fatalf("%v: counts %v", k, c)
		}
		if c[Negative] > max(3*c[Positive], 8) || c[Part] > max(c[Positive], 8) || c[Landmark] > max(2*c[Positive], 16) {
			t.Errorf("%v: counts %v break 3:1:1:2", k, c)
		}
		for _, sm := range s {
			if len(sm.Pixels) != k.InputSize()*k.InputSize()*3 {
				t.Fatalf("sample of %d bytes", len(sm.Pixels))
			}
			if sm.Class == Positive {
				for _, v := range sm.Box {
					if v < -0.5 || v > 0.5 {
						t.Errorf("%v positive with box targets %v", k, sm.Box)
						break
					}
				}
			}
		}
		again, _ := Mine(context.Background(), defaultModel(t), k, imgs, Options{Seed: 1, NoFlip: true})
		if len(again) != len(s) || !slices.Equal(again[0].Pixels, s[0].Pixels) {
			t.Errorf("%v: mining is not deterministic", k)
		}
	}
}
