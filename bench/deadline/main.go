// Command deadline measures how closely a detection keeps its deadline:
// it runs cascade.Detect under context.WithTimeout on inputs that take far
// longer than the deadline (solvay.png at min size 2, a 60000x833 strip
// tiled from it) and prints, for each, the time Detect took to return
// after the deadline passed, as a share of the deadline.
//
//	go run ./bench/deadline                  # -timeout 1s -runs 3
//	go run ./bench/deadline -max-over 10     # exit 1 when a median overshoot passes 10 %
//
// The detection is the library's alone: decoding the image is not timed.
// It needs the shared ground truth (../shared, or $MTCNN_SHARED).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/shared"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deadline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", time.Second, "the detection's deadline")
	runs := fs.Int("runs", 3, "runs per case; the table shows the median")
	maxOver := fs.Float64("max-over", 0, "exit 1 when a case's median overshoot is over this many percent of the deadline (0: no bound)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir, err := shared.Dir()
	if err != nil {
		fmt.Fprintln(stderr, "deadline:", err)
		return 1
	}
	photo, err := readPNG(filepath.Join(dir, "testdata", "images", "solvay.png"))
	if err != nil {
		fmt.Fprintln(stderr, "deadline:", err)
		return 1
	}
	d, err := cascade.NewDefault()
	if err != nil {
		fmt.Fprintln(stderr, "deadline:", err)
		return 1
	}
	cases := []struct {
		name string
		img  image.Image
		opts cascade.Options
	}{
		{"solvay 960x661, min size 2", photo, cascade.Options{MinSize: 2}},
		{"strip 60000x833, min size 20", tiled(photo, 60000, 833), cascade.Options{MinSize: 20}},
	}
	fmt.Fprintf(stdout, "%s %s/%s, GOMAXPROCS %d, deadline %v, median of %d runs\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), *timeout, *runs)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\treturned after s\tover the deadline ms\tover %\t")
	status := 0
	for _, c := range cases {
		var took []time.Duration
		for range max(*runs, 1) {
			runtime.GC()
			ctx, cancel := context.WithTimeout(context.Background(), *timeout)
			t0 := time.Now()
			_, err := d.Detect(ctx, c.img, c.opts)
			el := time.Since(t0)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				fmt.Fprintf(stderr, "deadline: %s: error %v, want the deadline exceeded (the detection is faster than -timeout)\n", c.name, err)
				return 1
			}
			took = append(took, el)
		}
		slices.Sort(took)
		med := took[len(took)/2]
		over := med - *timeout
		pct := 100 * float64(over) / float64(*timeout)
		fmt.Fprintf(tw, "%s\t%.3f\t%.0f\t%.1f\t\n", c.name, med.Seconds(), float64(over)/float64(time.Millisecond), pct)
		if *maxOver > 0 && pct > *maxOver {
			status = 1
			defer fmt.Fprintf(stderr, "deadline: %s: %.1f %% over the deadline, bound %.1f %%\n", c.name, pct, *maxOver)
		}
	}
	tw.Flush()
	return status
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// tiled returns a w x h RGBA image tiled with photo.
func tiled(photo image.Image, w, h int) image.Image {
	canvas := image.NewRGBA(image.Rect(0, 0, w, h))
	pb := photo.Bounds()
	for y := 0; y < h; y += pb.Dy() {
		for x := 0; x < w; x += pb.Dx() {
			draw.Draw(canvas, pb.Sub(pb.Min).Add(image.Pt(x, y)), photo, pb.Min, draw.Src)
		}
	}
	return canvas
}
