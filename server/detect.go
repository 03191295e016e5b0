package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/detopts"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

// detect is detectFor for an answer that does not draw on the image.
func (s *Server) detect(w http.ResponseWriter, r *http.Request) (*detection, func(), error) {
	return s.detectFor(w, r, false)
}

// detectFor reads the request's options and image and runs a detection
// under the pool's limits, the memory budget and the per-request
// deadline; annotated says the answer will draw on the image, which the
// memory estimate then counts. On success the caller must call release
// once it has answered; it gives back the request's pool ticket and
// memory.
//
// The steps: options are checked; a pool ticket is taken (or 503 at
// once); the body is read, up to Config.MaxBodyBytes; the image header
// is read and checked against the pixel cap (413) and the options
// (a pyramid too large for the image is 400); the request's memory cost
// is estimated from the header (413 when it exceeds the whole budget).
// From there the deadline, Config.DetectTimeout, runs: waiting for
// memory, decoding, waiting for a detection slot and detecting. Those
// run in a goroutine of their own, so that the answer goes out at the
// deadline even while the decoder, which cannot be interrupted, is still
// busy; that goroutine holds the memory and the ticket until it is done,
// and the detection, whose context is then done, stops.
func (s *Server) detectFor(w http.ResponseWriter, r *http.Request, annotated bool) (*detection, func(), error) {
	opts, err := parseOptions(r.URL.Query())
	if err != nil {
		return nil, nil, err
	}
	fq, err := parseFaceQuery(r.URL.Query())
	if err != nil {
		return nil, nil, err
	}
	opts.FMA = s.cfg.FMA
	det := s.detector()
	if det == nil {
		return nil, nil, errNotReady
	}
	multipart, err := bodyKind(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, nil, err
	}
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, nil, &http.MaxBytesError{Limit: limit}
	}
	// The connection's own writer, so that hitting the cap also marks the
	// connection to be closed after the answer.
	r.Body = http.MaxBytesReader(rootWriter(w), r.Body, limit)

	if err := s.pool.admit(); err != nil {
		// Read the body (up to the cap) before answering, so that the
		// client, still sending, gets the 503 rather than a reset, and
		// the connection can be reused.
		_, _ = io.Copy(io.Discard, r.Body)
		return nil, nil, err
	}
	data, err := readImage(r, multipart)
	if err != nil {
		s.pool.leave()
		return nil, nil, err
	}
	return s.detectData(r, det, data, opts, fq, annotated)
}

// detectData is detectFor's second half, shared with the routes that
// read their request in a shape of their own (DeepStack's form): from the
// image bytes of r, it checks the header, the options and the memory
// cost, then decodes and detects within the deadline. The caller holds a
// pool ticket (s.pool.admit); detectData gives it back on failure, and
// the release it returns on success gives it back with the memory.
func (s *Server) detectData(r *http.Request, det Detector, data []byte, opts cascade.Options, fq faceQuery, annotated bool) (*detection, func(), error) {
	lim := imageio.Limits{MaxPixels: s.cfg.MaxPixels}
	hd, err := imageio.DecodeHeader(data, lim)
	if err != nil {
		s.pool.leave()
		return nil, nil, fmt.Errorf("reading the image header: %w", err)
	}
	if info := infoFrom(r.Context()); info != nil {
		info.width, info.height, info.format = hd.Width, hd.Height, hd.Format
	}
	if err := detopts.CheckImage(hd.Width, hd.Height, opts, detopts.Query); err != nil {
		s.pool.leave()
		return nil, nil, err
	}
	cost := requestCost(hd, len(data), opts, annotated)
	cost += fq.extraCost(hd.Width, hd.Height, opts)
	if cost > s.budget.size {
		s.pool.leave()
		return nil, nil, fmt.Errorf("a %dx%d %s image: %w", hd.Width, hd.Height, hd.Format,
			s.budget.acquire(r.Context(), cost))
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.DetectTimeout)
	j := &job{
		s: s, ctx: ctx, cancel: cancel, det: det, data: data, lim: lim, opts: opts, fq: fq, cost: cost,
		results: make(chan jobResult), abandoned: make(chan struct{}),
	}
	go j.run()
	select {
	case res := <-j.results:
		if res.panicked != nil {
			panic(res.panicked) // the recoverer logs it with the job's stack
		}
		if res.err != nil {
			return nil, nil, res.err
		}
		if info := infoFrom(r.Context()); info != nil {
			info.faces = len(res.d.faces)
		}
		return res.d, j.release, nil
	case <-ctx.Done():
		close(j.abandoned)
		if r.Context().Err() == nil {
			s.metrics.abandoned.Inc()
		}
		return nil, nil, fmt.Errorf("detecting: %w", context.Cause(ctx))
	}
}

// job is one request's decoding and detection, run on a goroutine of its
// own by detectFor.
type job struct {
	s         *Server
	ctx       context.Context
	cancel    context.CancelFunc
	det       Detector
	data      []byte
	lim       imageio.Limits
	opts      cascade.Options
	fq        faceQuery
	cost      int64
	held      bool // the budget is held
	results   chan jobResult
	abandoned chan struct{} // closed when the handler has answered without the result
}

// jobResult is what a job hands the handler: a detection, or an error,
// or a panic to re-raise on the handler's goroutine.
type jobResult struct {
	d        *detection
	err      error
	panicked *jobPanic
}

// jobPanic is a panic of a job's goroutine, with that goroutine's stack,
// raised again on the handler's goroutine for the recoverer to report.
type jobPanic struct {
	value any
	stack []byte
}

