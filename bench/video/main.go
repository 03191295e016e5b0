// Command video measures "mtcnn video" against "mtcnn detect" on the same
// frames. It makes a 640x480 clip (or -size WxH) from the shared photos
// (each panned across for a while, scaled with x/image/draw), writes it as a 4:2:0
// YUV4MPEG2 file and as one PNG per frame holding exactly the RGB the
// detector reads from the y4m frame, then times, alternating, -repeat runs
// of
//
//	mtcnn video  -min-size 40 clip.y4m
//	mtcnn detect -min-size 40 -json frame*.png
//	mtcnn video  -min-size 40 -every N clip.y4m   (for each N of -every)
//
// and prints frames per second (median of the runs), the ratio of video to
// detect, the CPU time per frame (user and system, median), the peak RSS of
// each, and for -every its recall against full
// detection: the share of the full run's faces that the -every run found
// in the same frame (IoU >= 0.5), and for every video run how stable its
// track ids are: the distinct ids, and the id switches among the faces that
// overlap (IoU >= 0.5) a face of the frame before. It exits 1 when the full video run's faces
// differ from detect's in any frame (they must be bit-identical).
//
//	go run ./bench/video                      # 240 frames, 5 repeats
//	go run ./bench/video -frames 120 -repeat 3 -every 2,5,10
//	go run ./bench/video -size 1280x720 -frames 60 -repeat 3 -every 5
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
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/draw"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/shared"
	"github.com/mtcnn-go/mtcnn/track"
	"github.com/mtcnn-go/mtcnn/video"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// photos are the shared images the clip pans over.
var photos = []string{"solvay.png", "multiface.png", "backlit.png", "ivan.png", "test_image.png", "sunglasses.png"}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("video", flag.ContinueOnError)
	fs.SetOutput(stderr)
	frames := fs.Int("frames", 240, "frames in the clip")
	repeat := fs.Int("repeat", 5, "timed runs of each command (the median is reported)")
	minSize := fs.String("min-size", "40", "detection min size")
	everyList := fs.String("every", "2,5,10", "comma-separated N for the -every runs (empty: none)")
	size := fs.String("size", "640x480", "frame size WxH of the clip (even numbers)")
	keep := fs.String("dir", "", "write the clip and frames here and keep them (default: a temporary folder)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "bench/video: %v\n", err)
		return 1
	}
	var W, H int
	if n, err := fmt.Sscanf(*size, "%dx%d", &W, &H); n != 2 || err != nil || W < 2 || H < 2 || W%2 != 0 || H%2 != 0 {
		fmt.Fprintf(stderr, "bench/video: -size %q: want WxH, even numbers\n", *size)
		return 2
	}
	dir := *keep
	if dir == "" {
		d, err := os.MkdirTemp("", "mtcnn-bench-video")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	root, err := shared.ModuleRoot()
	if err != nil {
		return fail(err)
	}
	bin := filepath.Join(dir, "mtcnn")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mtcnn")
	build.Dir, build.Stderr = root, stderr
	if err := build.Run(); err != nil {
		return fail(fmt.Errorf("building mtcnn: %w", err))
	}
	clip, pngs, err := makeClip(dir, *frames, W, H)
	if err != nil {
		return fail(err)
	}
	var everies []int
	for _, s := range strings.Split(*everyList, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fail(fmt.Errorf("-every %q", s))
		}
		everies = append(everies, n)
	}

	type cmdCase struct {
		name  string
		args  []string
		times []time.Duration
		cpu   []time.Duration
		rss   int64
		out   []byte
	}
	cases := []*cmdCase{
		{name: "video", args: []string{"video", "-min-size", *minSize, clip}},
		{name: "detect (PNG)", args: append([]string{"detect", "-json", "-min-size", *minSize}, pngs...)},
	}
	for _, n := range everies {
		cases = append(cases, &cmdCase{name: fmt.Sprintf("video -every %d", n), args: []string{"video", "-every", strconv.Itoa(n), "-min-size", *minSize, clip}})
	}
	for r := 0; r < *repeat; r++ {
		for _, c := range cases {
			out, d, cpu, rss, err := timed(bin, c.args)
			if err != nil {
				return fail(fmt.Errorf("%s: %w", c.name, err))
			}
			c.times = append(c.times, d)
			c.cpu = append(c.cpu, cpu)
			c.rss = max(c.rss, rss)
			c.out = out
		}
	}

	full, err := videoFaces(cases[0].out)
	if err != nil {
		return fail(err)
	}
	det, err := detectFaces(cases[1].out)
	if err != nil {
		return fail(err)
	}
	if len(full) != *frames || len(det) != *frames {
		return fail(fmt.Errorf("%d video frames, %d detect results, want %d", len(full), len(det), *frames))
	}
	exact := true
	nfaces := 0
	for i := range full {
		nfaces += len(full[i])
		if !slices.Equal(full[i], det[i]) {
			exact = false
			fmt.Fprintf(stderr, "frame %d: video and detect differ\n", i)
		}
	}

	fmt.Fprintf(stdout, "clip: %d frames %dx%d (4:2:0), %d faces in all, min size %s; %d runs each, median; %d CPUs\n",
		*frames, W, H, nfaces, *minSize, *repeat, runtime.NumCPU())
	fmt.Fprintf(stdout, "%-18s %9s %9s %9s %12s %10s %-24s %s\n", "command", "median s", "fps", "vs detect", "CPU ms/frame", "peak RSS", "recall vs full", "track ids")
	base := median(cases[1].times)
	for i, c := range cases {
		m := median(c.times)
		fps := float64(*frames) / m.Seconds()
		recall, ids := "", ""
		if i != 1 {
			n, sw, links, err := idStability(c.out)
			if err != nil {
				return fail(err)
			}
			ids = fmt.Sprintf("%d ids, %d switches in %d links", n, sw, links)
		}
		switch {
		case i == 0:
			recall = map[bool]string{true: "bit-identical to detect", false: "DIFFERS from detect"}[exact]
		case i >= 2:
			ev, err := videoFaces(c.out)
			if err != nil {
				return fail(err)
			}
			found, total := matchCount(full, ev)
			recall = fmt.Sprintf("%.3f (%d of %d faces)", float64(found)/float64(max(total, 1)), found, total)
		}
		cpuMS := float64(median(c.cpu).Microseconds()) / 1000 / float64(*frames)
		fmt.Fprintf(stdout, "%-18s %9.3f %9.1f %8.2fx %12.1f %6d MiB %-24s %s\n", c.name, m.Seconds(), fps,
			base.Seconds()/m.Seconds(), cpuMS, c.rss>>20, recall, ids)
	}
	if !exact {
		return 1
	}
	return 0
}

