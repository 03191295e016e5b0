package onnxmodel

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	_ "image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/nets"
)

// The ONNX Runtime check: the exported files, and torch-style files built
// by the tests, run in ONNX Runtime (npm onnxruntime-node, driven by
// testdata/ort/run.js) and must give the nets' outputs within ortTol.

const ortTol = 1e-5

const ortDir = "testdata/ort"

const ortInstall = "'npm ci --ignore-scripts --prefix onnxmodel/testdata/ort' run from the module root"

// ortNode returns the node binary, skipping the test when node or the npm
// package is missing, or failing under CI=true.
func ortNode(t *testing.T) string {
	t.Helper()
	unavailable := func(msg string) {
		t.Helper()
		msg = "ONNX Runtime check unavailable: " + msg + "; install with " + ortInstall
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node (Node.js 20 or later) not found on PATH")
	}
	if _, err := os.Stat(filepath.Join(ortDir, "node_modules", "onnxruntime-node", "package.json")); err != nil {
		unavailable("onnxruntime-node is not installed")
	}
	return node
}

// ortInput is one input tensor.
type ortInput struct {
	dims []int
	data []float32
}

// ortRun is one model run.
type ortRun struct {
	model  string
	inputs map[string]ortInput
}

// ortOutput is one output tensor.
type ortOutput struct {
	dims []int
	data []float32
}

// runORT runs the models in ONNX Runtime and returns each run's outputs by
// name.
func runORT(t *testing.T, runs []ortRun) []map[string]ortOutput {
	t.Helper()
	node := ortNode(t)
	dir := t.TempDir()
	type inSpec struct {
		Dims []int  `json:"dims"`
		File string `json:"file"`
	}
	type runSpec struct {
		Model  string            `json:"model"`
		Inputs map[string]inSpec `json:"inputs"`
		Prefix string            `json:"prefix"`
	}
	var job struct {
		Runs []runSpec `json:"runs"`
	}
	for i, r := range runs {
		rs := runSpec{Model: r.model, Inputs: map[string]inSpec{}, Prefix: filepath.Join(dir, fmt.Sprintf("out%d", i))}
		for name, in := range r.inputs {
			file := filepath.Join(dir, fmt.Sprintf("in%d.%s.f32", i, name))
			writeF32(t, file, in.data)
			rs.Inputs[name] = inSpec{Dims: in.dims, File: file}
		}
		job.Runs = append(job.Runs, rs)
	}
	jobFile := filepath.Join(dir, "job.json")
	data, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jobFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(ortDir, "run.js"), jobFile)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node run.js: %v\n%s", err, stderr.String())
	}
	var summary []map[string]struct {
		Dims []int  `json:"dims"`
		File string `json:"file"`
	}
	if err := json.Unmarshal(stdout, &summary); err != nil {
		t.Fatalf("run.js output: %v: %q", err, stdout)
	}
	out := make([]map[string]ortOutput, len(summary))
	for i, s := range summary {
		out[i] = map[string]ortOutput{}
		for name, o := range s {
			out[i][name] = ortOutput{dims: o.Dims, data: readF32(t, o.File)}
		}
	}
	return out
}