// String gives the panic's value.
func (p *jobPanic) String() string { return fmt.Sprint(p.value) }

// release gives back what the job holds: its memory, its pool ticket
// and its context.
func (j *job) release() {
	if j.held {
		j.s.budget.release(j.cost)
		j.held = false
	}
	j.s.pool.leave()
	j.cancel()
}

// run waits for memory, decodes, waits for a slot and detects, then hands
// the result to the handler or, if it has answered already, releases
// everything itself.
func (j *job) run() {
	var res jobResult
	defer func() {
		if p := recover(); p != nil {
			res = jobResult{panicked: &jobPanic{value: p, stack: debug.Stack()}}
		}
		if res.d == nil {
			// Nothing for the handler to answer with: free the memory
			// now, before the handler answers.
			j.releaseBudget()
		}
		select {
		case j.results <- res:
			if res.d == nil {
				j.s.pool.leave()
				j.cancel()
			}
		case <-j.abandoned:
			j.release()
		}
	}()
	d, err := j.detect()
	res = jobResult{d: d, err: err}
}

// releaseBudget gives back the job's memory, if it holds it.
func (j *job) releaseBudget() {
	if j.held {
		j.s.budget.release(j.cost)
		j.held = false
	}
}

// detect is the job's work.
func (j *job) detect() (*detection, error) {
	s := j.s
	if err := s.budget.acquire(j.ctx, j.cost); err != nil {
		return nil, err
	}
	j.held = true
	img, format, err := imageio.Decode(bytes.NewReader(j.data), j.lim)
	if err != nil {
		return nil, fmt.Errorf("decoding the image: %w", err)
	}
	data := j.data // kept for a block-exact JPEG answer (counted in j.cost)
	j.data = nil
	b := img.Bounds()
	s.metrics.pixels.Observe(float64(b.Dx()) * float64(b.Dy()))
	if err := s.pool.acquire(j.ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	var rots []float64
	faces, stats, err := func() ([]cascade.Face, cascade.Stats, error) {
		defer s.pool.release()
		return j.fq.detect(j.ctx, j.det, img, j.opts, &rots)
	}()
	total := time.Since(start)
	if err != nil {
		if j.ctx.Err() != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (%w)", j.ctx.Err(), err)
		}
		return nil, fmt.Errorf("detecting: %w", err)
	}
	s.metrics.observeDetection(stats, total, len(faces))
	return &detection{img: img, codec: format, data: data, rots: rots, faces: faces, stats: stats, total: total}, nil
}

// readImage reads the image bytes of r: the whole body or, for a
// multipart form, its one file part named image_file. The rule for
// forms: every part named image_file must be a file part (with a file
// name, as curl -F image_file=@photo.jpg and browsers send it) and there
// must be exactly one; other parts are read past and ignored. Anything
// else is a 400 naming the problem. An empty image is imageio.ErrEmpty.
func readImage(r *http.Request, multipart bool) ([]byte, error) {
	if !multipart {
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, readError(err)
		}
		if len(data) == 0 {
			return nil, imageio.ErrEmpty
		}
		return data, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, newError(http.StatusBadRequest, "bad_multipart", "malformed multipart form: %v", err)
	}
	var data []byte
	found := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.As(err, new(*http.MaxBytesError)) {
				return nil, fmt.Errorf("reading the multipart form: %w", err)
			}
			return nil, &apiError{Status: http.StatusBadRequest, Code: "bad_multipart",
				Message: "malformed multipart form: " + err.Error(), Err: err}
		}
		if part.FormName() != formField {
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, readError(err)
			}
			continue
		}
		switch {
		case part.FileName() == "":
			return nil, newError(http.StatusBadRequest, "bad_multipart",
				"the form's %q part is a plain field, not a file: send the image as a file part "+
					"(Content-Disposition with a filename, as curl -F %s=@photo.jpg does)", formField, formField)
		case found:
			return nil, newError(http.StatusBadRequest, "bad_multipart",
				"the form has more than one %q file part: send exactly one image per request", formField)
		}
		found = true
		if data, err = io.ReadAll(part); err != nil {
			return nil, readError(err)
		}
	}
	if !found {
		return nil, newError(http.StatusBadRequest, "missing_image",
			"the multipart form has no %q file part", formField)
	}
	if len(data) == 0 {
		return nil, imageio.ErrEmpty
	}
	return data, nil
}

// readError wraps a failure to read the request body: the body cap is
// passed on as is (413); anything else (a body shorter than its declared
// length, a client gone quiet past the read timeout) is the client's: a
// 400.
func readError(err error) error {
	if errors.As(err, new(*http.MaxBytesError)) {
		return fmt.Errorf("reading the request body: %w", err)
	}
	return &apiError{Status: http.StatusBadRequest, Code: "incomplete_body",
		Message: "reading the request body failed: " + err.Error(), Err: err}
}

// parseOptions reads min_size, factor and thresholds=a,b,c from q with
// internal/detopts: an absent parameter means the cascade's default, a
// given one is honoured or refused (400 invalid_options naming it and its
// range), never replaced by the default. An empty parameter (min_size=)
// counts as given, and is not a number.
func parseOptions(q url.Values) (cascade.Options, error) {
	var t detopts.Text
	get := func(name string) *string {
		if !q.Has(name) {
			return nil
		}
		v := q.Get(name)
		return &v
	}
	t.MinSize, t.Factor, t.Thresholds = get("min_size"), get("factor"), get("thresholds")
	return detopts.Parse(t, detopts.Query)
}
