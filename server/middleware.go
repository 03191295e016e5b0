package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"
)

// reqInfo is what the handlers tell the logging and metrics middleware
// about one request. It travels in the request's context.
type reqInfo struct {
	id      string
	route   string // routing pattern, "unmatched" when none
	width   int    // decoded image size, 0 when none
	height  int
	format  string
	faces   int // -1 when no detection ran
	errCode string
	err     error
}

// requestID returns the request id, or "" for a nil info.
func (i *reqInfo) requestID() string {
	if i == nil {
		return ""
	}
	return i.id
}

// infoKey is the context key of a request's *reqInfo.
type infoKey struct{}

// infoFrom returns the request's *reqInfo, or nil outside the middleware.
func infoFrom(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// WriteHeader records the status.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records the size and, for an implicit header, the status.
func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts the request body bytes the handler reads.
type countingBody struct {
	rc interface {
		Read([]byte) (int, error)
		Close() error
	}
	n int64
}

// Read reads from the body and counts.
func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	return n, err
}

// Close closes the body.
func (b *countingBody) Close() error { return b.rc.Close() }

// validRequestID reports whether a client-supplied X-Request-Id is safe to
// echo and log: 1 to 64 characters of [A-Za-z0-9._-].
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// newRequestID returns 16 random hex digits.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// middleware wraps next with, from the outside in: request id, metrics,
// structured logging and panic recovery.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		info := &reqInfo{id: id, route: "unmatched", faces: -1}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		body := &countingBody{rc: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		sw := &statusWriter{ResponseWriter: w}

		s.metrics.inFlight.Inc()
		defer func() {
			s.metrics.inFlight.Dec()
			elapsed := time.Since(start)
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			s.metrics.observeRequest(info.route, status, elapsed)
			s.logRequest(r, info, status, elapsed, body.n, sw.bytes)
		}()
		s.recoverer(next).ServeHTTP(sw, r)
	})
}

// recoverer turns a handler panic into a logged stack and a 500 answer,
// so the client gets a response instead of a dropped connection.
// http.ErrAbortHandler is passed on: it asks for exactly that drop.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			info := infoFrom(r.Context())
			stack := debug.Stack()
			if jp, ok := p.(*jobPanic); ok { // raised on a detection's goroutine
				stack = jp.stack
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
				slog.String("request_id", info.requestID()),
				slog.String("panic", fmt.Sprint(p)),
				slog.String("stack", string(stack)))
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				// The answer has begun; the best left is to end it.
				panic(http.ErrAbortHandler)
			}
			s.writeError(w, r, &apiError{Status: http.StatusInternalServerError, Code: "internal",
				Message: "internal server error", Err: fmt.Errorf("panic: %v", p)})
		}()
		next.ServeHTTP(w, r)
	})
}

// logRequest writes the one log line of a request.
func (s *Server) logRequest(r *http.Request, info *reqInfo, status int, elapsed time.Duration, in, out int64) {
	level := slog.LevelInfo
	switch {
	case status >= 500 && status != http.StatusServiceUnavailable:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", info.id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", info.route),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
		slog.Int64("bytes_in", in),
		slog.Int64("bytes_out", out),
		slog.String("remote", r.RemoteAddr),
	}
	if info.width > 0 {
		attrs = append(attrs,
			slog.String("image", strconv.Itoa(info.width)+"x"+strconv.Itoa(info.height)),
			slog.String("format", info.format))
	}
	if info.faces >= 0 {
		attrs = append(attrs, slog.Int("faces", info.faces))
	}
	if info.errCode != "" {
		attrs = append(attrs, slog.String("error_code", info.errCode))
		if info.err != nil {
			attrs = append(attrs, slog.String("error", info.err.Error()))
		}
	}
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}
