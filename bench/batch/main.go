// Command batch measures "mtcnn detect" over a photo collection against an
// older commit's detect, on the same machine in the same run.
//
// It builds the CLI twice, from -base (default bc61375, the last commit
// before folders and the pipeline: checked out with "git worktree add"
// into a temporary directory, built, removed) and from the working tree;
// copies the shared JPEGs into -folders folders (11 photos x 4 = 44
// images); then runs, alternately, -runs times each:
//
//	old: mtcnn detect -json FILE...          (the files in walk order)
//	new: mtcnn detect -json -quiet TREE
//
// For each run it measures wall time, the process's CPU time (user +
// system) and its peak RSS, and prints the medians: images per second of
// both, their ratio, and the cores' utilisation, CPU / (wall x cores),
// where cores is GOMAXPROCS (the machine's CPUs unless -gomaxprocs). It checks that
// both print the same detections (bit-exact boxes, scores and landmarks,
// same order; face fields added since the base are ignored) and
// exits 1 when they differ. With -gomaxprocs 1,2 it repeats all of it
// under each GOMAXPROCS.
//
//	go run ./bench/batch
//	go run ./bench/batch -runs 7 -gomaxprocs 1,2
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mtcnn-go/mtcnn/internal/shared"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/batch:", err)
		os.Exit(1)
	}
}

