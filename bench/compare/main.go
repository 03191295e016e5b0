// Command compare measures this project's detector against PyTorch and ONNX
// Runtime running the same cascade with the same weights, on the same
// images with the same options and thread count, and prints one table.
//
//	go run ./bench/compare [-runs 7] [-threads 2]
//
// Contenders:
//
//   - go: cascade.Detector in this process (GOMAXPROCS = -threads).
//   - torch: bench/torch/mtcnn_torch.py under -python (Debian's
//     python3-torch), nets built from the embedded weights file,
//     torch.set_num_threads(-threads).
//   - ort: bench/ort/mtcnn_ort.mjs under node with npm onnxruntime-node
//     (intraOpNumThreads = -threads), nets from the ONNX files of
//     onnxmodel.WriteDir (what mtcnn export-onnx writes).
//
// The scripts run as servers that answer one detection per request, so
// every run of every contender is interleaved with the others': for each
// of -runs rounds, each image is detected once by each contender (in a
// rotating order), timed from decoded pixels in memory to faces. The table
// shows medians, the ratios go/other (below 1: this project is faster) and
// the face counts. Cold start (process start to first result on
// hopper_gray.png: the CLI binary, or the script with its runtime, in a new
// process) and peak RSS (VmHWM of a process detecting on the 1920x1080
// image, from /usr/bin/time -f %M or /proc) are rows of the same table.
// Below it, the machine's fp32 FMA peak (a register-only FMA loop in
// assembly on every core) and the GFLOP/s our nets reach at the shapes of
// the solvay min-size-20 run, each net run into one reused Output as the
// cascade runs it.
//
// A contender that is not installed is reported as unavailable, with the
// command that installs it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mtcnn-go/mtcnn/bench"
	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/shared"
	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/onnxmodel"
	"github.com/mtcnn-go/mtcnn/weights"
)

const (
	torchInstall = "apt-get install -y python3-torch python3-numpy"
	ortInstall   = "npm ci --ignore-scripts --prefix bench/ort"
	coldImage    = "hopper_gray.png"
	// settle is the pause before each measured run, so that the worker
	// threads of the previous contender (OpenMP, ORT's pool) stop spinning.
	settle   = 50 * time.Millisecond
	rssImage = "road_1080p.png"
)

type config struct {
	runs, threads int
	python, node  string
	shared, root  string
	only          map[string]bool
	stat          string // "median" or "min"
}

// summary is the statistic the table reports.
func (c config) summary(v []float64) float64 {
	if c.stat == "min" && len(v) > 0 {
		return slices.Min(v)
	}
	return median(v)
}

func main() {
	var c config
	var only string
	flag.IntVar(&c.runs, "runs", 7, "measured runs per contender and case (medians are reported)")
	flag.IntVar(&c.threads, "threads", 2, "threads per contender (GOMAXPROCS, torch.set_num_threads, ORT intraOpNumThreads)")
	flag.StringVar(&c.python, "python", "/usr/bin/python3", "Python with torch and numpy")
	flag.StringVar(&c.node, "node", "node", "Node.js binary")
	flag.StringVar(&c.shared, "shared", "", "shared ground-truth folder (default $MTCNN_SHARED or ../shared beside the module)")
	flag.StringVar(&only, "only", "go,go-fma,torch,ort", "contenders to run, comma-separated")
	flag.StringVar(&c.stat, "stat", "median", "statistic of the runs to report: median, or min (best run, for a noisy machine)")
	flag.Parse()
	if c.runs < 1 || c.threads < 1 {
		fatal(errors.New("-runs and -threads must be at least 1"))
	}
	if c.stat != "median" && c.stat != "min" {
		fatal(errors.New("-stat must be median or min"))
	}
	c.only = map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		c.only[strings.TrimSpace(s)] = true
	}
	runtime.GOMAXPROCS(c.threads)
	root, err := shared.ModuleRoot()
	if err != nil {
		fatal(err)
	}
	c.root = root
	if c.shared == "" {
		if c.shared, err = shared.Dir(); err != nil {
			fatal(err)
		}
	}
	if err := run(c, os.Stdout); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(1)
}