// timed runs bin with args and returns its stdout, wall time, CPU time
// (user and system) and peak RSS. The peak RSS comes from GNU time
// (/usr/bin/time) when installed, else 0: the rusage of a child of this
// process would report this process's own peak, which Linux carries
// across exec.
func timed(bin string, args []string) ([]byte, time.Duration, time.Duration, int64, error) {
	cmd := exec.Command(bin, args...)
	var rssFile string
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		rssFile = filepath.Join(filepath.Dir(bin), "rss.txt")
		cmd = exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", rssFile, bin}, args...)...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("%v: %s", err, strings.TrimSpace(errb.String()))
	}
	var rss int64
	if rssFile != "" {
		b, err := os.ReadFile(rssFile)
		if err != nil {
			return nil, 0, 0, 0, err
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return nil, 0, 0, 0, fmt.Errorf("/usr/bin/time: %w", err)
		}
		rss = kb * 1024
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return out.Bytes(), d, cpu, rss, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// makeClip writes a WxH dir/clip.y4m and dir/frames/NNNN.png.
func makeClip(dir string, n, W, H int) (string, []string, error) {
	sdir, err := shared.Dir()
	if err != nil {
		return "", nil, err
	}
	var srcs []image.Image
	for _, p := range photos {
		img, err := decodePNG(filepath.Join(sdir, "testdata", "images", p))
		if err != nil {
			return "", nil, fmt.Errorf("%w (the clip is made from the shared photos; set MTCNN_SHARED)", err)
		}
		srcs = append(srcs, img)
	}
	if err := os.MkdirAll(filepath.Join(dir, "frames"), 0o755); err != nil {
		return "", nil, err
	}
	clip := filepath.Join(dir, "clip.y4m")
	f, err := os.Create(clip)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	w, err := video.NewY4MWriter(f, video.Header{Width: W, Height: H, FPSNum: 25, FPSDen: 1, Colorspace: video.C420jpeg})
	if err != nil {
		return "", nil, err
	}
	per := (n + len(srcs) - 1) / len(srcs)
	var pngs []string
	var scaled *image.RGBA
	for i := 0; i < n; i++ {
		k := i / per
		if i%per == 0 {
			// Cover 1.125 times the frame (so the window can pan 1/8 of its width).
			src := srcs[k]
			b := src.Bounds()
			s := max(float64(W*9/8)/float64(b.Dx()), float64(H*9/8)/float64(b.Dy()))
			sw, sh := int(float64(b.Dx())*s+0.5), int(float64(b.Dy())*s+0.5)
			scaled = image.NewRGBA(image.Rect(0, 0, sw, sh))
			draw.CatmullRom.Scale(scaled, scaled.Bounds(), src, b, draw.Src, nil)
		}
		t := float64(i%per) / float64(max(per-1, 1))
		sb := scaled.Bounds()
		x0 := int(t * float64(sb.Dx()-W))
		y0 := (sb.Dy() - H) / 2
		frame := image.NewYCbCr(image.Rect(0, 0, W, H), image.YCbCrSubsampleRatio420)
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				o := scaled.PixOffset(x0+x, y0+y)
				p := scaled.Pix[o : o+3]
				yy, cb, cr := color.RGBToYCbCr(p[0], p[1], p[2])
				frame.Y[frame.YOffset(x, y)] = yy
				if x%2 == 0 && y%2 == 0 {
					ci := frame.COffset(x, y)
					frame.Cb[ci], frame.Cr[ci] = cb, cr
				}
			}
		}
		if err := w.Write(frame); err != nil {
			return "", nil, err
		}
		p := filepath.Join(dir, "frames", fmt.Sprintf("%04d.png", i))
		if err := writeRGB(p, frame); err != nil {
			return "", nil, err
		}
		pngs = append(pngs, p)
	}
	if err := w.Flush(); err != nil {
		return "", nil, err
	}
	return clip, pngs, f.Close()
}

