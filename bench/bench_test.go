package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/weights"
)

// randomInput returns n deterministic values in [-1, 1), the range of
// normalised pixels.
func randomInput(n int) []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	return x
}

func newNet(b *testing.B, k nets.Kind) *nets.Net {
	m, err := weights.Default()
	if err != nil {
		b.Fatal(err)
	}
	n, err := nets.New(m, k)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// benchmarkNet times one forward pass of a net on a batch of h x w inputs,
// in each arithmetic mode, and reports the achieved GFLOP/s. It runs into
// one reused Output, as the cascade does, so allocs/op is the garbage a
// steady-state pass leaves.
func benchmarkNet(b *testing.B, k nets.Kind, batch, h, w int) {
	for _, mode := range []nets.Mode{nets.Exact, nets.FMA} {
		b.Run(mode.String(), func(b *testing.B) {
			if mode == nets.FMA && !nets.FMAAvailable() {
				b.Skip("no FMA kernels here")
			}
			net := newNet(b, k)
			x := randomInput(batch * h * w * 3)
			var out nets.Output
			if err := net.RunInto(&out, x, batch, h, w, mode); err != nil { // compile the graphs
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := net.RunInto(&out, x, batch, h, w, mode); err != nil {
					b.Fatal(err)
				}
			}
			flops := float64(batch) * float64(FLOPs(k, h, w))
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// The nets at the shapes of the solvay min-size-20 run: P-Net's first
// pyramid level and the batches R-Net and O-Net get.
func BenchmarkPNet(b *testing.B) {
	l := Pyramid(SolvayH, SolvayW, 20, Factor)[0]
	benchmarkNet(b, nets.PNet, 1, l[0], l[1])
}

func BenchmarkRNet(b *testing.B) { benchmarkNet(b, nets.RNet, SolvayRNetBatch, 24, 24) }

func BenchmarkONet(b *testing.B) { benchmarkNet(b, nets.ONet, SolvayONetBatch, 48, 48) }

// BenchmarkPNetPyramid runs P-Net on every level of the solvay min-size-20
// pyramid (11 levels), as one detection does.
func BenchmarkPNetPyramid(b *testing.B) {
	net := newNet(b, nets.PNet)
	levels := Pyramid(SolvayH, SolvayW, 20, Factor)
	x := randomInput(levels[0][0] * levels[0][1] * 3)
	var out nets.Output
	var flops float64
	for _, l := range levels {
		if err := net.RunInto(&out, x[:l[0]*l[1]*3], 1, l[0], l[1], nets.Exact); err != nil {
			b.Fatal(err)
		}
		flops += float64(FLOPs(nets.PNet, l[0], l[1]))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, l := range levels {
			if err := net.RunInto(&out, x[:l[0]*l[1]*3], 1, l[0], l[1], nets.Exact); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// loadCase returns the image of an end-to-end case.
func loadCase(b *testing.B, c Case) image.Image {
	name := c.Image
	if name == SmallName {
		name = SmallSource
	}
	img, err := LoadPNG(testenv.Path(b, "testdata", "images", name))
	if err != nil {
		b.Fatal(err)
	}
	if c.Image == SmallName {
		return Small(img)
	}
	return img
}

// BenchmarkDetect is the whole cascade, decoded image to faces.
func BenchmarkDetect(b *testing.B) {
	for _, c := range Cases {
		b.Run(c.Name, func(b *testing.B) {
			img := loadCase(b, c)
			det, err := cascade.NewDefault()
			if err != nil {
				b.Fatal(err)
			}
			opts := cascade.Options{MinSize: c.MinSize}
			faces, err := det.Detect(context.Background(), img, opts)
			if err != nil {
				b.Fatal(err)
			}
			if c.Want >= 0 && len(faces) != c.Want {
				b.Fatalf("%s: %d faces, want %d", c.Name, len(faces), c.Want)
			}
			// Warm up as a server does: pyramid levels go to whichever
			// worker is free, so each worker's buffers reach their size
			// over a few runs. allocs/op is then the steady state's.
			for range 6 {
				if _, err := det.Detect(context.Background(), img, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := det.Detect(context.Background(), img, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(faces)), "faces")
		})
	}
}

// buildCLI builds cmd/mtcnn into a temporary folder and returns its path.
func buildCLI(b *testing.B) string {
	b.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		b.Skip("go command not found; cannot build cmd/mtcnn")
	}
	bin := filepath.Join(b.TempDir(), "mtcnn")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/mtcnn-go/mtcnn/cmd/mtcnn")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building cmd/mtcnn: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkColdStart is process start to first result: one run of
// "mtcnn detect -json hopper_gray.png" (128x128, one face) per iteration,
// with the binary built once beforehand.
func BenchmarkColdStart(b *testing.B) {
	img := testenv.Path(b, "testdata", "images", "hopper_gray.png")
	bin := buildCLI(b)
	run := func() {
		var out bytes.Buffer
		cmd := exec.Command(bin, "detect", "-json", img)
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			b.Fatalf("%v: %v", cmd, err)
		}
		var res struct{ Faces []json.RawMessage }
		if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Faces) != 1 {
			b.Fatalf("unexpected output %q (%v)", out.String(), err)
		}
	}
	run() // warm the page cache
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}

// TestShapes checks the shapes and operation counts the benchmarks and the
// comparison program assume against a real solvay min-size-20 run.
func TestShapes(t *testing.T) {
	levels := Pyramid(SolvayH, SolvayW, 20, Factor)
	if len(levels) != 11 || levels[0] != [2]int{396, 576} {
		t.Fatalf("solvay pyramid: %v, want 11 levels from 396x576", levels)
	}
	var p int64
	for _, l := range levels {
		p += FLOPs(nets.PNet, l[0], l[1])
	}
	for _, c := range []struct {
		name      string
		got       int64
		want, tol float64
	}{
		{"P-Net pyramid", p, 1.58e9, 0.005e9},
		{"R-Net crop", FLOPs(nets.RNet, 24, 24), 3.06e6, 0.005e6},
		{"O-Net crop", FLOPs(nets.ONet, 48, 48), 25.8e6, 0.05e6},
	} {
		if d := float64(c.got) - c.want; d > c.tol || d < -c.tol {
			t.Errorf("%s: %d FLOPs, want about %g", c.name, c.got, c.want)
		}
	}

	img, err := LoadPNG(testenv.Path(t, "testdata", "images", "solvay.png"))
	if err != nil {
		t.Fatal(err)
	}
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	faces, st, err := det.DetectStats(context.Background(), img, cascade.Options{MinSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	if st.Candidates[0] != SolvayRNetBatch || st.Candidates[1] != SolvayONetBatch || len(faces) != 29 {
		t.Errorf("solvay min20: R-Net batch %d, O-Net batch %d, %d faces; want %d, %d, 29",
			st.Candidates[0], st.Candidates[1], len(faces), SolvayRNetBatch, SolvayONetBatch)
	}
}

// TestSmall checks that the 320x240 image is 320x240 and has faces.
func TestSmall(t *testing.T) {
	src, err := LoadPNG(testenv.Path(t, "testdata", "images", SmallSource))
	if err != nil {
		t.Fatal(err)
	}
	img := Small(src)
	if img.Bounds() != image.Rect(0, 0, 320, 240) {
		t.Fatalf("Small: bounds %v", img.Bounds())
	}
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	faces, err := det.Detect(context.Background(), img, cascade.Options{MinSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d faces", SmallName, len(faces))
	if len(faces) == 0 {
		t.Error("no faces in the 320x240 image")
	}
}
