package server

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/annotate"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

// web holds the page served at / and the OpenAPI document.
//
//go:embed web/index.html web/app.js web/style.css web/openapi.json
//go:embed web/webcam.html web/webcam.js web/webcam.css
var web embed.FS

// formField is the multipart field that carries the image.
const formField = "image_file"

// routeTable lists every endpoint. The OpenAPI document must describe
// exactly these (see the openapi test).
func (s *Server) routeTable() []route {
	return []route{
		{method: http.MethodPost, path: "/infer", handler: s.handleAnnotate(false)},
		{method: http.MethodPost, path: "/v1/detect", handler: s.handleDetect},
		{method: http.MethodPost, path: "/v1/annotate", handler: s.handleAnnotate(true)},
		{method: http.MethodPost, path: "/v1/anonymize", handler: s.handleAnonymize},
		{method: http.MethodPost, path: "/v1/crops", handler: s.handleCrops},
		{method: http.MethodGet, path: "/", handler: s.handleAsset("web/index.html", "text/html; charset=utf-8")},
		{method: http.MethodGet, path: "/app.js", handler: s.handleAsset("web/app.js", "text/javascript; charset=utf-8")},
		{method: http.MethodGet, path: "/style.css", handler: s.handleAsset("web/style.css", "text/css; charset=utf-8")},
		{method: http.MethodGet, path: "/openapi.json", handler: s.handleAsset("web/openapi.json", "application/json")},
		{method: http.MethodGet, path: "/webcam", handler: s.handleAsset("web/webcam.html", "text/html; charset=utf-8")},
		{method: http.MethodGet, path: "/webcam.js", handler: s.handleAsset("web/webcam.js", "text/javascript; charset=utf-8")},
		{method: http.MethodGet, path: "/webcam.css", handler: s.handleAsset("web/webcam.css", "text/css; charset=utf-8")},
		{method: http.MethodGet, path: "/healthz", public: true, handler: s.handleHealthz},
		{method: http.MethodGet, path: "/readyz", public: true, handler: s.handleReadyz},
		{method: http.MethodGet, path: "/metrics", handler: s.metrics.handler().ServeHTTP},
	}
}

// detectResponse is the JSON answer of /v1/detect.
type detectResponse struct {
	Width    int            `json:"width"`
	Height   int            `json:"height"`
	Faces    faceRecordList `json:"faces"`
	TimingMS timingMS       `json:"timing_ms"`
}

// timingMS is the detection's time per stage and in all, in milliseconds.
type timingMS struct {
	PNet  float64 `json:"pnet"`
	RNet  float64 `json:"rnet"`
	ONet  float64 `json:"onet"`
	Total float64 `json:"total"`
}

// ms converts a duration to fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// detection is the outcome of one detection request.
type detection struct {
	img   image.Image
	codec string // the input's format, as imageio.Decode names it
	rots  []float64
	faces []cascade.Face
	stats cascade.Stats
	total time.Duration
}

// handleDetect serves POST /v1/detect.
func (s *Server) handleDetect(w http.ResponseWriter, r *http.Request) {
	d, release, err := s.detect(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer release()
	b := d.img.Bounds()
	writeJSON(w, http.StatusOK, detectResponse{
		Width: b.Dx(), Height: b.Dy(), Faces: d.records(),
		TimingMS: timingMS{
			PNet: ms(d.stats.Stage[0]), RNet: ms(d.stats.Stage[1]), ONet: ms(d.stats.Stage[2]),
			Total: ms(d.total),
		},
	})
}

// handleAnnotate serves POST /infer (always PNG) and, with withFormat,
// POST /v1/annotate (?format=png|jpeg).
func (s *Server) handleAnnotate(withFormat bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		format := "png"
		if withFormat {
			switch f := strings.ToLower(r.URL.Query().Get("format")); f {
			case "", "png":
			case "jpeg", "jpg":
				format = "jpeg"
			default:
				s.writeError(w, r, newError(http.StatusBadRequest, "invalid_format",
					"format %q is not png or jpeg", f))
				return
			}
		}
		d, release, err := s.detect(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer release()
		out := annotate.Draw(d.img, d.faces)
		var buf bytes.Buffer
		if format == "jpeg" {
			err = jpeg.Encode(&buf, out, &jpeg.Options{Quality: 90})
		} else {
			err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, out)
		}
		if err != nil {
			s.writeError(w, r, fmt.Errorf("encoding the annotated image: %w", err))
			return
		}
		h := w.Header()
		h.Set("Content-Type", "image/"+format)
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		h.Set("X-Face-Count", strconv.Itoa(len(d.faces)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf.Bytes())
	}
}

// detect reads the request's options and image and runs a detection
// under the pool's limits and the per-request deadline. On success the
// caller must call release once it has answered; it frees the request's
// place in the pool.
func (s *Server) detect(w http.ResponseWriter, r *http.Request) (*detection, func(), error) {
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
	admitted := true
	defer func() {
		if admitted {
			s.pool.leave()
		}
	}()

	src, err := imageReader(r, multipart)
	if err != nil {
		return nil, nil, err
	}
	img, format, err := imageio.Decode(src, imageio.Limits{MaxPixels: s.cfg.MaxPixels})
	if err != nil {
		return nil, nil, fmt.Errorf("decoding the image: %w", err)
	}
	b := img.Bounds()
	info := infoFrom(r.Context())
	if info != nil {
		info.width, info.height, info.format = b.Dx(), b.Dy(), format
	}
	s.metrics.pixels.Observe(float64(b.Dx()) * float64(b.Dy()))

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.DetectTimeout)
	defer cancel()
	if err := s.pool.acquire(ctx); err != nil {
		return nil, nil, err
	}
	start := time.Now()
	var rots []float64
	faces, stats, err := func() ([]cascade.Face, cascade.Stats, error) {
		defer s.pool.release()
		return fq.detect(ctx, det, img, opts, &rots)
	}()
	total := time.Since(start)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, nil, fmt.Errorf("detecting: %w", err)
	}
	s.metrics.observeDetection(stats, total, len(faces))
	if info != nil {
		info.faces = len(faces)
	}
	admitted = false
	return &detection{img: img, codec: format, rots: rots, faces: faces, stats: stats, total: total}, s.pool.leave, nil
}

