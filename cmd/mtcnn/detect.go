package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/cliflag"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/quality"
)

const detectUsage = `Usage: mtcnn detect [flags] PATH...

Detects faces in each image and prints them, one table (or with -json one
JSON object per line) per image. A PATH may be a directory: it is walked
recursively (hidden files and symbolic links skipped) and every file in it
that is an image by content is processed, in the order of the relative
paths, several at once; files that are not images are skipped with a line
on stderr. -o DIR mirrors the tree: DIR/<relative path>.png.

  {"image":"<path as given>","width":W,"height":H,"faces":[
    {"box":[x1,y1,x2,y2],"score":S,"landmarks":[[x,y],[x,y],[x,y],[x,y],[x,y]],
     "rotation":R,"pose":{"yaw":Y,"pitch":P,"roll":R},
     "quality":{"sharpness":L,"brightness":B,"size":S}}]}

Landmarks are the left eye, right eye, nose, left and right mouth corners.
Rotation is the clockwise turn (degrees) of the copy the face was found in
(-rotate); pose is estimated from the landmarks; sharpness is the variance
of the Laplacian in the box, brightness its mean grey level, size the box's
geometric mean side. -crops DIR writes each face's crop.
Faces come in the reference detector's order. Formats: JPEG, PNG, GIF, BMP,
TIFF, WebP, HEIC, AVIF, recognised by content. JPEG EXIF orientation is applied before
detection, so coordinates refer to the upright image. Alpha is ignored: the
stored colour of each pixel is used. An image that cannot be read gets a
one-line error on stderr; the others are still processed and the exit
status is 1.

Flags:
`

// detectResult is one image's JSON line.
type detectResult struct {
	Image  string         `json:"image"`
	Width  int            `json:"width"`
	Height int            `json:"height"`
	Faces  []cascade.Face `json:"faces"`
	// records are Faces with rotation, pose and quality (faceflags.go).
	records []quality.Record
}

func runDetect(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("detect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, detectUsage); fs.PrintDefaults() }
	optFlags := cliflag.AddOptions(fs)
	fma := fs.Bool("fma", false, "use fused multiply-add where the CPU has it: faster, results within rounding of the reference instead of bit-exact")
	asJSON := fs.Bool("json", false, "print one JSON object per image per line")
	outDir := fs.String("o", "", "write `DIR`/<relative path>.png with the faces outlined")
	maxPixels := fs.Int64("max-pixels", imageio.DefaultMaxPixels, "refuse images with more pixels than this (checked before decoding)")
	modelPath := fs.String("model", "", "model to use instead of the embedded one: converted weights file, frozen graph .pb, "+
		"directory holding pnet.onnx, rnet.onnx and onet.onnx, or three comma-separated .onnx files")
	of := addONNXFlags(fs)
	ff := addFaceFlags(fs)
	bf := addBatchFlags(fs)
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "mtcnn detect: no images given")
		fs.Usage()
		return 2
	}
	opts, err := optFlags.Options()
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn detect: %v\n", err)
		return 2
	}
	opts.FMA = *fma
	if err := ff.parse(); err != nil {
		fmt.Fprintf(stderr, "mtcnn detect: %v\n", err)
		return 2
	}
	model, err := loadModelOpts(*modelPath, of.options(), stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn detect: %v\n", err)
		return 1
	}
	det, err := cascade.New(model)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn detect: %v\n", err)
		return 1
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			fmt.Fprintf(stderr, "mtcnn detect: %v\n", err)
			return 1
		}
	}
	job := detectJob{opts: opts, limits: imageio.Limits{MaxPixels: *maxPixels}, outDir: *outDir, asJSON: *asJSON, faces: ff}
	return runBatch(ctx, &faceDetector{det: det, ff: ff}, paths, job, bf, stdout, stderr)
}

// writePNG writes img to path, replacing any file there.
func writePNG(path string, img image.Image) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

func printTable(w io.Writer, r *detectResult) error {
	fmt.Fprintf(w, "%s: %dx%d, %d face(s)\n", r.Image, r.Width, r.Height, len(r.Faces))
	if len(r.Faces) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\tscore\tx1\ty1\tx2\ty2\tleft eye\tright eye\tnose\tmouth left\tmouth right\t")
	for i, f := range r.Faces {
		fmt.Fprintf(tw, "%d\t%.4f\t%.1f\t%.1f\t%.1f\t%.1f\t", i+1, f.Score, f.Box[0], f.Box[1], f.Box[2], f.Box[3])
		for _, p := range f.Landmarks {
			fmt.Fprintf(tw, "%.0f,%.0f\t", p[0], p[1])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// oneLine keeps an error message on one line of output.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
