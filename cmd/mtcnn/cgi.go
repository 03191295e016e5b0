package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/mtcnn-go/mtcnn/server"
)

// CGI and WAGI mode: started by a web server as a CGI program (lighttpd,
// Apache, nginx+fcgiwrap...) or by a WebAssembly host as a WAGI module
// (Spin, wasmtime, wazero), the binary serves exactly one request, read
// from the CGI environment variables and stdin, and writes the CGI
// answer (headers, a blank line, the body) to stdout. The routes and
// their behaviour are those of "mtcnn serve": the same server.Server
// answers, with its limits, auth, errors and DeepStack routes.

// cgiUsage documents the environment CGI mode reads.
const cgiUsage = `CGI / WAGI mode: when GATEWAY_INTERFACE is set and the first argument is
not an mtcnn command, mtcnn serves one request on stdin/stdout with the
routes of "mtcnn serve", routed on PATH_INFO. Settings come from:
  MTCNN_AUTH_TOKEN   bearer token (or DeepStack api_key) every route but /healthz, /readyz needs
  MTCNN_MODEL        model file or ONNX folder instead of the embedded model
  MTCNN_FMA=1        fused multiply-add (faster, within rounding of the reference)
  MTCNN_MAX_BODY     largest request body in bytes (default 20 MiB)
  MTCNN_MAX_PIXELS   largest image in pixels (default 50 megapixels)
  MTCNN_TIMEOUT      deadline for the detection, a Go duration (default 30s; past it: 503)
  MTCNN_LOG_LEVEL    log level on stderr: debug, info, warn (default), error
`

// commands are the first arguments that run an mtcnn command even when
// GATEWAY_INTERFACE is set (a CGI script may run "mtcnn detect" itself):
// every command main.go's usage text lists ("  mtcnn NAME ..." lines, so
// a command added there is covered without editing this file), and the
// spellings of version and help.
var commands = append(usageCommands(usage), "-version", "--version", "help", "-h", "-help", "--help")

// usageCommands returns the command names of a usage text's
// "  mtcnn NAME ..." lines.
func usageCommands(text string) []string {
	var names []string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "mtcnn" || !strings.HasPrefix(line, "  ") ||
			strings.HasPrefix(f[1], "-") || strings.ToUpper(f[1]) == f[1] {
			continue // not a command line, or "mtcnn COMMAND -h"
		}
		names = append(names, f[1])
	}
	return names
}

// cgiMode reports whether the process was started as a CGI program: the
// gateway variable is set and args (without the program name) do not
// start with an mtcnn command. WAGI hosts pass query words as arguments.
func cgiMode(getenv func(string) string, args []string) bool {
	if getenv("GATEWAY_INTERFACE") == "" {
		return false
	}
	for _, c := range commands {
		if len(args) > 0 && args[0] == c {
			return false
		}
	}
	return true
}

// runCGI serves the one request of a CGI invocation with net/http/cgi
// (which reads os.Stdin and writes os.Stdout) and returns the exit code:
// 0 once an answer (whatever its status) is written, 1 when the
// environment is not a valid CGI request or the settings are invalid
// (then a 500 is written to stdout).
func runCGI(getenv func(string) string, stdout, stderr io.Writer) int {
	level := slog.LevelWarn
	if v := getenv("MTCNN_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return cgiFail(stdout, stderr, fmt.Errorf("MTCNN_LOG_LEVEL: %w", err))
		}
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := cgiConfig(getenv)
	if err != nil {
		return cgiFail(stdout, stderr, err)
	}
	det, err := loadDetector(getenv("MTCNN_MODEL"))
	if err != nil {
		return cgiFail(stdout, stderr, err)
	}
	srv := server.New(cfg, det, logger)
	h := srv.Handler()
	scriptName, pathInfo := getenv("SCRIPT_NAME"), getenv("PATH_INFO")
	routed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = cgiPath(r.URL.Path, scriptName, pathInfo)
		r.URL.RawPath = ""
		h.ServeHTTP(w, r)
	})
	if err := cgi.Serve(routed); err != nil {
		fmt.Fprintf(stderr, "mtcnn: CGI: %v\n\n%s", err, cgiUsage)
		return 1
	}
	return 0
}

// cgiConfig reads the server settings of CGI mode from the environment.
func cgiConfig(getenv func(string) string) (server.Config, error) {
	cfg := server.Config{AuthToken: getenv("MTCNN_AUTH_TOKEN")}
	for _, v := range []struct {
		name string
		dst  *int64
	}{{"MTCNN_MAX_BODY", &cfg.MaxBodyBytes}, {"MTCNN_MAX_PIXELS", &cfg.MaxPixels}} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return cfg, fmt.Errorf("%s=%q is not a positive integer", v.name, s)
		}
		*v.dst = n
	}
	if s := getenv("MTCNN_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("MTCNN_TIMEOUT=%q is not a positive duration such as 90s", s)
		}
		cfg.DetectTimeout = d
	}
	switch s := getenv("MTCNN_FMA"); s {
	case "", "0", "false":
	case "1", "true":
		cfg.FMA = true
	default:
		return cfg, fmt.Errorf("MTCNN_FMA=%q is not 0, 1, true or false", s)
	}
	return cfg, nil
}

// cgiPath returns the path to route a CGI request on: PATH_INFO when the
// server passes one (the part after the program's own URL, e.g.
// /v1/detect of /cgi-bin/mtcnn/v1/detect), else the request path without
// the SCRIPT_NAME prefix, else "/". It is always a clean absolute path.
func cgiPath(urlPath, scriptName, pathInfo string) string {
	p := pathInfo
	if p == "" {
		p = urlPath
		if scriptName != "" && scriptName != "/" && strings.HasPrefix(p, scriptName) {
			p = strings.TrimPrefix(p, scriptName)
		}
	}
	if p == "" {
		return "/"
	}
	trailing := strings.HasSuffix(p, "/") && p != "/"
	p = path.Clean("/" + p)
	if trailing {
		p += "/"
	}
	return p
}

// cgiFail writes a 500 CGI answer in the server's error shape for a
// failure before serving (bad settings, a model that does not load) and
// logs it; it returns the exit code 1.
func cgiFail(stdout, stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "mtcnn: CGI: %v\n", err)
	fmt.Fprint(stdout, "Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n"+
		`{"error":{"code":"internal","message":"the detector is misconfigured: see the server's error log"}}`+"\n")
	return 1
}

// cgiMain is main's hook: it runs CGI mode when the environment asks for
// it and reports whether it did, with the exit code.
func cgiMain() (bool, int) {
	if !cgiMode(os.Getenv, os.Args[1:]) {
		return false, 0
	}
	return true, runCGI(os.Getenv, os.Stdout, os.Stderr)
}
