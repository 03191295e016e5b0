package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// DeepStack-compatible routes: the face detection API of DeepStack
// (github.com/johnolafenwa/DeepStack, server/server.go) as kept alive by
// CodeProject.AI Server, so that clients written for it (Home Assistant's
// deepstack_face, Node-RED, Blue Iris, Agent DVR, Double Take) work
// unchanged. Requests are multipart forms with the image in the "image"
// field and optional "min_confidence" and "api_key" fields; answers are
// {"success":true,"predictions":[...],"duration":0} or
// {"success":false,"error":"...","duration":0} with DeepStack's statuses.

// DeepStack's defaults for min_confidence when the field is absent
// (DeepStack server/server.go: facedetection "0.55", detection "0.40").
const (
	DeepStackFaceMinConfidence      = 0.55
	DeepStackDetectionMinConfidence = 0.40
)

// The form fields DeepStack reads.
const (
	deepstackImageField = "image"
	deepstackMinField   = "min_confidence"
	deepstackKeyField   = "api_key"
	// maxFieldBytes caps a text field of the form.
	maxFieldBytes = 1 << 10
)

// DeepStack's error messages (server/middlewares/middlewares.go and the
// detection workers), used where DeepStack has one.
const (
	dsNoImage       = "No valid image file found"
	dsInvalidImage  = "invalid image"
	dsInvalidMin    = "Invalid value for min_confidence"
	dsMinAboveOne   = "min_confidence cannot be greater than 1"
	dsIncorrectKey  = "Incorrect api key"
	dsInternalError = "error occured on the server" // sic, DeepStack's spelling
)

// deepstackPrediction is one face in a DeepStack answer: integer pixel
// corners and the score; Label is "face" on the object detection route
// and absent on the face route, as in DeepStack.
type deepstackPrediction struct {
	Confidence float32 `json:"confidence"`
	Label      string  `json:"label,omitempty"`
	XMin       int     `json:"x_min"`
	YMin       int     `json:"y_min"`
	XMax       int     `json:"x_max"`
	YMax       int     `json:"y_max"`
}

// deepstackResponse is a DeepStack success answer. Duration is always 0,
// as DeepStack sends it (its Go front end never fills the field).
type deepstackResponse struct {
	Success     bool                  `json:"success"`
	Predictions []deepstackPrediction `json:"predictions"`
	Duration    float64               `json:"duration"`
}

// deepstackError is a DeepStack failure answer (DeepStack's
// response.ErrorResponse, duration included).
type deepstackError struct {
	Success  bool    `json:"success"`
	Error    string  `json:"error"`
	Duration float64 `json:"duration"`
}

// deepstackForm is what a DeepStack request's multipart form carries.
type deepstackForm struct {
	image    []byte
	hasImage bool
	minConf  string
	hasMin   bool
	apiKey   string
}

// handleDeepStack serves POST /v1/vision/face (label "") and POST
// /v1/vision/detection (label "face"), with defMin the min_confidence
// used when the form has none.
func (s *Server) handleDeepStack(label string, defMin float64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		faces, img, minConf, err := s.deepstackDetect(w, r, defMin)
		if err != nil {
			s.writeDeepStackError(w, r, err)
			return
		}
		preds := deepstackPredictions(faces, img.w, img.h, minConf, label)
		if info := infoFrom(r.Context()); info != nil {
			info.faces = len(preds)
		}
		writeJSON(w, http.StatusOK, deepstackResponse{Success: true, Predictions: preds})
	}
}

