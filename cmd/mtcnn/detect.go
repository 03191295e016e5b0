package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/annotate"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/quality"
)

const detectUsage = `Usage: mtcnn detect [flags] IMAGE...

Detects faces in each image and prints them, one table (or with -json one
JSON object per line) per image:

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
TIFF, WebP, recognised by content. JPEG EXIF orientation is applied before
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
	def := cascade.DefaultOptions()
	// Parsed as float64 with the decimal defaults, so -h shows "0.709"
	// rather than the float32 value's float64 expansion.
	minSize := fs.Float64("min-size", 20, "smallest face side in pixels")
	factor := fs.Float64("factor", 0.709, "pyramid scale step, in (0, 1)")
	th := thresholdsFlag(def.Thresholds)
	fs.Var(&th, "thresholds", "P-Net, R-Net, O-Net score thresholds `a,b,c`")
	fma := fs.Bool("fma", false, "use fused multiply-add where the CPU has it: faster, results within rounding of the reference instead of bit-exact")
	asJSON := fs.Bool("json", false, "print one JSON object per image per line")
	outDir := fs.String("o", "", "write `DIR`/<name>.png with the faces outlined")
	maxPixels := fs.Int64("max-pixels", imageio.DefaultMaxPixels, "refuse images with more pixels than this (checked before decoding)")
	modelPath := fs.String("model", "", "model to use instead of the embedded one: converted weights file, frozen graph .pb, "+
		"directory holding pnet.onnx, rnet.onnx and onet.onnx, or three comma-separated .onnx files")
	of := addONNXFlags(fs)
	ff := addFaceFlags(fs)
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
	opts := cascade.Options{MinSize: float32(*minSize), Factor: float32(*factor), Thresholds: th, FMA: *fma}
	if err := opts.Validate(); err != nil {
		fmt.Fprintf(stderr, "mtcnn detect: %v\n", err)
		return 2
	}
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
	status := 0
	for _, path := range paths {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(stderr, "mtcnn detect: %v\n", err)
			return 1
		}
		res, err := detectOne(ctx, det, path, opts, imageio.Limits{MaxPixels: *maxPixels}, *outDir, ff)
		if err != nil {
			// Errors name the file already.
			fmt.Fprintf(stderr, "mtcnn detect: %s\n", oneLine(err))
			status = 1
			continue
		}
		if *asJSON {
			err = json.NewEncoder(stdout).Encode(res)
		} else {
			err = printTable(stdout, res)
		}
		if err != nil {
			fmt.Fprintf(stderr, "mtcnn detect: %v\n", err)
			return 1
		}
	}
	return status
}

func detectOne(ctx context.Context, det *cascade.Detector, path string, opts cascade.Options, lim imageio.Limits, outDir string, ff *faceFlags) (*detectResult, error) {
	img, _, err := imageio.DecodeFile(path, lim)
	if err != nil {
		return nil, err
	}
	faces, records, err := ff.detect(ctx, det, img, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b := img.Bounds()
	res := &detectResult{Image: path, Width: b.Dx(), Height: b.Dy(), Faces: faces, records: records}
	if err := ff.writeCrops(img, path, faces); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if outDir != "" {
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + ".png"
		if err := writePNG(filepath.Join(outDir, name), annotate.Draw(img, faces)); err != nil {
			return nil, err
		}
	}
	return res, nil
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