func progress(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// item is one end-to-end case with its pixels.
type item struct {
	bench.Case
	img  image.Image
	rgb  string // raw RGB file
	w, h int
}

// result is one contender's detection.
type result struct {
	ms    float64
	faces []cascade.Face
}

// contender runs detections, in this process or in a server process.
type contender struct {
	name, title string
	version     string
	err         error // unavailable
	install     string
	detect      func(it *item) (result, error)
	oneShot     func(it *item) []string // command line of a one-shot detection
	close       func()
}

func run(c config, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "mtcnn-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	loadBefore := loadAvg()

	items, err := loadItems(c, tmp)
	if err != nil {
		return err
	}
	hopper, err := addImage(c, tmp, bench.Case{Name: "cold", Image: coldImage, MinSize: 20, Want: 1})
	if err != nil {
		return err
	}
	road, err := addImage(c, tmp, bench.Case{Name: "rss", Image: rssImage, MinSize: 20, Want: 0})
	if err != nil {
		return err
	}

	// The model files the other contenders read.
	wfile := filepath.Join(tmp, "mtcnn.weights")
	if err := os.WriteFile(wfile, weights.Embedded(), 0o644); err != nil {
		return err
	}
	model, err := weights.Default()
	if err != nil {
		return err
	}
	onnxDir := filepath.Join(tmp, "onnx")
	if err := onnxmodel.WriteDir(model, onnxDir); err != nil {
		return err
	}

	progress("building cmd/mtcnn ...")
	bin, buildErr := buildCLI(c.root, tmp)

	all := []*contender{goContender(c, bin, buildErr, false), goContender(c, bin, buildErr, true), torchContender(c, wfile), ortContender(c, onnxDir)}
	var cs []*contender
	for _, k := range all {
		if !c.only[k.name] {
			continue
		}
		cs = append(cs, k)
		if k.close != nil {
			defer k.close()
		}
	}

	// Warm-up: one detection of every case by every contender.
	for _, it := range items {
		for _, k := range cs {
			if k.err != nil {
				continue
			}
			if _, err := k.detect(it); err != nil {
				k.err = err
			}
		}
	}

	// Interleaved runs.
	times := map[string]map[string][]float64{} // contender -> case -> ms
	faces := map[string]map[string][]cascade.Face{}
	for _, k := range cs {
		times[k.name], faces[k.name] = map[string][]float64{}, map[string][]cascade.Face{}
	}
	for r := range c.runs {
		for _, it := range items {
			line := fmt.Sprintf("run %d/%d %-26s", r+1, c.runs, it.Name)
			for i := range cs {
				k := cs[(i+r)%len(cs)]
				if k.err != nil {
					continue
				}
				time.Sleep(settle)
				res, err := k.detect(it)
				if err != nil {
					k.err = err
					continue
				}
				times[k.name][it.Name] = append(times[k.name][it.Name], res.ms)
				faces[k.name][it.Name] = res.faces
			}
			for _, k := range cs {
				if v := times[k.name][it.Name]; len(v) > r {
					line += fmt.Sprintf(" %s %8.1f ms", k.name, v[r])
				}
			}
			progress("%s", line)
		}
	}

	// Cold start and peak RSS, each contender's process in turn.
	cold := map[string][]float64{}
	rss := map[string][]float64{}
	coldErr := map[string]error{}
	for r := range c.runs {
		for i := range cs {
			k := cs[(i+r)%len(cs)]
			if k.err != nil || k.oneShot == nil || coldErr[k.name] != nil {
				continue
			}
			d, err := firstResult(k.oneShot(hopper))
			if err != nil {
				coldErr[k.name] = err
				continue
			}
			cold[k.name] = append(cold[k.name], d.Seconds()*1e3)
			progress("cold start %d/%d %s %.1f ms", r+1, c.runs, k.name, d.Seconds()*1e3)
		}
	}
	for r := range min(c.runs, 3) {
		for i := range cs {
			k := cs[(i+r)%len(cs)]
			if k.err != nil || k.oneShot == nil || coldErr[k.name] != nil {
				continue
			}
			kib, err := peakRSS(k.oneShot(road))
			if err != nil {
				coldErr[k.name] = err
				continue
			}
			rss[k.name] = append(rss[k.name], float64(kib)/1024)
			progress("peak RSS %d/%d %s %.1f MiB", r+1, min(c.runs, 3), k.name, float64(kib)/1024)
		}
	}

	// FMA peak and the nets' GFLOP/s, interleaved.
	var netRows []netRow
	var peak []float64
	var peakName string
	if c.only["go"] {
		progress("measuring FMA peak and the nets ...")
		netRows, peak, peakName, err = measureNets(c)
		if err != nil {
			return err
		}
	}

	printReport(out, c, cs, items, times, faces, cold, rss, coldErr, netRows, peak, peakName, loadBefore+" -> "+loadAvg())
	return nil
}

func loadItems(c config, tmp string) ([]*item, error) {
	var items []*item
	for _, bc := range bench.Cases {
		it, err := addImage(c, tmp, bc)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// addImage loads a case's image (making the 320x240 one) and writes its raw
// RGB pixels for the scripts.
func addImage(c config, tmp string, bc bench.Case) (*item, error) {
	name := bc.Image
	if name == bench.SmallName {
		name = bench.SmallSource
	}
	path := filepath.Join(c.shared, "testdata", "images", name)
	img, err := bench.LoadPNG(path)
	if err != nil {
		return nil, fmt.Errorf("%w (set -shared or MTCNN_SHARED to the shared folder)", err)
	}
	if bc.Image == bench.SmallName {
		img = bench.Small(img)
	}
	it := &item{Case: bc, img: img, w: img.Bounds().Dx(), h: img.Bounds().Dy()}
	it.rgb = filepath.Join(tmp, strings.TrimSuffix(filepath.Base(bc.Image), ".png")+".rgb")
	return it, os.WriteFile(it.rgb, bench.RGB(img), 0o644)
}

func buildCLI(root, tmp string) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("go command not found")
	}
	bin := filepath.Join(tmp, "mtcnn")
	cmd := exec.Command(gobin, "build", "-o", bin, "./cmd/mtcnn")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building cmd/mtcnn: %v: %s", err, bytes.TrimSpace(out))
	}
	return bin, nil
}

