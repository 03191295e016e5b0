package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/jpegblock"
	"github.com/mtcnn-go/mtcnn/orient"
)

const anonymizeUsage = `Usage: mtcnn anonymize [flags] IMAGE...

Hides every detected face: the face box, grown by -mask-scale around its
centre, is blurred (default), pixelated or filled inside an ellipse (or
the whole box with -boxes); every other pixel is kept. The result is
written in the input's format (JPEG in, JPEG out: only the 8x8 or 16x16
blocks under the masks are re-encoded when the input is a baseline JPEG
without EXIF rotation, else all of it at quality 95; any other format as
PNG) to DIR/<name>_anonymized.<ext>, DIR being -o or the input's folder,
never over an existing file. Output files carry no metadata: no
EXIF, GPS, XMP, ICC profile or comments. EXIF orientation is applied to
the pixels first. -dry-run writes DIR/<name>_masks.png instead, the image
with the masks outlined in red. -rotate auto also finds faces lying on
their side or upside down. One line per image on stdout names the output
and the number of faces hidden.

Flags:
`

func runAnonymize(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("anonymize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, anonymizeUsage); fs.PrintDefaults() }
	def := cascade.DefaultOptions()
	mode := fs.String("mode", "blur", "how to hide faces: blur, pixelate or fill (black)")
	outDir := fs.String("o", "", "write into `DIR` (default: beside each input)")
	threshold := fs.Float64("threshold", float64(def.Thresholds[2]), "O-Net score a face needs to be hidden; lower hides more (and more false positives)")
	maskScale := fs.Float64("mask-scale", anonymize.DefaultMaskScale, "grow each face box by this factor around its centre")
	boxes := fs.Bool("boxes", false, "hide whole (grown) boxes instead of ellipses")
	dryRun := fs.Bool("dry-run", false, "write the image with the masks outlined instead of hiding them")
	minSize := fs.Float64("min-size", 20, "smallest face side in pixels")
	maxPixels := fs.Int64("max-pixels", imageio.DefaultMaxPixels, "refuse images with more pixels than this (checked before decoding)")
	rf := addRotateFlags(fs)
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "mtcnn anonymize: no images given")
		fs.Usage()
		return 2
	}
	m, err := anonymize.ParseMode(*mode)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn anonymize: %v\n", err)
		return 2
	}
	if !(*maskScale > 0) {
		// 0 would mean the default in anonymize.Options.
		fmt.Fprintf(stderr, "mtcnn anonymize: mask scale %g must be above 0\n", *maskScale)
		return 2
	}
	aopts := anonymize.Options{Mode: m, MaskScale: *maskScale, Box: *boxes, Threshold: float32(*threshold)}
	if err := aopts.Validate(); err != nil {
		fmt.Fprintf(stderr, "mtcnn anonymize: %v\n", err)
		return 2
	}
	th := def.Thresholds
	th[2] = float32(*threshold)
	opts := cascade.Options{MinSize: float32(*minSize), Thresholds: th}
	if err := opts.Validate(); err != nil {
		fmt.Fprintf(stderr, "mtcnn anonymize: %v\n", err)
		return 2
	}
	if err := rf.parse(); err != nil {
		fmt.Fprintf(stderr, "mtcnn anonymize: %v\n", err)
		return 2
	}
	det, err := cascade.NewDefault()
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn anonymize: %v\n", err)
		return 1
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			fmt.Fprintf(stderr, "mtcnn anonymize: %v\n", err)
			return 1
		}
	}
	status := 0
	for _, path := range paths {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(stderr, "mtcnn anonymize: %v\n", err)
			return 1
		}
		out, n, err := anonymizeOne(ctx, det, path, *outDir, opts, aopts, rf.angles, *dryRun, imageio.Limits{MaxPixels: *maxPixels})
		if err != nil {
			fmt.Fprintf(stderr, "mtcnn anonymize: %s\n", oneLine(err))
			status = 1
			continue
		}
		verb := "hid"
		if *dryRun {
			verb = "would hide"
		}
		fmt.Fprintf(stdout, "%s -> %s: %s %d face(s)\n", path, out, verb, n)
	}
	return status
}

// anonymizeOne hides the faces of one file and returns the output path
// and the number of faces hidden.
func anonymizeOne(ctx context.Context, det *cascade.Detector, path, outDir string, opts cascade.Options,
	aopts anonymize.Options, angles []float64, dryRun bool, lim imageio.Limits) (string, int, error) {
	// The bytes are kept for jpegblock.WriteEdited; Decode reads them
	// all anyway, and checks the pixel cap from the header before
	// decoding.
	data, err := os.ReadFile(path)
	if err != nil {
		return "", 0, fmt.Errorf("imageio: %w", err)
	}
	img, format, err := imageio.Decode(bytes.NewReader(data), lim)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	faces, _, _, err := orient.Detect(ctx, det, img, opts, angles)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	n := len(anonymize.Regions(img.Bounds(), faces, aopts))
	dir := outDir
	if dir == "" {
		dir = filepath.Dir(path)
	}
	stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	var out image.Image
	if dryRun {
		format = "png"
		stem += "_masks"
		if out, err = anonymize.DrawMasks(img, faces, aopts); err != nil {
			return "", 0, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		stem += "_anonymized"
		out = anonymize.Writable(img)
		if err := anonymize.Apply(out, faces, aopts); err != nil {
			return "", 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	ext := ".png"
	if imageio.OutputFormat(format) == "jpeg" {
		ext = ".jpg"
	}
	dst := filepath.Join(dir, stem+ext)
	if err := writeNew(dst, func(w io.Writer) error {
		if ext == ".jpg" {
			// Block-exact: only the JPEG blocks under the masks are
			// re-encoded, when the input allows (else all of it).
			_, err := jpegblock.WriteEdited(w, data, out, imageio.JPEGQuality)
			return err
		}
		_, err := imageio.Encode(w, out, format)
		return err
	}); err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	return dst, n, nil
}

// errExists reports an output file that is already there.
var errExists = errors.New("output file exists; remove it or choose another directory")

// writeNew creates path, failing with errExists if it exists, writes it
// with write and closes it. A failed write removes the partial file.
func writeNew(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s: %w", path, errExists)
		}
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
