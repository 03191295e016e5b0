package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mtcnn-go/mtcnn/batch"
	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/annotate"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/quality"
)

// batchFlags are detect's flags for whole collections.
type batchFlags struct {
	format  string
	resume  string
	shard   batch.Shard
	quiet   bool
	workers int
}

// addBatchFlags registers the collection flags on detect's flag set.
func addBatchFlags(fs *flag.FlagSet) *batchFlags {
	bf := &batchFlags{}
	fs.StringVar(&bf.format, "format", "", "output `format`: table, json (JSON lines, as -json) or csv (one row per face)")
	fs.StringVar(&bf.resume, "resume", "", "append JSON lines to `FILE.jsonl` instead of stdout, skipping the images it already holds")
	fs.Func("shard", "process only shard `i/n` of the images (a hash of their relative path), for n machines", func(s string) error {
		sh, err := batch.ParseShard(s)
		if err != nil {
			return err
		}
		bf.shard = sh
		return nil
	})
	fs.BoolVar(&bf.quiet, "quiet", false, "no progress bar and no summary line on stderr")
	fs.IntVar(&bf.workers, "workers", 0, "images processed at once (0: number of CPUs + 1)")
	return bf
}

// detectJob is one detect invocation's settings beside the batch flags.
type detectJob struct {
	opts   cascade.Options
	limits imageio.Limits
	outDir string
	asJSON bool
	faces  *faceFlags // rotation sweep, filters, crops
}

// outputFormat resolves -format and -json.
func (bf *batchFlags) outputFormat(asJSON bool) (string, error) {
	f := bf.format
	switch {
	case f == "" && (asJSON || bf.resume != ""):
		f = "json"
	case f == "":
		f = "table"
	}
	switch f {
	case "table", "json", "csv":
	default:
		return "", fmt.Errorf("-format %q: want table, json or csv", f)
	}
	if asJSON && f != "json" {
		return "", fmt.Errorf("-json and -format %s disagree", f)
	}
	if bf.resume != "" && f != "json" {
		return "", fmt.Errorf("-resume writes JSON lines; it cannot be combined with -format %s", f)
	}
	return f, nil
}

// runBatch walks paths, runs the detector over the images and writes one
// result per image in the walk's order. It returns the exit status.
func runBatch(ctx context.Context, det batch.Detector, paths []string, job detectJob, bf *batchFlags, stdout, stderr io.Writer) int {
	format, err := bf.outputFormat(job.asJSON)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn detect: %v\n", err)
		return 2
	}
	status := 0
	anyDir := false
	items, err := batch.Walk(ctx, paths, func(p string, err error) {
		fmt.Fprintf(stderr, "mtcnn detect: %s\n", oneLine(err))
		status = 1
	})
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn detect: %v\n", err)
		return 1
	}
	for _, it := range items {
		anyDir = anyDir || it.Walked
	}
	items = bf.shard.Filter(items)
	if job.outDir != "" {
		if err := checkOutputs(items, job.outDir); err != nil {
			fmt.Fprintf(stderr, "mtcnn detect: %v\n", err)
			return 2
		}
	}

	out := stdout
	var journal *batch.Journal
	if bf.resume != "" {
		journal, err = batch.OpenJournal(bf.resume, journalKey)
		if err != nil {
			fmt.Fprintf(stderr, "mtcnn detect: -resume: %s\n", oneLine(err))
			return 2
		}
		defer journal.Close()
		if journal.Truncated > 0 {
			fmt.Fprintf(stderr, "mtcnn detect: %s: removed a partial last line (%d bytes) left by an interrupted run\n", bf.resume, journal.Truncated)
		}
		inRun := make(map[string]bool, len(items))
		for _, it := range items {
			inRun[it.Path] = true
		}
		if n := journal.Foreign(func(k string) bool { return inRun[k] }); n > 0 {
			fmt.Fprintf(stderr, "mtcnn detect: %s: %d line(s) name images outside this run (another tree or shard); kept, not redone\n", bf.resume, n)
		}
		todo := items[:0:0]
		for _, it := range items {
			if !journal.Done(it.Path) {
				todo = append(todo, it)
			}
		}
		items = todo
	}

	quiet := bf.quiet
	prog := newProgress(stderr, len(items), quiet)
	report := func(format string, a ...any) {
		prog.clear()
		fmt.Fprintf(stderr, format, a...)
	}
	if format == "csv" {
		if _, err := io.WriteString(out, csvHeader); err != nil {
			report("mtcnn detect: %v\n", err)
			return 1
		}
	}
	opts := batch.Options{Detect: job.opts, Limits: job.limits, Workers: bf.workers}
	// Records (rotation, pose, quality) need the image, so they are made
	// by the worker, beside the crops and the annotated image.
	fd, _ := det.(*faceDetector)
	opts.Process = func(_ context.Context, r *batch.Result, img image.Image) error {
		r.Extra = fd.records(img, r.Faces)
		if err := job.faces.writeCrops(img, r.Item.Rel, r.Faces); err != nil {
			return err
		}
		if job.outDir != "" {
			return writeAnnotated(batch.OutputPath(job.outDir, r.Item.Rel, ".png"), img, r.Faces)
		}
		return nil
	}
	var line bytes.Buffer
	sum, runErr := batch.Run(ctx, det, items, opts, func(r *batch.Result) error {
		defer prog.add()
		if r.Err != nil {
			if r.NotImage && r.Item.Walked {
				report("mtcnn detect: skipping %s: not an image\n", r.Item.Path)
				return nil
			}
			report("mtcnn detect: %s\n", oneLine(r.Err))
			status = 1
			return nil
		}
		res := detectResult{Image: r.Item.Path, Width: r.Width, Height: r.Height, Faces: r.Faces}
		res.records, _ = r.Extra.([]quality.Record)
		line.Reset()
		switch format {
		case "json":
			if err := json.NewEncoder(&line).Encode(res); err != nil {
				return err
			}
		case "csv":
			if err := writeCSV(&line, &res); err != nil {
				return err
			}
		default:
			if err := printTable(&line, &res); err != nil {
				return err
			}
		}
		if journal != nil {
			return journal.Append(res.Image, line.Bytes())
		}
		prog.clear()
		// One write per image, so concurrent readers see whole lines.
		_, err := out.Write(line.Bytes())
		return err
	})
	prog.finish()
	if runErr != nil {
		msg := oneLine(runErr)
		if ctx.Err() != nil && bf.resume != "" {
			msg += "; run again with the same -resume file to finish"
		}
		fmt.Fprintf(stderr, "mtcnn detect: %s\n", msg)
		return 1
	}
	if !quiet && (anyDir || prog.enabled()) {
		fmt.Fprintln(stderr, summaryLine(sum))
	}
	return status
}