// goContender is this project, with exact arithmetic or, as "go-fma", with
// fused multiply-add (cascade.Options.FMA, the CLI's -fma).
func goContender(c config, bin string, buildErr error, fma bool) *contender {
	k := &contender{name: "go", title: "this project (Go)", version: runtime.Version()}
	if fma {
		k.name, k.title = "go-fma", "this project (Go), fused multiply-add"
	}
	det, err := cascade.NewDefault()
	if err != nil {
		k.err = err
		return k
	}
	k.detect = func(it *item) (result, error) {
		t0 := time.Now()
		faces, err := det.Detect(context.Background(), it.img, cascade.Options{
			MinSize: it.MinSize, Factor: bench.Factor, Thresholds: bench.Thresholds, FMA: fma,
		})
		return result{ms: time.Since(t0).Seconds() * 1e3, faces: faces}, err
	}
	if buildErr == nil {
		imgDir := filepath.Join(c.shared, "testdata", "images")
		k.oneShot = func(it *item) []string {
			args := []string{bin, "detect", "-json", "-min-size", fmtF(it.MinSize)}
			if fma {
				args = append(args, "-fma")
			}
			return append(args, filepath.Join(imgDir, it.Image))
		}
	} else {
		progress("%s: no cold start: %v", k.name, buildErr)
	}
	return k
}