func writeF32(t *testing.T, path string, v []float32) {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// batch is a net input: pixel values 0..255 in NHWC BGR order.
type batch struct {
	name    string
	n, h, w int
	pix     []uint8
}

// normalised returns the nets' input, (p-127.5)/128.
func (b batch) normalised() []float32 {
	out := make([]float32, len(b.pix))
	for i, p := range b.pix {
		out[i] = (float32(p) - 127.5) / 128
	}
	return out
}

// nchw returns the ONNX input for a style: NCHW (or NHWC), BGR or RGB,
// normalised or raw pixels.
func (b batch) onnxInput(st torchStyle) ortInput {
	norm := b.normalised()
	out := make([]float32, len(norm))
	for n := range b.n {
		for y := range b.h {
			for x := range b.w {
				for c := range 3 {
					src := ((n*b.h+y)*b.w+x)*3 + c
					dc := c
					if st.rgb {
						dc = 2 - c
					}
					dst := ((n*3+dc)*b.h+y)*b.w + x
					if st.nhwc {
						dst = ((n*b.h+y)*b.w+x)*3 + dc
					}
					out[dst] = norm[src]
					if st.raw {
						out[dst] = float32(b.pix[src])
					}
				}
			}
		}
	}
	dims := []int{b.n, 3, b.h, b.w}
	if st.nhwc {
		dims = []int{b.n, b.h, b.w, 3}
	}
	return ortInput{dims: dims, data: out}
}

func randomBatch(rng *rand.Rand, n, h, w int) batch {
	b := batch{name: fmt.Sprintf("random %dx%dx%d", n, h, w), n: n, h: h, w: w, pix: make([]uint8, n*h*w*3)}
	for i := range b.pix {
		b.pix[i] = uint8(rng.IntN(256))
	}
	return b
}

// imageBatches returns real inputs cut from a reference image: for P-Net the
// image subsampled to about 100 pixels on its short side, for R-Net and
// O-Net squares at several places and sizes resized by nearest neighbour.
func imageBatches(t *testing.T, k nets.Kind) []batch {
	t.Helper()
	shared := testenv.Shared(t)
	paths, _ := filepath.Glob(filepath.Join(shared, "testdata", "images", "*.png"))
	if len(paths) == 0 {
		t.Fatal("no reference images")
	}
	var out []batch
	for _, p := range paths[:min(2, len(paths))] {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		r := img.Bounds()
		at := func(x, y int) (uint8, uint8, uint8) {
			c := color.NRGBAModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA)
			return c.B, c.G, c.R
		}
		if k == nets.PNet {
			step := max(1, min(r.Dx(), r.Dy())/101)
			h, w := r.Dy()/step, r.Dx()/step
			b := batch{name: filepath.Base(p), n: 1, h: h, w: w, pix: make([]uint8, h*w*3)}
			for y := range h {
				for x := range w {
					i := (y*w + x) * 3
					b.pix[i], b.pix[i+1], b.pix[i+2] = at(x*step, y*step)
				}
			}
			out = append(out, b)
			continue
		}
		size := k.InputSize()
		var crops [][3]int // x, y, side
		for side := min(r.Dx(), r.Dy()) / 4; side <= min(r.Dx(), r.Dy()); side *= 2 {
			for x := 0; x+side <= r.Dx(); x += max(side/2, 1) {
				for y := 0; y+side <= r.Dy(); y += max(side/2, 1) {
					crops = append(crops, [3]int{x, y, side})
				}
			}
		}
		b := batch{name: filepath.Base(p), n: len(crops), h: size, w: size, pix: make([]uint8, len(crops)*size*size*3)}
		for n, c := range crops {
			for y := range size {
				for x := range size {
					i := ((n*size+y)*size + x) * 3
					b.pix[i], b.pix[i+1], b.pix[i+2] = at(c[0]+x*c[2]/size, c[1]+y*c[2]/size)
				}
			}
		}
		out = append(out, b)
	}
	return out
}

