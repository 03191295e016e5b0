package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

// apiError is a failure with the HTTP status and machine-readable code the
// client is told. Handlers return it for failures of their own; errors
// from other packages are mapped by errorFor.
type apiError struct {
	// Status is the HTTP status code.
	Status int
	// Code is a short snake_case identifier, stable across releases.
	Code string
	// Message is a human-readable explanation safe to show the client.
	Message string
	// Err is the underlying cause, if any; it is logged, not sent.
	Err error
}

// Error returns the message, with the cause when there is one.
func (e *apiError) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *apiError) Unwrap() error { return e.Err }

// newError returns an *apiError with a formatted message and no cause.
func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// errNotReady is returned while the server has no detector.
var errNotReady = errors.New("detector not loaded yet")

// errorFor maps any error to what the client is told. It is the one
// place that decides statuses: every handler failure goes through it.
func errorFor(err error) *apiError {
	var e *apiError
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &maxBytes):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Message: fmt.Sprintf("request body exceeds the limit of %d bytes", maxBytes.Limit), Err: err}
	case errors.Is(err, errOverBudget):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "over_memory_budget",
			Message: err.Error() + "; send a smaller image", Err: err}
	case errors.Is(err, imageio.ErrEmpty):
		return &apiError{Status: http.StatusBadRequest, Code: "empty_image", Message: imageio.ErrEmpty.Error(), Err: err}
	case errors.Is(err, imageio.ErrTooLarge):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "image_too_large",
			Message: err.Error(), Err: err}
	case errors.Is(err, imageio.ErrUnsupported):
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_image",
			Message: err.Error() + " (supported formats: JPEG, PNG, GIF, BMP, TIFF, WebP, HEIC, AVIF)", Err: err}
	case errors.Is(err, imageio.ErrCorrupt):
		return &apiError{Status: http.StatusBadRequest, Code: "corrupt_image",
			Message: err.Error(), Err: err}
	case errors.Is(err, cascade.ErrOptions), errors.Is(err, cascade.ErrTooLarge):
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_options", Message: err.Error(), Err: err}
	case errors.Is(err, errBusy):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "busy",
			Message: "the server is busy, retry later", Err: err}
	case errors.Is(err, errNotReady):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "not_ready",
			Message: "the detector is still loading, retry later", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "timeout",
			Message: "the detection did not finish in time, retry later", Err: err}
	case errors.Is(err, context.Canceled):
		// The client is gone; nobody reads this. 499 is nginx's
		// "client closed request", kept apart from server failures.
		return &apiError{Status: 499, Code: "canceled", Message: "request canceled", Err: err}
	default:
		return &apiError{Status: http.StatusInternalServerError, Code: "internal",
			Message: "internal server error", Err: err}
	}
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers err as JSON with the status errorFor picks, adding
// Retry-After to 503s and WWW-Authenticate to 401s, and records the code
// for the request log.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := errorFor(err)
	info := infoFrom(r.Context())
	if info != nil {
		info.errCode = e.Code
		info.err = err
	}
	if e.Status >= 500 && e.Status != http.StatusServiceUnavailable {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", info.requestID()), slog.Any("err", err))
	}
	h := w.Header()
	switch e.Status {
	case http.StatusServiceUnavailable:
		secs := int64((s.cfg.RetryAfter + 999_999_999) / 1_000_000_000)
		h.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="mtcnn"`)
	}
	var body errorBody
	body.Error.Code, body.Error.Message = e.Code, e.Message
	writeJSON(w, e.Status, body)
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		// Only the server's own types are written; this cannot happen.
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"code":"internal","message":"encoding the answer failed"}}`)
	}
	data = append(data, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
