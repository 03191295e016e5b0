// Command memory measures the peak memory of `mtcnn detect` against image
// size. It writes synthetic test images (1, 12 and 44 megapixel JPEGs
// tiled from a photo, and a 7071x7071 PNG that is uniform but for one
// copy of the photo), runs the mtcnn binary on each as a child process,
// and prints a table of peak resident set size (as /usr/bin/time -v
// reports it), wall time and faces found, beside the memory model's figure:
// the decoded image plus cascade.WorkingSet.
//
//	go run ./bench/memory                        # builds ./cmd/mtcnn, images in a temp dir
//	go run ./bench/memory -bin old=/tmp/mtcnn-main,new=/tmp/mtcnn
//	go run ./bench/memory -dir /tmp/memimg -keep -max-rss-mib 300
//
// The photo is solvay.png of the shared test data when it is there
// (../shared or $MTCNN_SHARED), else the repository's
// testdata/astronaut.png. With -max-rss-mib it exits 1 when a run of the
// last binary listed peaks above that bound.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/shared"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// testImage is one image the program writes and measures.
type testImage struct {
	name string
	w, h int
	png  bool // a mostly uniform PNG; else a tiled JPEG
}

var images = []testImage{
	{"1mp.jpg", 1224, 816, false},
	{"12mp.jpg", 4240, 2832, false},
	{"44mp.jpg", 8000, 5500, false},
	{"50mp-uniform.png", 7071, 7071, true},
}

// binary is one mtcnn binary to measure, with its label in the table.
type binary struct{ label, path string }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("memory", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "where to write the images (default: a temporary directory); existing ones of the right name are reused")
	keep := fs.Bool("keep", false, "keep the images (always kept when -dir is given)")
	bins := fs.String("bin", "", "mtcnn binaries to run, `label=path,...` (default: build ./cmd/mtcnn)")
	minSize := fs.Float64("min-size", 20, "min size passed to mtcnn detect")
	runs := fs.Int("runs", 1, "runs per image and binary; the table shows the largest peak")
	maxRSS := fs.Int64("max-rss-mib", 0, "exit 1 when the last binary peaks above this many MiB on any image (0: no bound)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	work, err := os.MkdirTemp("", "mtcnn-memory-")
	if err != nil {
		fmt.Fprintln(stderr, "memory:", err)
		return 1
	}
	defer os.RemoveAll(work)
	imgDir := *dir
	if imgDir == "" {
		imgDir = filepath.Join(work, "images")
		if *keep {
			if imgDir, err = os.MkdirTemp("", "mtcnn-memory-images-"); err != nil {
				fmt.Fprintln(stderr, "memory:", err)
				return 1
			}
			fmt.Fprintln(stderr, "memory: images in", imgDir)
		}
	}
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		fmt.Fprintln(stderr, "memory:", err)
		return 1
	}
	list, err := binaries(*bins, work)
	if err != nil {
		fmt.Fprintln(stderr, "memory:", err)
		return 1
	}
	photo, from, err := loadPhoto()
	if err != nil {
		fmt.Fprintln(stderr, "memory:", err)
		return 1
	}
	fmt.Fprintf(stdout, "photo: %s; %s %s/%s, GOMAXPROCS %d, min size %v\n\n", from, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), *minSize)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "image\tsize\tMP\tfile MB\tdecoded MB\tmodel MB\tbinary\tpeak RSS MB\ttime s\tfaces\t")
	status := 0
	for _, ti := range images {
		path := filepath.Join(imgDir, ti.name)
		if err := ensure(path, ti, photo); err != nil {
			fmt.Fprintln(stderr, "memory:", err)
			return 1
		}
		st, err := os.Stat(path)
		if err != nil {
			fmt.Fprintln(stderr, "memory:", err)
			return 1
		}
		decoded := decodedBytes(ti)
		model := decoded + cascade.WorkingSet(ti.w, ti.h, cascade.Options{MinSize: float32(*minSize)})
		for bi, b := range list {
			var worst result
			for range max(*runs, 1) {
				r, err := measure(b.path, path, *minSize)
				if err != nil {
					fmt.Fprintf(stderr, "memory: %s on %s: %v\n", b.label, ti.name, err)
					return 1
				}
				if r.rss >= worst.rss {
					worst = r
				}
			}
			fmt.Fprintf(tw, "%s\t%dx%d\t%.1f\t%.2f\t%.0f\t%.0f\t%s\t%.0f\t%.2f\t%d\t\n",
				ti.name, ti.w, ti.h, float64(ti.w*ti.h)/1e6, float64(st.Size())/1e6, mib(decoded), mib(model),
				b.label, mib(worst.rss), worst.wall.Seconds(), worst.faces)
			if *maxRSS > 0 && bi == len(list)-1 && worst.rss > *maxRSS<<20 {
				status = 1
				defer fmt.Fprintf(stderr, "memory: %s on %s peaked at %.0f MiB, over the bound of %d MiB\n", b.label, ti.name, mib(worst.rss), *maxRSS)
			}
		}
	}
	tw.Flush()
	fmt.Fprintln(stdout, "\nMB are MiB. decoded: the decoder's pixel buffers (JPEG YCbCr 4:2:0, 1.5 B/px; PNG RGBA, 4 B/px);")
	fmt.Fprintln(stdout, "model: decoded + cascade.WorkingSet, the detection's estimate without the Go runtime and program (~20 MiB).")
	return status
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// decodedBytes is what Go's decoders allocate for the image's pixels: the
// JPEGs written here are 4:2:0 YCbCr, the PNG 8-bit RGB (image.RGBA).
func decodedBytes(ti testImage) int64 {
	px := int64(ti.w) * int64(ti.h)
	if ti.png {
		return 4 * px
	}
	cw, ch := int64((ti.w+1)/2), int64((ti.h+1)/2)
	return px + 2*cw*ch
}

