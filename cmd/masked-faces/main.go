// Command masked-faces makes the data set of the README's fine-tuning
// demonstration from photos you have (for example the project's shared
// test photos) and scores a model on it:
//
//	masked-faces make -src DIR -o OUT [-n 200] [-test 40] [-seed 1]
//	masked-faces score -labels OUT/test.jsonl [-model FILE]
//
// "make" labels the faces of every photo in DIR with the embedded model
// (its detections are the ground truth; crops are made around the
// confident ones), holds out every third photo by number of faces, and writes OUT/train/*.png with OUT/train.jsonl (-n
// random rescaled crops of the other photos, most faces covered by a drawn
// face mask, some softened as a low-resolution camera would), OUT/test/*.png with OUT/test.jsonl (crops of the held-out
// photos, every face masked) and OUT/normal.jsonl (the held-out photos as
// they are). The label files are in "mtcnn detect -json" form, what
// "mtcnn train -format jsonl" reads. Nothing is downloaded; the output is
// a function of the photos and the seed.
//
// "score" runs the cascade with the embedded model or -model over a label
// file's images and prints recall and AP at IoU 0.5.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/score"
	"github.com/mtcnn-go/mtcnn/train"
	"github.com/mtcnn-go/mtcnn/train/synth"
	"github.com/mtcnn-go/mtcnn/weights"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage:
  masked-faces make -src DIR -o OUT [-n 200] [-test 40] [-seed 1]
  masked-faces score -labels FILE [-model FILE]
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "make":
		return runMake(ctx, args[1:], stdout, stderr)
	case "score":
		return runScore(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// record is one line of a label file, as "mtcnn detect -json" prints it.
type record struct {
	Image string     `json:"image"`
	Faces []jsonFace `json:"faces"`
}

type jsonFace struct {
	Box       [4]float32     `json:"box"`
	Landmarks *[5][2]float32 `json:"landmarks,omitempty"`
}

func toRecord(path string, faces []train.Face) record {
	r := record{Image: path, Faces: []jsonFace{}}
	for _, f := range faces {
		r.Faces = append(r.Faces, jsonFace{Box: f.Box, Landmarks: f.Landmarks})
	}
	return r
}

// source is one input photo with its faces: all those the embedded model
// finds (the labels, so that no face in a crop is taken for background)
// and the confident ones crops are made around.
type source struct {
	path    string
	img     image.Image
	faces   []train.Face
	centres []train.Face
}

func runMake(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("make", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := fs.String("src", "", "folder of photos with faces")
	out := fs.String("o", "", "output folder")
	n := fs.Int("n", 200, "training images to make")
	nTest := fs.Int("test", 40, "held-out test images to make")
	seed := fs.Uint64("seed", 1, "random seed")
	maxSide := fs.Int("max-side", 640, "longest side of a made image at most")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *src == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fail := func(err error) int { fmt.Fprintf(stderr, "masked-faces: %v\n", err); return 1 }
	srcs, err := loadSources(ctx, *src)
	if err != nil {
		return fail(err)
	}
	// Held out: every third photo by number of faces, from the second, so
	// that both sides get photos with many faces.
	slices.SortStableFunc(srcs, func(a, b source) int { return len(b.centres) - len(a.centres) })
	var trainSrc, testSrc []source
	for i, s := range srcs {
		if i%3 == 1 {
			testSrc = append(testSrc, s)
		} else {
			trainSrc = append(trainSrc, s)
		}
	}
	if len(trainSrc) == 0 || len(testSrc) == 0 {
		return fail(fmt.Errorf("%s: need at least 3 photos with faces, found %d", *src, len(srcs)))
	}
	r := rand.New(rand.NewPCG(*seed, 0x6d61736b))
	for _, d := range []string{"train", "test"} {
		if err := os.MkdirAll(filepath.Join(*out, d), 0o755); err != nil {
			return fail(err)
		}
	}
	if err := makeSet(filepath.Join(*out, "train"), filepath.Join(*out, "train.jsonl"), trainSrc, *n, 0.8, *maxSide, r); err != nil {
		return fail(err)
	}
	if err := makeSet(filepath.Join(*out, "test"), filepath.Join(*out, "test.jsonl"), testSrc, *nTest, 1, *maxSide, r); err != nil {
		return fail(err)
	}
	var normal []record
	slices.SortFunc(testSrc, func(a, b source) int { return strings.Compare(a.path, b.path) })
	for _, s := range testSrc {
		normal = append(normal, toRecord(s.path, s.faces))
	}
	if err := writeLabels(filepath.Join(*out, "normal.jsonl"), normal); err != nil {
		return fail(err)
	}
	names := func(ss []source) string {
		var b []string
		for _, s := range ss {
			b = append(b, fmt.Sprintf("%s (%d)", filepath.Base(s.path), len(s.centres)))
		}
		return strings.Join(b, ", ")
	}
	fmt.Fprintf(stdout, "training photos: %s\nheld-out photos: %s\nwrote %d training and %d test images to %s\n",
		names(trainSrc), names(testSrc), *n, *nTest, *out)
	return 0
}

// loadSources decodes the photos of dir (a .png is preferred over a .jpg
// of the same name) and labels their faces with the embedded model's
// confident detections.
func loadSources(ctx context.Context, dir string) ([]source, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	det, err := cascade.NewDefault()
	if err != nil {
		return nil, err
	}
	var out []source
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if ext != ".png" && ext != ".jpg" && ext != ".jpeg" {
			continue
		}
		if ext != ".png" && have[strings.TrimSuffix(name, filepath.Ext(name))+".png"] {
			continue
		}
		p := filepath.Join(dir, name)
		img, _, err := imageio.DecodeFile(p, imageio.Limits{})
		if err != nil {
			continue
		}
		faces, err := det.Detect(ctx, img, cascade.Options{})
		if err != nil {
			return nil, err
		}
		s := source{path: p, img: img}
		for _, f := range faces {
			lm := f.Landmarks
			tf := train.Face{Box: f.Box, Landmarks: &lm}
			s.faces = append(s.faces, tf)
			if f.Score >= 0.95 && f.Box[2]-f.Box[0] >= 20 {
				s.centres = append(s.centres, tf)
			}
		}
		if len(s.centres) > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

// makeSet writes n crops of the sources into dir, masking each face with
// probability pMask, and their labels into labels.
func makeSet(dir, labels string, srcs []source, n int, pMask float64, maxSide int, r *rand.Rand) error {
	var recs []record
	for i := 0; i < n; i++ {
		s := srcs[r.IntN(len(srcs))]
		f := s.centres[r.IntN(len(s.centres))]
		// Faces of 24 to 160 pixels after scaling.
		side := float64(f.Box[2] - f.Box[0])
		lo, hi := 24/side, 160/side
		var img *image.RGBA
		var faces []train.Face
		for try := 0; ; try++ {
			var cut bool
			img, faces, cut = synth.Crop(s.img, s.faces, f, lo, hi, maxSide, r)
			if (!cut && len(faces) > 0) || try == 20 {
				break
			}
		}
		var masked draw.Image = img
		for _, g := range faces {
			if r.Float64() < pMask {
				synth.Mask(masked, g, r)
			}
		}
		if r.Float64() < 0.3 {
			synth.Soften(img, 1.5+1.5*r.Float64())
		}
		p := filepath.Join(dir, fmt.Sprintf("%04d.png", i))
		if err := writePNG(p, img); err != nil {
			return err
		}
		recs = append(recs, toRecord(p, faces))
	}
	return writeLabels(labels, recs)
}

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

func writeLabels(path string, recs []record) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func runScore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	labels := fs.String("labels", "", "label file (jsonl)")
	modelPath := fs.String("model", "", "weights file (default: the embedded model)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *labels == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fail := func(err error) int { fmt.Fprintf(stderr, "masked-faces: %v\n", err); return 1 }
	m, err := weights.Default()
	if *modelPath != "" {
		var data []byte
		if data, err = os.ReadFile(*modelPath); err == nil {
			m, err = weights.Decode(data)
		}
	}
	if err != nil {
		return fail(err)
	}
	l, err := train.ReadLabels(train.JSONL, *labels, "", nil)
	if err != nil {
		return fail(err)
	}
	det, err := cascade.New(m)
	if err != nil {
		return fail(err)
	}
	var dets [][]score.Detection
	var truths [][][4]float32
	for _, im := range l.Images {
		img, _, err := imageio.DecodeFile(im.Path, imageio.Limits{})
		if err != nil {
			return fail(err)
		}
		faces, err := det.Detect(ctx, img, cascade.Options{})
		if err != nil {
			return fail(err)
		}
		var d []score.Detection
		for _, f := range faces {
			d = append(d, score.Detection{Box: f.Box, Score: f.Score})
		}
		var t [][4]float32
		for _, f := range im.Faces {
			t = append(t, f.Box)
		}
		dets, truths = append(dets, d), append(truths, t)
	}
	res := score.Evaluate(dets, truths, 0.5)
	fmt.Fprintf(stdout, "%s: %d images, %d faces: recall %.3f, AP %.3f (%d detections)\n",
		*labels, len(l.Images), res.Truths, res.Recall, res.AveragePrecision, res.Detections)
	return 0
}