// writeRGB writes the RGB the detector reads from m (color.YCbCrToRGB per
// pixel) as a PNG.
func writeRGB(path string, m *image.YCbCr) error {
	b := m.Bounds()
	out := image.NewNRGBA(b)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bb := color.YCbCrToRGB(m.Y[m.YOffset(x, y)], m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)])
			o := out.PixOffset(x, y)
			out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = r, g, bb, 255
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(f, out); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func decodePNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

// videoFaces parses "mtcnn video" output: per frame, its faces.
func videoFaces(out []byte) ([][]cascade.Face, error) {
	var res [][]cascade.Face
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var l struct {
			Frame int
			Faces []cascade.Face
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, err
		}
		if l.Frame != len(res) {
			return nil, errors.New("video frames out of order")
		}
		res = append(res, l.Faces)
	}
	return res, sc.Err()
}

// detectFaces parses "mtcnn detect -json" output.
func detectFaces(out []byte) ([][]cascade.Face, error) {
	var res [][]cascade.Face
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var l struct{ Faces []cascade.Face }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, err
		}
		res = append(res, l.Faces)
	}
	return res, sc.Err()
}

// matchCount counts the faces of full that got matched (IoU >= 0.5, each
// face of got at most once) in the same frame of got.
func matchCount(full, got [][]cascade.Face) (found, total int) {
	for i := range full {
		used := make([]bool, len(got[i]))
		for _, f := range full[i] {
			total++
			for j, g := range got[i] {
				if !used[j] && track.IoU(f.Box, g.Box) >= 0.5 {
					used[j] = true
					found++
					break
				}
			}
		}
	}
	return found, total
}

// idStability reads the track ids of "mtcnn video" output: the number of
// distinct ids, and, over every face that overlaps (IoU >= 0.5) a face of
// the frame before (a link), how many carry a different id (switches).
func idStability(out []byte) (ids, switches, links int, err error) {
	type face struct {
		Box   [4]float32
		Track int
	}
	seen := map[int]bool{}
	var prev []face
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var l struct{ Faces []face }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return 0, 0, 0, err
		}
		for _, f := range l.Faces {
			seen[f.Track] = true
			best, bi := float32(0), -1
			for j, p := range prev {
				if o := track.IoU(f.Box, p.Box); o > best {
					best, bi = o, j
				}
			}
			if best >= 0.5 {
				links++
				if prev[bi].Track != f.Track {
					switches++
				}
			}
		}
		prev = l.Faces
	}
	return len(seen), switches, links, sc.Err()
}
