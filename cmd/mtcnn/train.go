package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/nets"
	"github.com/mtcnn-go/mtcnn/train"
	"github.com/mtcnn-go/mtcnn/weights"
)

const trainUsage = `Usage: mtcnn train -format jsonl|wider|voc -labels PATH [-images DIR] [-classes a,b] -o FILE [flags]

Fine-tunes P-Net, R-Net and O-Net (or -nets) of the embedded model (or
-model, or the checkpoint -resume) on labelled photos and writes the best
model, by validation AP at IoU 0.5, to FILE: a weights file that
"detect", "serve" and "export-onnx" load with -model, carrying its
provenance ("mtcnn version -model FILE" prints it). FILE is rewritten
each time a better model is found, so Ctrl-C, or a learning rate that
diverges, leaves the best model so far in it.

Label formats:
  jsonl  lines of "mtcnn detect -json" (correct the boxes by hand first)
  wider  WIDER FACE's wider_face_*_bbx_gt.txt (-images: its images folder)
  voc    a folder of Pascal VOC XML files; -classes names the classes
         that are faces (default: every object)

Flags:
`

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, trainUsage)
		fs.PrintDefaults()
	}
	d := train.DefaultOptions()
	format := fs.String("format", "jsonl", "label format: jsonl, wider or voc")
	labels := fs.String("labels", "", "label file (jsonl, wider) or folder of XML files (voc)")
	images := fs.String("images", "", "folder the label file's image paths are relative to (default: as written)")
	classes := fs.String("classes", "", "voc: comma-separated object classes that are faces (default: all)")
	out := fs.String("o", "", "weights file to write (required)")
	modelPath := fs.String("model", "", "model to fine-tune instead of the embedded one (any model detect -model reads)")
	resume := fs.String("resume", "", "continue from a checkpoint written by train (instead of -model)")
	netList := fs.String("nets", "pnet,rnet,onet", "nets to train, in cascade order")
	epochs := fs.Int("epochs", d.Epochs, "passes over each net's samples")
	batch := fs.Int("batch", d.BatchSize, "samples per step")
	lr := fs.Float64("lr", d.LearnRate, "Adam learning rate")
	decay := fs.Float64("weight-decay", d.WeightDecay, "L2 weight decay of the kernels (negative: none)")
	clip := fs.Float64("clip", d.Clip, "gradient global-norm clip (negative: none)")
	val := fs.Float64("val", d.ValFraction, "fraction of the images held out for validation (negative: none)")
	maxSamples := fs.Int("max-samples", d.MaxSamples, "samples per net per epoch at most")
	seed := fs.Uint64("seed", 1, "random seed: same data, flags and seed give the same model")
	noFlip := fs.Bool("no-flip", false, "no random horizontal flips")
	minSize := fs.Float64("min-size", 20, "cascade min face size for mining and validation")
	quiet := fs.Bool("q", false, "no progress line")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) > 0 || *labels == "" || *out == "" {
		fs.Usage()
		return 2
	}
	if *modelPath != "" && *resume != "" {
		fmt.Fprintln(stderr, "mtcnn train: -model and -resume are exclusive (a checkpoint is a model)")
		return 2
	}
	kinds, err := train.ParseNets(*netList)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn train: -nets: %v\n", err)
		return 2
	}
	var cls []string
	for _, c := range strings.Split(*classes, ",") {
		if c = strings.TrimSpace(c); c != "" {
			cls = append(cls, c)
		}
	}
	baseName := "embedded"
	src := *modelPath
	if *resume != "" {
		src = *resume
	}
	if src != "" {
		baseName = src
	}
	base, err := loadModel(src)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn train: %v\n", err)
		return 1
	}
	lab, err := train.ReadLabels(train.Format(*format), *labels, *images, cls)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn train: %v\n", err)
		return 1
	}
	if lab.ZeroSize+lab.OtherClass > 0 {
		fmt.Fprintf(stderr, "%s: skipped %d boxes of zero size, %d objects of other classes\n", *labels, lab.ZeroSize, lab.OtherClass)
	}
	prov := map[string]string{
		"base": baseName,
		"data": fmt.Sprintf("%s (%s, %d images)", *labels, *format, len(lab.Images)),
	}
	if *resume != "" {
		prov["resumed_from"] = *resume
		if md := base.Metadata(); md != nil && md["base"] != "" {
			prov["base"] = md["base"] + " via " + *resume
		}
	}
	pr := &progressLine{w: stderr, quiet: *quiet}
	opts := train.Options{
		Nets: kinds, Epochs: *epochs, BatchSize: *batch, LearnRate: *lr, WeightDecay: *decay, Clip: *clip,
		ValFraction: *val, MaxSamples: *maxSamples, Seed: *seed, NoFlip: *noFlip,
		Detect:     cascade.Options{MinSize: float32(*minSize)},
		Provenance: prov,
		Progress:   pr.update,
		EpochDone: func(e train.Epoch) {
			pr.clear()
			fmt.Fprintln(stderr, epochLine(e))
		},
		Checkpoint: func(m *weights.Model, e train.Epoch) error { return writeModel(*out, m) },
	}
	t0 := time.Now()
	res, err := train.Train(ctx, base, lab.Images, opts)
	pr.clear()
	if res != nil {
		if res.Undecodable+res.OutsideImage > 0 {
			fmt.Fprintf(stderr, "skipped %d images that do not decode, %d boxes outside their image\n", res.Undecodable, res.OutsideImage)
		}
		if res.Model != nil {
			if werr := writeModel(*out, res.Model); werr != nil {
				fmt.Fprintf(stderr, "mtcnn train: %v\n", werr)
				return 1
			}
		}
	}
	if err != nil {
		msg := err.Error()
		if errors.Is(err, context.Canceled) {
			msg = "interrupted"
		}
		if res != nil && res.Model != nil {
			msg += "; the best model so far is in " + *out
		}
		fmt.Fprintf(stderr, "mtcnn train: %s\n", msg)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s (%s) in %s\n", *out, res.Model.Metadata()["checkpoint"], time.Since(t0).Round(time.Second))
	return 0
}