// compareORT compares ONNX Runtime's outputs of a style with the nets'
// output, undoing the style's output order, and returns the largest
// difference. A ceil-mode P-Net's extra edge cells are skipped.
func compareORT(t *testing.T, k nets.Kind, st torchStyle, b batch, got map[string]ortOutput, want *nets.Output) float64 {
	t.Helper()
	worst := 0.0
	check := func(what string, g, w float32) {
		d := math.Abs(float64(g - w))
		if !(d <= ortTol) {
			t.Errorf("%s: ONNX Runtime %v, nets %v (diff %.3g)", what, g, w, d)
		}
		worst = max(worst, d)
	}
	prob, reg, lm := got["prob"], got["reg"], got["landmarks"]
	if prob.data == nil || reg.data == nil || (k == nets.ONet) != (lm.data != nil) {
		t.Fatalf("outputs %v", keys(got))
	}
	oh, ow := 1, 1
	if k == nets.PNet {
		if len(prob.dims) != 4 {
			t.Fatalf("prob dims %v", prob.dims)
		}
		oh, ow = prob.dims[2], prob.dims[3]
		eh, ew := want.H, want.W
		if st.ceil {
			// Ceil-mode pooling adds a cell when conv1's output is odd.
			eh, ew = eh+(b.h-2)%2, ew+(b.w-2)%2
		}
		if oh != eh || ow != ew {
			t.Fatalf("P-Net output %dx%d, want %dx%d (nets %dx%d)", oh, ow, eh, ew, want.H, want.W)
		}
	}
	src4, src10 := []int{0, 1, 2, 3}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if st.xy {
		src4, src10 = []int{1, 0, 3, 2}, []int{5, 6, 7, 8, 9, 0, 1, 2, 3, 4}
	}
	for n := range want.N {
		for y := range want.H {
			for x := range want.W {
				cell := (n*want.H+y)*want.W + x
				at := func(c, nc int) int { return ((n*nc+c)*oh+y)*ow + x }
				where := fmt.Sprintf("item %d cell %d,%d", n, y, x)
				check(where+" prob", prob.data[at(1, 2)], want.Prob[cell])
				check(where+" prob[0]+prob[1]-1", prob.data[at(0, 2)]+prob.data[at(1, 2)]-1, 0)
				for c := range 4 {
					// ONNX channel c holds our channel src4[c].
					check(fmt.Sprintf("%s reg %d", where, c), reg.data[at(c, 4)], want.Reg[cell*4+src4[c]])
				}
				if k == nets.ONet {
					for c := range 10 {
						check(fmt.Sprintf("%s landmark %d", where, c), lm.data[n*10+c], want.Landmarks[n*10+src10[c]])
					}
				}
			}
		}
	}
	return worst
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestONNXRuntime runs the exported nets, and the torch-style variants,
// in ONNX Runtime on random and real inputs and compares with the nets.
func TestONNXRuntime(t *testing.T) {
	ortNode(t)
	m := defaultModel(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := map[nets.Kind][]batch{
		nets.PNet: {randomBatch(rng, 1, 12, 12), randomBatch(rng, 1, 13, 17), randomBatch(rng, 1, 31, 24), randomBatch(rng, 1, 75, 100)},
		nets.RNet: {randomBatch(rng, 1, 24, 24), randomBatch(rng, 7, 24, 24)},
		nets.ONet: {randomBatch(rng, 1, 48, 48), randomBatch(rng, 5, 48, 48)},
	}
	var real bool
	t.Run("real-inputs", func(t *testing.T) {
		for _, k := range allKinds {
			inputs[k] = append(inputs[k], imageBatches(t, k)...)
		}
		real = true
	})
	styles := append([]torchStyle{{name: "export"}}, torchStyles...)
	type pending struct {
		st torchStyle
		k  nets.Kind
		b  batch
	}
	var runs []ortRun
	var what []pending
	for i, st := range styles {
		if st.slope == "C" {
			continue // not valid ONNX broadcasting; import-only
		}
		for _, k := range allKinds {
			var data []byte
			var err error
			if i == 0 {
				data, err = Encode(m, k)
				if err != nil {
					t.Fatal(err)
				}
			} else {
				data = st.build(t, m, k)
			}
			path := filepath.Join(dir, st.name+"-"+FileName(k))
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			inName := "input"
			if i > 0 {
				inName = "x"
			}
			for _, b := range inputs[k] {
				runs = append(runs, ortRun{model: path, inputs: map[string]ortInput{inName: b.onnxInput(st)}})
				what = append(what, pending{st, k, b})
			}
		}
	}
	outs := runORT(t, runs)
	if len(outs) != len(runs) {
		t.Fatalf("%d results for %d runs", len(outs), len(runs))
	}
	worst := map[string]float64{}
	for i, p := range what {
		net, err := nets.New(m, p.k)
		if err != nil {
			t.Fatal(err)
		}
		want, err := net.Run(p.b.normalised(), p.b.n, p.b.h, p.b.w)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("%s/%v/%s", p.st.name, p.k, p.b.name), func(t *testing.T) {
			d := compareORT(t, p.k, p.st, p.b, outs[i], want)
			key := fmt.Sprintf("%s %v", p.st.name, p.k)
			worst[key] = max(worst[key], d)
		})
	}
	for _, st := range styles {
		for _, k := range allKinds {
			if d, ok := worst[fmt.Sprintf("%s %v", st.name, k)]; ok {
				t.Logf("%-28s %v: max abs diff %.3g", st.name, k, d)
			}
		}
	}
	if !real {
		t.Log("real inputs skipped (no shared folder)")
	}
}