// summaryLine is the line printed at the end of a batch.
func summaryLine(s batch.Summary) string {
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(s.Images) / s.Elapsed.Seconds()
	}
	return fmt.Sprintf("mtcnn detect: %d images, %d faces, %d errors (%d not images), %s (%.2f images/s)",
		s.Images, s.Faces, s.Errors-s.NotImage, s.NotImage, s.Elapsed.Round(time.Millisecond), rate)
}

// journalKey is a resume file line's key: its "image" field.
func journalKey(line []byte) (string, error) {
	var v struct {
		Image *string `json:"image"`
	}
	if err := json.Unmarshal(line, &v); err != nil {
		return "", fmt.Errorf("not a JSON line of mtcnn detect: %w", err)
	}
	if v.Image == nil {
		return "", errors.New(`not a JSON line of mtcnn detect: no "image" field`)
	}
	return *v.Image, nil
}

// checkOutputs refuses a run in which two images would write the same
// output file: possible only when several arguments hold equal relative
// paths (two folders both holding 2024/IMG_1.jpg).
func checkOutputs(items []batch.Item, dir string) error {
	seen := make(map[string]string, len(items))
	for _, it := range items {
		p := batch.OutputPath(dir, it.Rel, ".png")
		if first, dup := seen[p]; dup && first != it.Path {
			return fmt.Errorf("-o: %s and %s would both write %s; give their common parent folder instead", first, it.Path, p)
		}
		seen[p] = it.Path
	}
	return nil
}

// writeAnnotated draws faces on img and writes it as PNG to path,
// creating its folder.
func writeAnnotated(path string, img image.Image, faces []cascade.Face) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writePNG(path, annotate.Draw(img, faces))
}

// csvHeader names writeCSV's columns.
const csvHeader = "image,face,x1,y1,x2,y2,score,left_eye_x,left_eye_y,right_eye_x,right_eye_y,nose_x,nose_y,mouth_left_x,mouth_left_y,mouth_right_x,mouth_right_y\n"

// writeCSV writes one row per face (none for an image without faces),
// numbers at full float32 precision as in the JSON.
func writeCSV(b *bytes.Buffer, r *detectResult) error {
	w := csv.NewWriter(b)
	rec := make([]string, 0, 17)
	for i, f := range r.Faces {
		rec = append(rec[:0], r.Image, strconv.Itoa(i))
		for _, v := range f.Box {
			rec = append(rec, csvFloat(v))
		}
		rec = append(rec, csvFloat(f.Score))
		for _, p := range f.Landmarks {
			rec = append(rec, csvFloat(p[0]), csvFloat(p[1]))
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

func csvFloat(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }
