// Package server is the HTTP face of the detector: an image-in,
// faces-out JSON API, an annotated-image API, a small embedded web page,
// health and readiness probes, Prometheus metrics and an OpenAPI document.
//
// A Server is built from a Config, a Detector and a logger, and either
// mounted with Handler (tests, embedding) or run with Open and Close,
// which own an http.Server with real timeouts and a graceful shutdown.
//
// Detections are admitted through a bounded pool: at most
// Config.Concurrency run at once and at most Config.Queue more wait; a
// request that finds the pool and its queue full is answered 503 with
// Retry-After at once instead of piling up. An admitted request holds its
// place while its body is read and decoded.
//
// Memory is held to a budget, Config.MaxMemory: each request's cost is
// estimated from its image header before any pixel is decoded (the body,
// the decoded image and the detection's working set; see requestCost),
// and a request waits until its cost fits beside the requests already
// holding memory. One that could never fit is answered 413
// (over_memory_budget). When the last large request in flight ends, the
// freed heap is returned to the operating system.
//
// A request that misses its deadline (Config.DetectTimeout, which covers
// waiting for memory, decoding, waiting for a slot and detecting) is
// answered 503 with Retry-After at the deadline, not 504: the server is
// overloaded, the request itself was fine and may be retried.
package server

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

// Detector finds faces in an image. *cascade.Detector satisfies it; it
// must be safe for concurrent use and should return promptly, with an
// error wrapping ctx.Err(), once ctx is done.
type Detector interface {
	DetectStats(ctx context.Context, img image.Image, opts cascade.Options) ([]cascade.Face, cascade.Stats, error)
}

// Defaults used for the zero fields of a Config.
const (
	DefaultMaxBodyBytes      = 20 << 20 // 20 MiB
	DefaultMaxPixels         = imageio.DefaultMaxPixels
	DefaultDetectTimeout     = 30 * time.Second
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 75 * time.Second // at least; see Config.WriteTimeout
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultRetryAfter        = 1 * time.Second
)

// Config holds a Server's settings. The zero value is usable: every zero
// field means the default named in its comment (see DefaultConfig), so a
// caller sets only what it wants to change.
type Config struct {
	// AuthToken, when not empty, is the bearer token every endpoint but
	// /healthz and /readyz requires ("Authorization: Bearer <token>").
	// Empty means no authentication.
	AuthToken string

	// MaxBodyBytes caps a request body; a larger one is answered 413.
	// Zero means DefaultMaxBodyBytes (20 MiB).
	MaxBodyBytes int64
	// MaxPixels caps an image's width*height, checked from its header
	// before decoding; a larger image is answered 413. Zero means
	// DefaultMaxPixels (50 megapixels).
	MaxPixels int64

	// MaxMemory is the memory budget in bytes. Requests are admitted by
	// their estimated cost so that together they hold at most MaxMemory
	// minus a reserve for the process itself (MaxProcessReserve, 64 MiB,
	// or a quarter of MaxMemory if less); a request whose cost alone
	// exceeds that is answered 413. The server does not set the Go
	// runtime's memory limit itself (it is process-wide); mtcnn serve sets
	// it to MaxMemory with debug.SetMemoryLimit. Zero means
	// DefaultMaxMemory(): GOMEMLIMIT, else 90 % of the cgroup memory
	// limit, else 2 GiB.
	MaxMemory int64

	// Concurrency is how many detections may run at once. Zero means
	// runtime.GOMAXPROCS(0).
	Concurrency int
	// Queue is how many more requests may wait for a detection slot; past
	// that a request is answered 503 at once. Zero means 2*Concurrency; a
	// negative value means no queue.
	Queue int
	// DetectTimeout is the per-request deadline, counted once the body
	// is read, for waiting for memory, decoding, waiting for a detection
	// slot and the detection itself; a request past it is answered 503
	// with code "timeout" at the deadline. Zero means
	// DefaultDetectTimeout (30 s).
	DetectTimeout time.Duration
	// RetryAfter is what 503 answers put in their Retry-After header,
	// rounded up to whole seconds. Zero means DefaultRetryAfter (1 s).
	RetryAfter time.Duration

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are the
	// http.Server's timeouts used by Open. ReadTimeout bounds reading the
	// whole request, body included. WriteTimeout runs from the end of the
	// request header to the end of the answer, so it must cover reading
	// the body, queueing, detecting and writing. Zero means 5 s, 30 s,
	// the larger of 75 s and ReadTimeout+DetectTimeout+15 s, and 120 s.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// WasmDir is the folder holding the browser build, mtcnn.wasm and
	// wasm_exec.js (the release's dist/web/wasm), served under /wasm/ for
	// the page's "detect in this browser" option. Empty means the page
	// offers only server-side detection.
	WasmDir string

	// FMA runs every detection with cascade.Options.FMA: fused
	// multiply-add where the CPU has it, faster, within rounding of the
	// reference rather than bit for bit. False means exact arithmetic.
	FMA bool
}

// DefaultConfig returns the configuration the zero Config stands for,
// with every field spelled out.
func DefaultConfig() Config {
	return Config{}.withDefaults()
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxPixels <= 0 {
		c.MaxPixels = DefaultMaxPixels
	}
	if c.MaxMemory <= 0 {
		c.MaxMemory = DefaultMaxMemory()
	}
	if c.Concurrency <= 0 {
		c.Concurrency = runtime.GOMAXPROCS(0)
	}
	switch {
	case c.Queue == 0:
		c.Queue = 2 * c.Concurrency
	case c.Queue < 0:
		c.Queue = -1
	}
	if c.DetectTimeout <= 0 {
		c.DetectTimeout = DefaultDetectTimeout
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = max(DefaultWriteTimeout, c.ReadTimeout+c.DetectTimeout+15*time.Second)
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}

// queueLen is the queue length the Config stands for (Queue -1 is none).
func (c Config) queueLen() int { return max(c.Queue, 0) }

// detectorBox lets the detector be swapped in atomically by SetDetector.
type detectorBox struct{ d Detector }

// Server serves the detector over HTTP. Build one with New; it is safe
// for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	det     atomic.Pointer[detectorBox]
	pool    *pool
	budget  *budget
	metrics *metrics
	routes  []route
	handler http.Handler

	mu      sync.Mutex // guards the fields below
	srv     *http.Server
	ln      net.Listener
	done    chan struct{}
	closed  bool
	serveEr error
}

// New returns a Server for cfg (zero fields mean defaults) that detects
// with det and logs to logger (nil means slog.Default()). det may be nil:
// the server then answers /readyz and the detection endpoints 503 until
// SetDetector supplies one, so a process can listen while the model loads.
func New(cfg Config, det Detector, logger *slog.Logger) *Server {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{
		cfg:    cfg,
		log:    logger,
		pool:   newPool(cfg.Concurrency, cfg.queueLen()),
		budget: newBudget(requestShare(cfg.MaxMemory)),
	}
	s.metrics = newMetrics(s.pool, s.budget)
	if det != nil {
		s.SetDetector(det)
	}
	s.routes = s.routeTable()
	s.handler = s.middleware(s.withWasm(s.newRouter(s.routes, s.cfg.AuthToken)))
	return s
}

// SetDetector installs det (nil uninstalls it); the server is ready while
// it has one.
func (s *Server) SetDetector(det Detector) {
	if det == nil {
		s.det.Store(nil)
		return
	}
	s.det.Store(&detectorBox{d: det})
}

// detector returns the installed detector or nil.
func (s *Server) detector() Detector {
	if b := s.det.Load(); b != nil {
		return b.d
	}
	return nil
}

// Ready reports whether the server has a detector.
func (s *Server) Ready() bool { return s.detector() != nil }

// Config returns the server's configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Handler returns the server's root handler, with routing, request ids,
// logging, metrics, panic recovery and authentication.
func (s *Server) Handler() http.Handler { return s.handler }

// Open starts serving on ln in the background with the configured
// timeouts. It fails if the server is already open. The server owns ln
// from then on; Close closes it.
func (s *Server) Open(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil || s.closed {
		return errors.New("server: already opened")
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.srv, s.ln, s.done = srv, ln, make(chan struct{})
	go func() {
		defer close(s.done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.serveEr = fmt.Errorf("server: serving: %w", err)
			s.mu.Unlock()
			s.log.Error("serve failed", "err", err)
		}
	}()
	s.log.Info("listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the address the server listens on, or nil before Open.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// URL returns the server's base URL, like "http://127.0.0.1:8080", or ""
// before Open. An unspecified listen address is reported as loopback.
func (s *Server) URL() string {
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	ip := addr.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return "http://" + net.JoinHostPort(ip.String(), fmt.Sprint(addr.Port))
}

// Done returns a channel closed when the serve loop started by Open ends,
// whether by Close or by a listener failure (see Close for the error).
// Before Open it returns nil.
func (s *Server) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Close shuts the server down gracefully: it stops accepting, closes idle
// connections and waits for in-flight requests to finish, until ctx is
// done; then it closes the remaining connections and returns an error
// wrapping ctx.Err(). It also returns a serve-loop failure, if any.
// Closing a server that was never opened, or again, does nothing.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	srv, done, closed := s.srv, s.done, s.closed
	s.closed = true
	s.mu.Unlock()
	if srv == nil || closed {
		return nil
	}
	var err error
	if serr := srv.Shutdown(ctx); serr != nil {
		err = fmt.Errorf("server: shutdown: %w", serr)
		if cerr := srv.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("server: close: %w", cerr))
		}
	}
	<-done
	s.mu.Lock()
	err = errors.Join(err, s.serveEr)
	s.mu.Unlock()
	s.log.Info("stopped")
	return err
}