func run() error {
	base := flag.String("base", "bc61375", "commit whose detect is the baseline")
	runs := flag.Int("runs", 5, "runs of each binary (alternating)")
	folders := flag.Int("folders", 4, "folders the photos are copied into")
	procs := flag.String("gomaxprocs", "", "comma-separated GOMAXPROCS values to run under (default: the machine's)")
	flag.Parse()

	dir, err := shared.Dir()
	if err != nil {
		return err
	}
	photos, err := filepath.Glob(filepath.Join(dir, "testdata", "images", "*.jpg"))
	if err != nil || len(photos) == 0 {
		return fmt.Errorf("no JPEGs under %s/testdata/images (set MTCNN_SHARED)", dir)
	}
	slices.Sort(photos)
	tmp, err := os.MkdirTemp("", "bench-batch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	tree := filepath.Join(tmp, "tree")
	var files []string
	for i := range *folders {
		sub := filepath.Join(tree, fmt.Sprintf("f%d", i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		for _, p := range photos {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			dst := filepath.Join(sub, filepath.Base(p))
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				return err
			}
			files = append(files, dst)
		}
	}
	slices.Sort(files) // the new binary's walk order

	root, err := moduleRoot()
	if err != nil {
		return err
	}
	oldBin := filepath.Join(tmp, "mtcnn-old")
	newBin := filepath.Join(tmp, "mtcnn-new")
	fmt.Printf("building %s and the working tree...\n", *base)
	if err := buildAt(root, *base, filepath.Join(tmp, "old-src"), oldBin); err != nil {
		return err
	}
	if err := goBuild(root, newBin); err != nil {
		return err
	}

	oldArgs := append([]string{"detect", "-json"}, files...)
	newArgs := []string{"detect", "-json", "-quiet", tree}
	settings := []string{""}
	if *procs != "" {
		settings = strings.Split(*procs, ",")
	}
	cores := runtime.NumCPU()
	fmt.Printf("%d images (%d photos x %d folders), %d runs each, alternating; %d CPUs\n", len(files), len(photos), *folders, *runs, cores)
	for _, gmp := range settings {
		n := cores
		env := os.Environ()
		if gmp != "" {
			n, err = strconv.Atoi(strings.TrimSpace(gmp))
			if err != nil || n < 1 {
				return fmt.Errorf("-gomaxprocs: bad value %q", gmp)
			}
			env = append(env, "GOMAXPROCS="+strconv.Itoa(n))
		}
		var oldM, newM []measure
		var want []byte
		for r := range *runs {
			o, outOld, err := timeRun(oldBin, oldArgs, env)
			if err != nil {
				return fmt.Errorf("old detect: %w", err)
			}
			nw, outNew, err := timeRun(newBin, newArgs, env)
			if err != nil {
				return fmt.Errorf("new detect: %w", err)
			}
			if outOld, err = detections(outOld); err != nil {
				return fmt.Errorf("old detect: %w", err)
			}
			if outNew, err = detections(outNew); err != nil {
				return fmt.Errorf("new detect: %w", err)
			}
			if r == 0 {
				want = outOld
			}
			if !bytes.Equal(outOld, want) || !bytes.Equal(outNew, want) {
				return errors.New("the two binaries' detections differ: results are not bit-exact or not in the same order")
			}
			oldM, newM = append(oldM, o), append(newM, nw)
		}
		oldR, newR := median(oldM, len(files), n), median(newM, len(files), n)
		label := fmt.Sprintf("GOMAXPROCS=%d", n)
		fmt.Printf("\n%s (identical detections: %d images)\n", label, bytes.Count(want, []byte("\n")))
		fmt.Printf("  %-22s %8s %8s %8s %6s %9s\n", "", "wall s", "CPU s", "img/s", "util", "peak RSS")
		fmt.Printf("  %-22s %8.2f %8.2f %8.2f %5.0f%% %5.0f MiB\n", *base+" (old)", oldR.wall, oldR.cpu, oldR.rate, 100*oldR.util, oldR.rss)
		fmt.Printf("  %-22s %8.2f %8.2f %8.2f %5.0f%% %5.0f MiB\n", "working tree (new)", newR.wall, newR.cpu, newR.rate, 100*newR.util, newR.rss)
		fmt.Printf("  ratio new/old images/s (median of per-pair ratios): %.2fx\n", pairRatio(oldM, newM))
	}
	return nil
}

// detections reduces detect's JSON lines to what both binaries print:
// each image's name and size and its faces' box, score and landmarks,
// their numbers kept as printed (so the comparison stays bit for bit).
// Fields later commits added to a face (pose, rotation, ...) are left out.
func detections(out []byte) ([]byte, error) {
	type face struct {
		Box       json.RawMessage `json:"box"`
		Score     json.RawMessage `json:"score"`
		Landmarks json.RawMessage `json:"landmarks"`
	}
	type line struct {
		Image  string          `json:"image"`
		Width  json.RawMessage `json:"width"`
		Height json.RawMessage `json:"height"`
		Faces  []face          `json:"faces"`
	}
	var b bytes.Buffer
	for l := range bytes.Lines(out) {
		var v line
		if err := json.Unmarshal(l, &v); err != nil {
			return nil, fmt.Errorf("output line %q: %w", l, err)
		}
		enc, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		b.Write(enc)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

type measure struct {
	wall, cpu time.Duration
	rss       float64 // MiB
}

type summary struct{ wall, cpu, rate, util, rss float64 }

// median summarises runs by their medians; util is CPU/(wall*cores).
func median(ms []measure, images, cores int) summary {
	var w, c, u, r []float64
	for _, m := range ms {
		w = append(w, m.wall.Seconds())
		c = append(c, m.cpu.Seconds())
		u = append(u, m.cpu.Seconds()/(m.wall.Seconds()*float64(cores)))
		r = append(r, m.rss)
	}
	mw := med(w)
	return summary{wall: mw, cpu: med(c), rate: float64(images) / mw, util: med(u), rss: med(r)}
}

// pairRatio is the median of old wall / new wall over the alternating
// pairs, which cancels slow drifts of a shared machine's load.
func pairRatio(old, nw []measure) float64 {
	var r []float64
	for i := range old {
		r = append(r, old[i].wall.Seconds()/nw[i].wall.Seconds())
	}
	return med(r)
}

func med(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// timeRun runs bin and returns its wall and CPU time and stdout.
func timeRun(bin string, args, env []string) (measure, []byte, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return measure{}, nil, fmt.Errorf("%w: %s", err, errb.String())
	}
	st := cmd.ProcessState
	return measure{wall: wall, cpu: st.UserTime() + st.SystemTime(), rss: peakRSS(st)}, out.Bytes(), nil
}

// buildAt builds ./cmd/mtcnn as of commit into bin, from a temporary
// worktree at src that is removed afterwards.
func buildAt(root, commit, src, bin string) error {
	if err := git(root, "worktree", "add", "--detach", src, commit); err != nil {
		return err
	}
	defer func() {
		if err := git(root, "worktree", "remove", "--force", src); err != nil {
			fmt.Fprintln(os.Stderr, "bench/batch:", err)
		}
	}()
	return goBuild(src, bin)
}

func goBuild(dir, bin string) error {
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/mtcnn")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build in %s: %w", dir, err)
	}
	return nil
}

func git(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the module")
	}
	return filepath.Dir(mod), nil
}
