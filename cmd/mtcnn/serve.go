package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/server"
)

const serveUsage = `Usage: mtcnn serve [flags]

Serves the HTTP API and web page:
  GET  /                  web page: choose or drop an image, see the faces
  POST /v1/detect         image in (raw body or multipart field image_file), JSON faces out
  POST /v1/annotate       image in, image with faces outlined out (?format=png|jpeg)
  POST /infer             image in, PNG with faces outlined out
  POST /v1/vision/face    DeepStack/CodeProject.AI face API (multipart field image; /v1/vision/detection too)
  GET  /healthz, /readyz  liveness and readiness probes
  GET  /metrics           Prometheus metrics
  GET  /openapi.json      OpenAPI 3 description of the API
Query parameters min_size, factor and thresholds=a,b,c tune detection.

Memory: each request's cost is estimated from its image header before
decoding (body + decoded image + detection working set); requests wait
until their cost fits in -max-memory (minus 64 MiB kept for the process),
within -timeout, else 503; a request that can never fit gets 413.

The listen address is -addr, else :$PORT when PORT is set, else :8080.
The bearer token is -auth-token, else $MTCNN_AUTH_TOKEN; when set, every
endpoint but /healthz and /readyz requires "Authorization: Bearer TOKEN".
SIGINT or SIGTERM stops accepting, lets in-flight requests finish (up to
-shutdown-timeout) and exits 0.

Flags:
`

// runServe runs "mtcnn serve" until ctx is done or SIGINT/SIGTERM, and
// returns the process exit code: 0 after a clean shutdown, 1 on failure,
// 2 on a usage error.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	def := server.DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage); fs.PrintDefaults() }
	addr := fs.String("addr", "", "listen `host:port` (default :$PORT or :8080)")
	token := fs.String("auth-token", "", "require this bearer `token` (default $MTCNN_AUTH_TOKEN; empty: no auth)")
	maxBody := fs.Int64("max-body", def.MaxBodyBytes, "largest request body in `bytes` (larger: 413)")
	maxPixels := fs.Int64("max-pixels", def.MaxPixels, "largest image in pixels, checked before decoding (larger: 413)")
	var maxMemory byteSize
	fs.Var(&maxMemory, "max-memory", "memory budget `size`, e.g. 700MB or 2GiB: requests are admitted by their cost estimated from the image header, "+
		"one that can never fit gets 413, and the Go runtime's soft memory limit is set to it "+
		"(default: GOMEMLIMIT, else 90% of the cgroup memory limit, else 2GiB)")
	concurrency := fs.Int("concurrency", def.Concurrency, "detections run at once")
	queue := fs.Int("queue", 0, "requests that may wait for a detection; more get 503 at once (0: 2×concurrency, -1: none)")
	timeout := fs.Duration("timeout", def.DetectTimeout, "per-request deadline for queueing plus detection (past it: 503)")
	shutdownTimeout := fs.Duration("shutdown-timeout", server.DefaultShutdownTimeout, "how long in-flight requests may take to finish on shutdown")
	modelPath := fs.String("model", "", "model to use instead of the embedded one (converted weights file or frozen graph .pb)")
	logFormat := fs.String("log-format", "json", "log format on stderr: json or text")
	fma := fs.Bool("fma", false, "use fused multiply-add where the CPU has it: faster, results within rounding of the reference instead of bit-exact")
	wasmDir := fs.String("wasm-dir", "", "`folder` with the browser build (mtcnn.wasm, wasm_exec.js: dist/web/wasm from go run ./cmd/release) for the page's in-browser detection")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "mtcnn serve: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *maxBody <= 0:
		return usageErr("-max-body must be positive")
	case *maxPixels <= 0:
		return usageErr("-max-pixels must be positive")
	case maxMemory != 0 && maxMemory < 32<<20:
		return usageErr("-max-memory must be at least 32MiB")
	case *concurrency <= 0:
		return usageErr("-concurrency must be positive")
	case *queue < -1:
		return usageErr("-queue must be -1 (none), 0 (default) or positive")
	case *timeout <= 0:
		return usageErr("-timeout must be positive")
	case *shutdownTimeout <= 0:
		return usageErr("-shutdown-timeout must be positive")
	}
	var handler slog.Handler
	switch *logFormat {
	case "json":
		handler = slog.NewJSONHandler(stderr, nil)
	case "text":
		handler = slog.NewTextHandler(stderr, nil)
	default:
		return usageErr("-log-format must be json or text, not %q", *logFormat)
	}
	logger := slog.New(handler)

	if *addr == "" {
		*addr = ":8080"
		if port := os.Getenv("PORT"); port != "" {
			*addr = ":" + port
		}
	}
	if *token == "" {
		*token = os.Getenv("MTCNN_AUTH_TOKEN")
	}
	cfg := server.Config{
		AuthToken:     *token,
		MaxBodyBytes:  *maxBody,
		MaxPixels:     *maxPixels,
		MaxMemory:     int64(maxMemory),
		Concurrency:   *concurrency,
		Queue:         *queue,
		DetectTimeout: *timeout,
		WasmDir:       *wasmDir,
		FMA:           *fma,
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn serve: %v\n", err)
		return 1
	}
	srv := server.New(cfg, nil, logger)
	// The budget is the process's: the runtime collects harder as the
	// heap nears it, rather than growing past it.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(srv.Config().MaxMemory))
	logger.Info("memory budget", "max_memory_bytes", srv.Config().MaxMemory)
	if err := srv.Open(ln); err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "mtcnn serve: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "mtcnn: serving on %s (auth %s)\n", srv.URL(), map[bool]string{true: "on", false: "off"}[*token != ""])

	// Load the model while already listening: /healthz answers at once,
	// /readyz once the detector is in place.
	loaded := make(chan error, 1)
	go func() {
		start := time.Now()
		det, err := loadDetector(*modelPath)
		if err == nil {
			srv.SetDetector(det)
			logger.Info("detector ready", "load_ms", time.Since(start).Milliseconds())
		}
		loaded <- err
	}()

	code := 0
wait:
	for {
		select {
		case <-ctx.Done():
			logger.Info("shutting down", "cause", context.Cause(ctx).Error())
			break wait
		case <-srv.Done():
			code = 1 // the serve loop failed; Close reports why
			break wait
		case err := <-loaded:
			loaded = nil
			if err != nil {
				logger.Error("loading the detector failed", "err", err)
				code = 1
				break wait
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *shutdownTimeout)
	defer cancel()
	if err := srv.Close(sctx); err != nil {
		logger.Error("shutdown", "err", err)
		return 1
	}
	return code
}

// loadDetector builds the detector from the embedded model (path "") or
// the model file at path.
func loadDetector(path string) (*cascade.Detector, error) {
	if path == "" {
		det, err := cascade.NewDefault()
		if err != nil {
			return nil, fmt.Errorf("embedded model: %w", err)
		}
		return det, nil
	}
	m, err := loadModel(path)
	if err != nil {
		return nil, err
	}
	det, err := cascade.New(m)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return det, nil
}