// binaries parses -bin, or builds ./cmd/mtcnn into dir.
func binaries(spec, dir string) ([]binary, error) {
	if spec == "" {
		out := filepath.Join(dir, "mtcnn")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/mtcnn")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("building ./cmd/mtcnn (run from the module root): %w", err)
		}
		return []binary{{"this", out}}, nil
	}
	var list []binary
	for _, s := range strings.Split(spec, ",") {
		label, path, ok := strings.Cut(s, "=")
		if !ok {
			label, path = filepath.Base(s), s
		}
		list = append(list, binary{label, path})
	}
	return list, nil
}

// loadPhoto returns the photo the images are made from.
func loadPhoto() (image.Image, string, error) {
	var candidates []string
	if d, err := shared.Dir(); err == nil {
		candidates = append(candidates, filepath.Join(d, "testdata", "images", "solvay.png"))
	}
	if root, err := shared.ModuleRoot(); err == nil {
		candidates = append(candidates, filepath.Join(root, "testdata", "astronaut.png"))
	}
	for _, p := range candidates {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", p, err)
		}
		return img, p, nil
	}
	return nil, "", errors.New("no photo found: run from the module root (testdata/astronaut.png)")
}

// ensure writes the image to path unless a file is there already.
func ensure(path string, ti testImage, photo image.Image) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	canvas := image.NewRGBA(image.Rect(0, 0, ti.w, ti.h))
	pb := photo.Bounds()
	if ti.png {
		draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.RGBA{120, 130, 140, 255}), image.Point{}, draw.Src)
		at := image.Pt((ti.w-pb.Dx())/2, (ti.h-pb.Dy())/2)
		draw.Draw(canvas, pb.Sub(pb.Min).Add(at), photo, pb.Min, draw.Src)
	} else {
		for y := 0; y < ti.h; y += pb.Dy() {
			for x := 0; x < ti.w; x += pb.Dx() {
				draw.Draw(canvas, pb.Sub(pb.Min).Add(image.Pt(x, y)), photo, pb.Min, draw.Src)
			}
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if ti.png {
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(w, canvas)
	} else {
		err = jpeg.Encode(w, canvas, &jpeg.Options{Quality: 90})
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// result is one run of mtcnn detect.
type result struct {
	rss   int64 // bytes
	wall  time.Duration
	faces int
}

// measure runs `bin detect -json -min-size m path` under /usr/bin/time -v
// and returns the peak RSS it reports. The child's own rusage would not
// do: Go starts children with vfork, and Linux carries the parent's peak
// RSS over an exec into the child's Maxrss.
func measure(bin, path string, minSize float64) (result, error) {
	timeBin, err := exec.LookPath("/usr/bin/time")
	if err != nil {
		return result{}, errors.New("/usr/bin/time is needed (Debian package time)")
	}
	cmd := exec.Command(timeBin, "-v", bin, "detect", "-json", "-min-size", fmt.Sprint(minSize), path)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err = cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return result{}, fmt.Errorf("%w: %s", err, strings.TrimSpace(errb.String()))
	}
	var kib int64 = -1
	for _, line := range strings.Split(errb.String(), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Maximum resident set size (kbytes):"); ok {
			kib, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return result{}, fmt.Errorf("/usr/bin/time: %q: %w", line, err)
			}
		}
	}
	if kib < 0 {
		return result{}, fmt.Errorf("/usr/bin/time -v printed no peak RSS: %s", strings.TrimSpace(errb.String()))
	}
	var res struct {
		Faces []json.RawMessage `json:"faces"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return result{}, fmt.Errorf("reading its output: %w", err)
	}
	return result{rss: kib << 10, wall: wall, faces: len(res.Faces)}, nil
}