// writeModel writes m to path through a temporary file and a rename, so
// that path always holds a complete model.
func writeModel(path string, m *weights.Model) error {
	data, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mtcnn-train-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func netName(k nets.Kind) string {
	if k < 0 {
		return "base"
	}
	return k.String()
}

func epochLine(e train.Epoch) string {
	var b strings.Builder
	if e.Net < 0 {
		b.WriteString("base model")
	} else {
		fmt.Fprintf(&b, "%s epoch %d: %d samples (neg/pos/part/lmk %d/%d/%d/%d), %.0f samples/s, loss face %.4f box %.4f%s",
			netName(e.Net), e.Epoch, e.Samples, e.Counts[0], e.Counts[1], e.Counts[2], e.Counts[3], e.SamplesPerSec, e.Loss[0], e.Loss[1], lmkLoss(e.Net, e.Loss[2]))
	}
	if e.Val.Truths > 0 || e.Val.Detections > 0 {
		fmt.Fprintf(&b, "; validation recall %.3f AP %.3f", e.Val.Recall, e.Val.AveragePrecision)
	}
	if e.Best {
		b.WriteString(" (best)")
	}
	return b.String()
}

// lmkLoss formats the landmark loss of net k: only O-Net has a landmark
// output (the reference model's P-Net and R-Net have none), so the others
// show none.
func lmkLoss(k nets.Kind, v float64) string {
	if k != nets.ONet {
		return ""
	}
	return fmt.Sprintf(" lmk %.4f", v)
}

// progressLine draws a one-line progress display on a terminal-like
// writer, rewritten in place with \r.
type progressLine struct {
	w     io.Writer
	quiet bool
	last  time.Time
	shown bool
}

func (p *progressLine) update(pr train.Progress) {
	if p.quiet || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	var s string
	switch pr.Phase {
	case train.Training:
		s = fmt.Sprintf("%s epoch %d/%d %s %d/%d samples, %.0f samples/s, loss face %.4f box %.4f%s",
			pr.Net, pr.Epoch, pr.Epochs, bar(pr.Done, pr.Total), pr.Done, pr.Total, pr.SamplesPerSec, pr.Loss[0], pr.Loss[1], lmkLoss(pr.Net, pr.Loss[2]))
	case train.Mining:
		s = fmt.Sprintf("%s mining samples %s %d/%d images", pr.Net, bar(pr.Done, pr.Total), pr.Done, pr.Total)
	default:
		s = fmt.Sprintf("%s %s %d/%d images", pr.Phase, bar(pr.Done, pr.Total), pr.Done, pr.Total)
	}
	fmt.Fprintf(p.w, "\r%-120s", s)
	p.shown = true
}

func (p *progressLine) clear() {
	if p.shown {
		fmt.Fprintf(p.w, "\r%-120s\r", "")
		p.shown = false
	}
}

func bar(done, total int) string {
	const n = 20
	k := 0
	if total > 0 {
		k = min(n, done*n/total)
	}
	return "[" + strings.Repeat("#", k) + strings.Repeat(".", n-k) + "]"
}