func fmtF(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

func thresholdsArg() string {
	return fmtF(bench.Thresholds[0]) + "," + fmtF(bench.Thresholds[1]) + "," + fmtF(bench.Thresholds[2])
}

func torchContender(c config, wfile string) *contender {
	k := &contender{name: "torch", title: "PyTorch", install: torchInstall}
	script := filepath.Join(c.root, "bench", "torch", "mtcnn_torch.py")
	if _, err := os.Stat(c.python); err != nil {
		k.err = fmt.Errorf("%s not found", c.python)
		return k
	}
	base := []string{c.python, script, "-weights", wfile, "-threads", strconv.Itoa(c.threads)}
	startServer(k, append(slices.Clone(base), "-serve"), "torch")
	k.oneShot = func(it *item) []string {
		return append(slices.Clone(base), "-image", it.rgb, "-width", strconv.Itoa(it.w), "-height", strconv.Itoa(it.h),
			"-min-size", fmtF(it.MinSize), "-factor", fmtF(bench.Factor), "-thresholds", thresholdsArg(),
			"-runs", "1", "-warmup", "0")
	}
	return k
}

func ortContender(c config, onnxDir string) *contender {
	k := &contender{name: "ort", title: "ONNX Runtime", install: ortInstall}
	dir := filepath.Join(c.root, "bench", "ort")
	node, err := exec.LookPath(c.node)
	if err != nil {
		k.err = fmt.Errorf("node not found (%v)", err)
		k.install = "apt-get install -y nodejs npm && " + ortInstall
		return k
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node", "package.json")); err != nil {
		k.err = errors.New("onnxruntime-node is not installed in bench/ort")
		return k
	}
	base := []string{node, filepath.Join(dir, "mtcnn_ort.mjs"), "-models", onnxDir, "-threads", strconv.Itoa(c.threads)}
	startServer(k, append(slices.Clone(base), "-serve"), "ort")
	k.oneShot = func(it *item) []string {
		return append(slices.Clone(base), "-image", it.rgb, "-width", strconv.Itoa(it.w), "-height", strconv.Itoa(it.h),
			"-min-size", fmtF(it.MinSize), "-factor", fmtF(bench.Factor), "-thresholds", thresholdsArg(),
			"-runs", "1", "-warmup", "0")
	}
	return k
}

// scriptResult is a script's answer to one request.
type scriptResult struct {
	MedianMS float64        `json:"median_ms"`
	MS       []float64      `json:"ms"`
	Faces    []cascade.Face `json:"faces"`
}

// startServer starts a script in -serve mode and sets k.detect to send it
// requests; on failure k.err says why.
func startServer(k *contender, argv []string, versionKey string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		k.err = err
		return
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		k.err = err
		return
	}
	if err := cmd.Start(); err != nil {
		k.err = err
		return
	}
	lines := make(chan []byte)
	go func() {
		r := bufio.NewReaderSize(stdout, 1<<20)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- line
		}
	}()
	var once sync.Once
	k.close = func() {
		once.Do(func() {
			stdin.Close()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
	}
	failed := func(what string) error {
		k.close()
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		if msg == "" {
			msg = "no output"
		}
		return fmt.Errorf("%s: %s", what, msg)
	}
	read := func(timeout time.Duration) ([]byte, bool) {
		select {
		case line, ok := <-lines:
			return line, ok
		case <-time.After(timeout):
			return nil, false
		}
	}
	line, ok := read(5 * time.Minute)
	if !ok {
		k.err = failed("did not start")
		return
	}
	var ready map[string]any
	if json.Unmarshal(line, &ready) != nil || ready["ready"] != true {
		k.err = failed("unexpected first line " + strconv.Quote(string(line)))
		return
	}
	k.version = fmt.Sprint(ready[versionKey])
	k.detect = func(it *item) (result, error) {
		req, _ := json.Marshal(map[string]any{
			"image": it.rgb, "width": it.w, "height": it.h, "min_size": it.MinSize,
			"factor": bench.Factor, "thresholds": bench.Thresholds, "runs": 1,
		})
		if _, err := stdin.Write(append(req, '\n')); err != nil {
			return result{}, failed("write: " + err.Error())
		}
		line, ok := read(10 * time.Minute)
		if !ok {
			return result{}, failed("no answer")
		}
		var res scriptResult
		if err := json.Unmarshal(line, &res); err != nil || len(res.MS) != 1 {
			return result{}, failed("bad answer " + strconv.Quote(string(line)))
		}
		return result{ms: res.MS[0], faces: res.Faces}, nil
	}
}

// firstResult runs a command and returns the time from its start to the
// first line on its standard output.
func firstResult(argv []string) (time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	r := bufio.NewReader(stdout)
	_, rerr := r.ReadBytes('\n')
	d := time.Since(t0)
	_, _ = io.Copy(io.Discard, r)
	if err := cmd.Wait(); err != nil || rerr != nil {
		return 0, fmt.Errorf("%s: %v %v: %s", filepath.Base(argv[0]), err, rerr, strings.TrimSpace(stderr.String()))
	}
	return d, nil
}

// peakRSS runs a command and returns its peak resident set size in KiB:
// /usr/bin/time's %M when available, else the last VmHWM read from /proc
// while it runs. (The rusage of a child of this process is not used: on
// Linux it starts from this process's own peak, inherited across fork.)
func peakRSS(argv []string) (int64, error) {
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		f, err := os.CreateTemp("", "rss")
		if err != nil {
			return 0, err
		}
		f.Close()
		defer os.Remove(f.Name())
		cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", f.Name()}, argv...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("%v: %v: %s", argv[0], err, bytes.TrimSpace(out))
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			return 0, err
		}
		fields := strings.Fields(string(b))
		if len(fields) == 0 {
			return 0, errors.New("/usr/bin/time printed nothing")
		}
		return strconv.ParseInt(fields[len(fields)-1], 10, 64)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	var hwm int64
	for {
		select {
		case err := <-done:
			if err != nil {
				return 0, err
			}
			return hwm, nil
		case <-time.After(2 * time.Millisecond):
			if b, err := os.ReadFile(status); err == nil {
				for _, l := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
						if n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
							hwm = max(hwm, n)
						}
					}
				}
			}
		}
	}
}