// rootWriter returns the innermost of a chain of wrapped writers.
func rootWriter(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// bodyKind tells a multipart form (true) from a raw image body (false),
// or rejects the content type. A raw body may be declared as
// application/octet-stream, image/*, or not at all; curl's default
// application/x-www-form-urlencoded for --data-binary is accepted too.
func bodyKind(contentType string) (multipart bool, err error) {
	if contentType == "" {
		return false, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"cannot parse Content-Type %q", contentType)
	}
	switch {
	case mt == "multipart/form-data":
		return true, nil
	case mt == "application/octet-stream", strings.HasPrefix(mt, "image/"),
		mt == "application/x-www-form-urlencoded":
		return false, nil
	}
	return false, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
		"Content-Type %s is not accepted: send the image bytes as application/octet-stream or image/*, "+
			"or a multipart/form-data form with the image in the %q field", mt, formField)
}

// imageReader returns the image bytes of r: the body itself or the
// image_file part of a multipart form. It fails on an empty image.
func imageReader(r *http.Request, multipart bool) (io.Reader, error) {
	var src io.Reader = r.Body
	if multipart {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, newError(http.StatusBadRequest, "bad_multipart", "malformed multipart form: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, newError(http.StatusBadRequest, "missing_image",
					"the multipart form has no %q field", formField)
			}
			if err != nil {
				if errors.As(err, new(*http.MaxBytesError)) {
					return nil, fmt.Errorf("reading the multipart form: %w", err)
				}
				return nil, &apiError{Status: http.StatusBadRequest, Code: "bad_multipart",
					Message: "malformed multipart form: " + err.Error(), Err: err}
			}
			if part.FormName() == formField {
				src = part
				break
			}
		}
	}
	br := bufio.NewReader(src)
	if _, err := br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, newError(http.StatusBadRequest, "empty_image", "no image: the request body is empty")
		}
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	return br, nil
}

// parseOptions reads min_size, factor and thresholds=a,b,c from q. An
// absent or empty parameter, or a zero, means the cascade's default.
func parseOptions(q url.Values) (cascade.Options, error) {
	var o cascade.Options
	num := func(name, v string) (float32, error) {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 32)
		if err != nil {
			return 0, fmt.Errorf("%w: %s %q is not a number", cascade.ErrOptions, name, v)
		}
		return float32(f), nil
	}
	var err error
	if v := q.Get("min_size"); v != "" {
		if o.MinSize, err = num("min_size", v); err != nil {
			return o, err
		}
	}
	if v := q.Get("factor"); v != "" {
		if o.Factor, err = num("factor", v); err != nil {
			return o, err
		}
	}
	if v := q.Get("thresholds"); v != "" {
		if o.Thresholds, err = cascade.ParseThresholds(v); err != nil {
			return o, err
		}
	}
	return o, o.Validate()
}

// handleAsset serves one embedded file.
func (s *Server) handleAsset(name, contentType string) http.HandlerFunc {
	data, err := web.ReadFile(name)
	if err != nil {
		panic("server: missing embedded file " + name) // a build error, caught by every test
	}
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Content-Length", strconv.Itoa(len(data)))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		if strings.HasPrefix(contentType, "text/html") {
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; "+
				"script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(data)
		}
	}
}

// handleHealthz serves GET /healthz: the process is up.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz serves GET /readyz: 200 once a detector is installed.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if !s.Ready() {
		s.writeError(w, r, errNotReady)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