// deepstackPredictions converts faces found in a w x h image into
// DeepStack predictions: the faces scoring above minConf (DeepStack's
// strict ">"), in the detector's order, each corner clipped into the
// image ([0, w] and [0, h]) and then truncated to an integer, as
// DeepStack's int() does on its clipped float boxes. label is set on each
// prediction (DeepStack's object route says "face"; its face route has
// no label: pass "").
func deepstackPredictions(faces []cascade.Face, w, h int, minConf float64, label string) []deepstackPrediction {
	preds := make([]deepstackPrediction, 0, len(faces))
	clip := func(v float32, hi int) int {
		f := math.Floor(float64(v))
		switch {
		case math.IsNaN(f) || f < 0:
			return 0
		case f > float64(hi):
			return hi
		}
		return int(f)
	}
	for _, f := range faces {
		if !(float64(f.Score) > minConf) {
			continue
		}
		preds = append(preds, deepstackPrediction{
			Confidence: f.Score,
			Label:      label,
			XMin:       clip(f.Box[0], w),
			YMin:       clip(f.Box[1], h),
			XMax:       clip(f.Box[2], w),
			YMax:       clip(f.Box[3], h),
		})
	}
	return preds
}

// deepstackDetect reads a DeepStack request and runs the detection under
// the server's limits: the body cap, the pool (the request holds its
// place while the form is read, so at most Concurrency+Queue images are
// in memory), the pixel cap, the memory budget and the per-request
// deadline, as detectFor does. It checks, in
// DeepStack's order, the API key (bearer header or api_key field), the
// image field and min_confidence. Query parameters min_size, factor and
// thresholds tune the cascade as on /v1/detect.
func (s *Server) deepstackDetect(w http.ResponseWriter, r *http.Request, defMin float64) ([]cascade.Face, imgSize, float64, error) {
	var none imgSize
	opts, err := parseOptions(r.URL.Query())
	if err != nil {
		return nil, none, 0, err
	}
	opts.FMA = s.cfg.FMA
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, none, 0, &http.MaxBytesError{Limit: limit}
	}
	r.Body = http.MaxBytesReader(rootWriter(w), r.Body, limit)
	if err := s.pool.admit(); err != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		return nil, none, 0, err
	}
	// detectData takes the ticket over; until then it is given back here.
	handed := false
	defer func() {
		if !handed {
			s.pool.leave()
		}
	}()

	form, err := readDeepStackForm(r)
	if err != nil {
		return nil, none, 0, err
	}
	if !s.deepstackAuthorized(r, form.apiKey) {
		return nil, none, 0, newError(http.StatusUnauthorized, "unauthorized", dsIncorrectKey)
	}
	if !form.hasImage {
		return nil, none, 0, newError(http.StatusBadRequest, "missing_image", dsNoImage)
	}
	minConf, err := parseMinConfidence(form.minConf, form.hasMin, defMin)
	if err != nil {
		return nil, none, 0, err
	}
	if len(form.image) == 0 {
		return nil, none, 0, newError(http.StatusBadRequest, "empty_image", dsInvalidImage)
	}
	det := s.detector()
	if det == nil {
		return nil, none, 0, errNotReady
	}
	handed = true
	d, release, err := s.detectData(r, det, form.image, opts, faceQuery{}, false)
	if err != nil {
		return nil, none, 0, err
	}
	release()
	b := d.img.Bounds()
	return d.faces, imgSize{b.Dx(), b.Dy()}, minConf, nil
}

// imgSize is the size of a decoded image.
type imgSize struct{ w, h int }

// readDeepStackForm reads the multipart form of r: the image (buffered,
// within the body cap), min_confidence and api_key (the first of each;
// at most maxFieldBytes), skipping other fields. Fields may come in any
// order. A body that is not a multipart form has no image, as in
// DeepStack.
func readDeepStackForm(r *http.Request) (*deepstackForm, error) {
	var f deepstackForm
	mr, err := r.MultipartReader()
	if err != nil {
		// Not a form: read what there is (within the cap), so that an
		// oversized body is still answered 413, then say "no image".
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return nil, fmt.Errorf("reading the request body: %w", err)
		}
		return &f, nil
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return &f, nil
		}
		if err != nil {
			if errors.As(err, new(*http.MaxBytesError)) {
				return nil, fmt.Errorf("reading the multipart form: %w", err)
			}
			return nil, &apiError{Status: http.StatusBadRequest, Code: "bad_multipart",
				Message: "malformed multipart form: " + err.Error(), Err: err}
		}
		name := part.FormName()
		switch {
		case name == deepstackImageField && !f.hasImage:
			var buf bytes.Buffer
			if _, err := io.Copy(&buf, part); err != nil {
				return nil, formReadError(err)
			}
			f.image, f.hasImage = buf.Bytes(), true
		case name == deepstackMinField && !f.hasMin, name == deepstackKeyField && f.apiKey == "":
			data, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return nil, formReadError(err)
			}
			if len(data) > maxFieldBytes {
				return nil, newError(http.StatusBadRequest, "bad_multipart",
					"form field %s is longer than %d bytes", name, maxFieldBytes)
			}
			if name == deepstackMinField {
				f.minConf, f.hasMin = string(data), true
			} else {
				f.apiKey = string(data)
			}
		}
		// NextPart skips whatever of the part was not read.
	}
}

