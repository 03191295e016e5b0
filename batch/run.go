package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

// Detector finds faces in one image; *cascade.Detector is one. It must be
// safe for concurrent use: Run calls it from several goroutines.
type Detector interface {
	Detect(ctx context.Context, img image.Image, opts cascade.Options) ([]cascade.Face, error)
}

// Options configures Run. The zero value is usable: every zero field means
// its default.
type Options struct {
	// Detect is passed to every detection.
	Detect cascade.Options
	// Limits bounds each decode (pixel cap before decoding, byte cap).
	Limits imageio.Limits
	// Workers is how many images are read, decoded and detected at once;
	// 0 means DefaultWorkers(). Each worker holds at most one decoded
	// image, so at most Workers decoded images exist at a time.
	Workers int
	// Window bounds how many items may be started before the oldest
	// unfinished one is delivered (their results wait to be delivered in
	// order); 0 means 2*Workers. It keeps a slow image from letting
	// finished results pile up without bound.
	Window int
	// Open opens an item's file; nil means os.Open. Tests and callers
	// reading from elsewhere than the file system replace it.
	Open func(path string) (io.ReadCloser, error)
	// Process, if set, is called for each successfully detected image
	// with the decoded image, from the worker that detected it (so
	// concurrently, in no particular order), before the result is
	// delivered: the place for per-image work such as drawing and
	// writing annotated images or face crops. An error makes the item
	// fail with it.
	Process func(ctx context.Context, r *Result, img image.Image) error
}

// DefaultWorkers returns GOMAXPROCS+1: one image more than the cores, so
// that one is being read and decoded while the others are detected.
// (Detection itself runs its large loops on all cores, so a single big
// image still fills them.)
func DefaultWorkers() int { return runtime.GOMAXPROCS(0) + 1 }

// Result is what happened to one item.
type Result struct {
	// Index is the item's position in the list given to Run.
	Index int
	// Item is the item.
	Item Item
	// Format is the decoder's name for the image format ("jpeg", ...).
	Format string
	// Width and Height are the upright image's size.
	Width, Height int
	// Faces are the detected faces, in the detector's order.
	Faces []cascade.Face
	// Err is why the item failed: reading, decoding, detecting or
	// Process. It names the file.
	Err error
	// NotImage is true when Err is only that the file is not in an image
	// format the decoders know (its first bytes match none).
	NotImage bool
	// Elapsed is the time from opening the file to the end of Process.
	Elapsed time.Duration
	// Extra is whatever Process stored for the deliverer (per-face
	// records, say); Run does not look at it.
	Extra any
}

// Summary counts what a Run did.
type Summary struct {
	Images   int // images detected (errors excluded)
	Faces    int // faces found in them
	Errors   int // items that failed, not-images included
	NotImage int // of Errors, files that were not images
	Elapsed  time.Duration
}

// ErrStopped wraps the error that stopped a Run early: the context's, or
// the one deliver returned.
var ErrStopped = errors.New("batch: run stopped")

// Run processes items through a pipeline and calls deliver once per item,
// in the items' order, from the calling goroutine, whatever the order in
// which the workers finish. Workers (see Options) each take the next item,
// read and decode it, detect, and run Process; at most Window items are
// between start and delivery, so memory is bounded by Workers decoded
// images plus Window results.
//
// A failing item is delivered with Err set and the run goes on. Run stops
// early when ctx is done or deliver returns an error: items not yet
// delivered are not delivered, and the error wraps ErrStopped and the
// cause. Every item delivered before that was delivered exactly once, in
// order, so a caller that records delivered items can resume from them.
func Run(ctx context.Context, det Detector, items []Item, opts Options, deliver func(*Result) error) (Summary, error) {
	start := time.Now()
	workers := opts.Workers
	if workers <= 0 {
		workers = DefaultWorkers()
	}
	workers = max(1, min(workers, len(items)))
	window := opts.Window
	if window <= 0 {
		window = 2 * workers
	}
	window = max(window, workers)
	open := opts.Open
	if open == nil {
		open = func(p string) (io.ReadCloser, error) { return os.Open(p) }
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make(chan struct{}, window)
	next := make(chan int)
	results := make(chan *Result, window)
	var wg sync.WaitGroup

	// The dispatcher hands out indices in order, each once a slot is free;
	// slots are freed in delivery order, so the oldest undelivered item
	// always holds one and the pipeline cannot deadlock.
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(next)
		for i := range items {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results <- process(ctx, det, open, opts, i, items[i])
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	var sum Summary
	var stop error
	pending := map[int]*Result{}
	want := 0
	for r := range results {
		if stop != nil {
			continue // drain
		}
		pending[r.Index] = r
		for {
			r, ok := pending[want]
			if !ok {
				break
			}
			delete(pending, want)
			if r.Err != nil && ctx.Err() != nil {
				// Cut by cancellation: not delivered, to be redone.
				stop = ctx.Err()
				cancel()
				break
			}
			if err := deliver(r); err != nil {
				stop = err
				cancel()
				break
			}
			if r.Err != nil {
				sum.Errors++
				if r.NotImage {
					sum.NotImage++
				}
			} else {
				sum.Images++
				sum.Faces += len(r.Faces)
			}
			want++
			<-slots
		}
	}
	sum.Elapsed = time.Since(start)
	if stop == nil && want < len(items) {
		stop = ctx.Err()
		if stop == nil {
			stop = errors.New("batch: internal error: items left undelivered")
		}
	}
	if stop != nil {
		return sum, fmt.Errorf("%w after %d of %d items: %w", ErrStopped, want, len(items), stop)
	}
	return sum, nil
}

// sniffSize is how many leading bytes decide whether a file is an image
// before the rest of it is read: every registered format's magic fits.
const sniffSize = 64

// process reads, decodes and detects one item.
func process(ctx context.Context, det Detector, open func(string) (io.ReadCloser, error), opts Options, idx int, it Item) *Result {
	t0 := time.Now()
	r := &Result{Index: idx, Item: it}
	defer func() { r.Elapsed = time.Since(t0) }()
	if err := ctx.Err(); err != nil {
		r.Err = err
		return r
	}
	f, err := open(it.Path)
	if err != nil {
		r.Err = err // *PathError names the file
		return r
	}
	defer f.Close()
	// Look at the first bytes before reading the whole file, so that a
	// video or an archive in a photo folder is refused without loading it.
	head := make([]byte, sniffSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		r.Err = fmt.Errorf("%s: %w", it.Path, err)
		return r
	}
	head = head[:n]
	if n == 0 {
		r.Err = fmt.Errorf("%s: %w", it.Path, imageio.ErrEmpty)
		return r
	}
	if _, _, err := image.DecodeConfig(bytes.NewReader(head)); errors.Is(err, image.ErrFormat) {
		r.Err = fmt.Errorf("%s: not an image: %w", it.Path, imageio.ErrUnsupported)
		r.NotImage = true
		return r
	}
	img, format, err := imageio.Decode(io.MultiReader(bytes.NewReader(head), f), opts.Limits)
	if err != nil {
		r.Err = fmt.Errorf("%s: %w", it.Path, err)
		return r
	}
	b := img.Bounds()
	r.Format, r.Width, r.Height = format, b.Dx(), b.Dy()
	faces, err := det.Detect(ctx, img, opts.Detect)
	if err != nil {
		r.Err = fmt.Errorf("%s: %w", it.Path, err)
		return r
	}
	r.Faces = faces
	if opts.Process != nil {
		if err := opts.Process(ctx, r, img); err != nil {
			r.Err = fmt.Errorf("%s: %w", it.Path, err)
			r.Faces = nil
		}
	}
	return r
}