// netRow is one net's measured forward passes.
type netRow struct {
	name, shape string
	flops       float64
	ms          []float64
}

func randomInput(n int) []float32 {
	x := make([]float32, n)
	s := uint32(1)
	for i := range x {
		s = s*1664525 + 1013904223
		x[i] = float32(s>>8)/(1<<23) - 1
	}
	return x
}

// measureNets measures the FMA peak and our nets at the solvay
// min-size-20 shapes, interleaved, -runs times each.
func measureNets(c config) ([]netRow, []float64, string, error) {
	m, err := weights.Default()
	if err != nil {
		return nil, nil, "", err
	}
	levels := bench.Pyramid(bench.SolvayH, bench.SolvayW, 20, bench.Factor)
	modes := []nets.Mode{nets.Exact}
	if nets.FMAAvailable() {
		modes = append(modes, nets.FMA)
	}
	type job struct {
		row *netRow
		fn  func() error
	}
	var jobs []job
	pnet, err := nets.New(m, nets.PNet)
	if err != nil {
		return nil, nil, "", err
	}
	px := randomInput(levels[0][0] * levels[0][1] * 3)
	prow := &netRow{name: "P-Net", shape: fmt.Sprintf("%d pyramid levels, %dx%d .. %dx%d", len(levels),
		levels[0][1], levels[0][0], levels[len(levels)-1][1], levels[len(levels)-1][0])}
	for _, l := range levels {
		prow.flops += float64(bench.FLOPs(nets.PNet, l[0], l[1]))
	}
	for _, mode := range modes {
		row := *prow
		row.name += " " + mode.String()
		var out nets.Output
		jobs = append(jobs, job{&row, func() error {
			for _, l := range levels {
				if err := pnet.RunInto(&out, px[:l[0]*l[1]*3], 1, l[0], l[1], mode); err != nil {
					return err
				}
			}
			return nil
		}})
	}
	for _, b := range []struct {
		k     nets.Kind
		batch int
	}{{nets.RNet, bench.SolvayRNetBatch}, {nets.ONet, bench.SolvayONetBatch}} {
		n, err := nets.New(m, b.k)
		if err != nil {
			return nil, nil, "", err
		}
		s := b.k.InputSize()
		x := randomInput(b.batch * s * s * 3)
		for _, mode := range modes {
			row := &netRow{name: b.k.String() + " " + mode.String(), shape: fmt.Sprintf("batch %d x %dx%d", b.batch, s, s),
				flops: float64(b.batch) * float64(bench.FLOPs(b.k, s, s))}
			var out nets.Output
			jobs = append(jobs, job{row, func() error { return n.RunInto(&out, x, b.batch, s, s, mode) }})
		}
	}
	for _, j := range jobs { // warm-up: compile the graphs
		if err := j.fn(); err != nil {
			return nil, nil, "", err
		}
	}
	peakName, iters := fmaKind()
	var peak []float64
	for range c.runs {
		peak = append(peak, fmaPeak(c.threads, iters))
		for _, j := range jobs {
			t0 := time.Now()
			if err := j.fn(); err != nil {
				return nil, nil, "", err
			}
			j.row.ms = append(j.row.ms, time.Since(t0).Seconds()*1e3)
		}
	}
	var rows []netRow
	for _, j := range jobs {
		rows = append(rows, *j.row)
	}
	return rows, peak, peakName, nil
}

// fmaPeak runs the FMA loop on n goroutines at once, each on its own
// thread, and returns the total GFLOP/s.
func fmaPeak(n int, iters int) float64 {
	flopsPerIter := fmaFlopsPerIter()
	if flopsPerIter == 0 {
		return 0
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	durs := make([]time.Duration, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			fmaLoop(1000) // warm the unit up
			<-start
			t0 := time.Now()
			fmaLoop(iters)
			durs[i] = time.Since(t0)
		}()
	}
	time.Sleep(time.Millisecond)
	close(start)
	wg.Wait()
	var total float64
	for _, d := range durs {
		total += float64(iters) * float64(flopsPerIter) / d.Seconds()
	}
	return total / 1e9
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// maxDiff is the largest difference in pixels between the boxes and
// landmarks of two face lists in the same order (NaN when counts differ).
func maxDiff(a, b []cascade.Face) float64 {
	if len(a) != len(b) {
		return math.NaN()
	}
	var d float64
	for i := range a {
		for j := range 4 {
			d = max(d, math.Abs(float64(a[i].Box[j]-b[i].Box[j])))
		}
		for p := range 5 {
			for q := range 2 {
				d = max(d, math.Abs(float64(a[i].Landmarks[p][q]-b[i].Landmarks[p][q])))
			}
		}
	}
	return d
}

// loadAvg returns the 1-minute load average, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
			}
		}
	}
	return runtime.GOARCH
}