// formReadError wraps a failure reading a form part: the body cap stays
// recognisable (413), anything else is a malformed form.
func formReadError(err error) error {
	if errors.As(err, new(*http.MaxBytesError)) {
		return fmt.Errorf("reading the multipart form: %w", err)
	}
	return &apiError{Status: http.StatusBadRequest, Code: "bad_multipart",
		Message: "malformed multipart form: " + err.Error(), Err: err}
}

// parseMinConfidence returns the min_confidence field's value, or def
// when the form has none or an empty one (DeepStack treats "" as absent).
// Like DeepStack it refuses what is not a number, and values above 1;
// NaN and infinities are refused too. Values at or below 0 keep every
// face the cascade returns.
func parseMinConfidence(v string, has bool, def float64) (float64, error) {
	v = strings.TrimSpace(v)
	if !has || v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, &apiError{Status: http.StatusBadRequest, Code: "invalid_options", Message: dsInvalidMin,
			Err: fmt.Errorf("%w: min_confidence %q is not a number", cascade.ErrOptions, v)}
	}
	if f > 1 {
		return 0, &apiError{Status: http.StatusBadRequest, Code: "invalid_options", Message: dsMinAboveOne,
			Err: fmt.Errorf("%w: min_confidence %g is above 1", cascade.ErrOptions, f)}
	}
	return f, nil
}

// deepstackAuthorized reports whether r may use the DeepStack routes: no
// token is configured, or r carries it as a bearer token (as every other
// route takes it) or in the api_key form field (as DeepStack takes it).
// Digests are compared in constant time.
func (s *Server) deepstackAuthorized(r *http.Request, apiKey string) bool {
	if s.cfg.AuthToken == "" {
		return true
	}
	want := sha256.Sum256([]byte(s.cfg.AuthToken))
	same := func(tok string) bool {
		got := sha256.Sum256([]byte(tok))
		return subtle.ConstantTimeCompare(got[:], want[:]) == 1
	}
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok &&
		strings.EqualFold(scheme, "Bearer") && same(strings.TrimSpace(tok)) {
		return true
	}
	return apiKey != "" && same(apiKey)
}

// writeDeepStackError answers err in DeepStack's error shape. The status
// is errorFor's, except that an image the decoder cannot read is 400
// "invalid image", as in DeepStack; the message is DeepStack's where it
// has one. It logs and records the error like writeError.
func (s *Server) writeDeepStackError(w http.ResponseWriter, r *http.Request, err error) {
	e := errorFor(err)
	status, msg := e.Status, e.Message
	switch e.Code {
	case "unsupported_image", "corrupt_image", "empty_image":
		status, msg = http.StatusBadRequest, dsInvalidImage+": "+e.Message
		if e.Code == "empty_image" {
			msg = dsInvalidImage
		}
	case "internal":
		msg = dsInternalError
	}
	info := infoFrom(r.Context())
	if info != nil {
		info.errCode = e.Code
		info.err = err
	}
	if status >= 500 && status != http.StatusServiceUnavailable {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", info.requestID()), slog.Any("err", err))
	}
	h := w.Header()
	switch status {
	case http.StatusServiceUnavailable:
		secs := int64((s.cfg.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="mtcnn"`)
	}
	writeJSON(w, status, deepstackError{Success: false, Error: msg})
}