func printReport(out io.Writer, c config, cs []*contender, items []*item,
	times map[string]map[string][]float64, faces map[string]map[string][]cascade.Face,
	cold, rss map[string][]float64, coldErr map[string]error, netRows []netRow, peak []float64, peakName, load string) {
	var versions []string
	for _, k := range cs {
		if k.err == nil {
			versions = append(versions, k.name+" "+k.version)
		}
	}
	fmt.Fprintf(out, "MTCNN: this project vs PyTorch vs ONNX Runtime, %s\n", time.Now().Format("2006-01-02 15:04"))
	fmt.Fprintf(out, "machine: %s, %d CPUs; %d threads per contender; %s/%s; %s\n",
		cpuModel(), runtime.NumCPU(), c.threads, runtime.GOOS, runtime.GOARCH, strings.Join(versions, ", "))
	fmt.Fprintf(out, "1-minute load average before -> after: %s (other processes distort the times)\n", load)
	fmt.Fprintf(out, "%s of %d interleaved runs; thresholds %v, factor %v; ratio = go time / other time (< 1: go is faster)\n\n",
		c.stat, c.runs, thresholdsArg(), fmtF(bench.Factor))

	var others []*contender
	var goK *contender
	for _, k := range cs {
		if k.name == "go" {
			goK = k
		} else {
			others = append(others, k)
		}
	}
	var t table
	head := []string{"case", "size", "faces " + names(cs, "/")}
	for _, k := range cs {
		head = append(head, k.name)
	}
	for _, k := range others {
		head = append(head, "go/"+k.name)
	}
	for _, k := range others {
		head = append(head, "dpx "+k.name)
	}
	t.add(head...)
	cell := func(v float64, format string) string {
		if math.IsNaN(v) {
			return "-"
		}
		return fmt.Sprintf(format, v)
	}
	ratio := func(g, o []float64) string {
		if len(g) == 0 || len(o) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", c.summary(g)/c.summary(o))
	}
	for _, it := range items {
		var counts []string
		for _, k := range cs {
			f, ok := faces[k.name][it.Name]
			switch {
			case !ok:
				counts = append(counts, "-")
			case it.Want >= 0 && len(f) != it.Want:
				counts = append(counts, fmt.Sprintf("%d!", len(f)))
			default:
				counts = append(counts, strconv.Itoa(len(f)))
			}
		}
		row := []string{it.Name, fmt.Sprintf("%dx%d", it.w, it.h), strings.Join(counts, "/")}
		for _, k := range cs {
			row = append(row, cell(c.summary(times[k.name][it.Name]), "%.1f ms"))
		}
		for _, k := range others {
			row = append(row, ratio(times["go"][it.Name], times[k.name][it.Name]))
		}
		for _, k := range others {
			d := math.NaN()
			if goK != nil {
				if g, ok := faces["go"][it.Name]; ok {
					if o, ok := faces[k.name][it.Name]; ok {
						d = maxDiff(g, o)
					}
				}
			}
			row = append(row, cell(d, "%.0e"))
		}
		t.add(row...)
	}
	extra := func(name, size string, m map[string][]float64, format string) {
		row := []string{name, size, ""}
		for _, k := range cs {
			row = append(row, cell(c.summary(m[k.name]), format))
		}
		for _, k := range others {
			row = append(row, ratio(m["go"], m[k.name]))
		}
		t.add(row...)
	}
	extra("cold start, "+coldImage, "128x128", cold, "%.1f ms")
	extra("peak RSS, "+strings.TrimSuffix(rssImage, ".png")+"/min20", "1920x1080", rss, "%.1f MiB")
	t.write(out, 3)

	for _, k := range cs {
		if k.err != nil {
			fmt.Fprintf(out, "%s (%s): unavailable: %v; install: %s\n", k.name, k.title, k.err, k.install)
		} else if err := coldErr[k.name]; err != nil {
			fmt.Fprintf(out, "%s: no cold start/RSS: %v\n", k.name, err)
		}
	}
	fmt.Fprintln(out, "faces: '!' marks a count differing from the reference (solvay 29 at min 20 and 40, road_1080p 0).")
	fmt.Fprintln(out, "dpx: largest box/landmark difference in pixels from go's faces (go is bit-exact with the reference).")
	fmt.Fprintln(out, "cold start: process start to first result line; go runs the CLI binary on the PNG, torch/ort")
	fmt.Fprintln(out, "start their runtime, load the nets and read raw RGB. peak RSS: VmHWM of one such process.")

	if len(netRows) == 0 {
		return
	}
	// Interference only ever lowers the loop's rate, so the peak is the best run.
	pk := slices.Max(peak)
	fmt.Fprintf(out, "\nfp32 FMA peak: %.1f GFLOP/s (best of %d; median %.1f) on %d threads, register-only %s loop\n",
		pk, len(peak), median(peak), c.threads, peakName)
	t = table{}
	t.add("go net", "solvay min20 shape", "GFLOP", "ms", "GFLOP/s", "of peak", "best ms", "best of peak")
	for _, r := range netRows {
		rate := func(ms float64) (string, string) {
			g := r.flops / (ms / 1e3) / 1e9
			ofPeak := "-"
			if pk > 0 {
				ofPeak = fmt.Sprintf("%.0f%%", 100*g/pk)
			}
			return fmt.Sprintf("%.1f", g), ofPeak
		}
		ms, best := c.summary(r.ms), slices.Min(r.ms)
		g, ofPeak := rate(ms)
		_, bestOfPeak := rate(best)
		t.add(r.name, r.shape, fmt.Sprintf("%.3f", r.flops/1e9), fmt.Sprintf("%.1f", ms), g, ofPeak, fmt.Sprintf("%.1f", best), bestOfPeak)
	}
	t.write(out, 2)
	fmt.Fprintln(out, "GFLOP: 2 x multiply-adds of the convolutions and heads (bias, PReLU, pooling, softmax not counted).")
	fmt.Fprintln(out, "best: the fastest of the runs, as the peak is the best run: other processes only ever slow a pass down.")
}

// table is a plain-text table: the first left columns left-aligned, the
// others right-aligned.
type table struct{ rows [][]string }

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer, left int) {
	var width []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < left {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func names(cs []*contender, sep string) string {
	var s []string
	for _, k := range cs {
		s = append(s, k.name)
	}
	return strings.Join(s, sep)
}
