// Command cgistart measures the cold start of one CGI request: process
// (or WebAssembly instance) start to exit, for one request served the
// way a web server or a WAGI host runs mtcnn. It builds the release's
// linux/amd64 binary and wasip1 module (internal/release, the flags of a
// release) unless -native and -wasm name built ones, and times, as
// medians of several runs:
//
//   - native CGI: the binary started with a CGI environment, the request
//     on stdin (what lighttpd or Apache do), for GET /healthz (start-up
//     only) and POST /v1/vision/face with an image (start-up, model
//     load, decoding, detection); "mtcnn version" is the baseline of a
//     bare process start;
//   - the same face request over HTTP through lighttpd running the
//     binary with mod_cgi (what a client of such a server waits), when
//     lighttpd is installed;
//   - WAGI under the wazero CLI ("wazero run"), the same two requests,
//     with the compilation cache cold (a fresh -cachedir each run: the
//     module is compiled to machine code first) and warm (-cachedir
//     filled by an earlier run).
//
// Each run also reports the child's peak RSS. Native runs need nothing
// else; WAGI runs need the wazero CLI (go install
// github.com/tetratelabs/wazero/cmd/wazero@v1.12.0).
//
//	go run ./bench/cgistart                      # 9 native, 5 warm, 3 cold runs
//	go run ./bench/cgistart -cold 0 -warm 3      # skip the slow cold compiles
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mtcnn-go/mtcnn/internal/release"
	"github.com/mtcnn-go/mtcnn/internal/shared"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// request is one CGI request: its environment and stdin.
type request struct {
	name string
	env  []string
	body []byte
}

// sample is one timed run.
type sample struct {
	wall   time.Duration
	maxRSS int64 // bytes
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cgistart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	native := fs.String("native", "", "built linux binary to use (default: build one)")
	wasm := fs.String("wasm", "", "built mtcnn-wasip1.wasm to use (default: build one)")
	imagePath := fs.String("image", "", "image to post (default: the repository's testdata/astronaut.png)")
	nativeRuns := fs.Int("native-runs", 9, "runs per native case")
	warm := fs.Int("warm", 5, "runs per WAGI case with a warm compilation cache (0: skip)")
	cold := fs.Int("cold", 3, "WAGI runs with a cold compilation cache (0: skip; each compiles the module)")
	wazero := fs.String("wazero", "", "wazero CLI (default: wazero on PATH or in $(go env GOPATH)/bin)")
	lighttpd := fs.String("lighttpd", "lighttpd", "lighttpd to run the native CGI behind (\"\": skip; skipped when not installed)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int { fmt.Fprintf(stderr, "cgistart: %v\n", err); return 1 }
	root, err := shared.ModuleRoot()
	if err != nil {
		return fail(err)
	}
	if *imagePath == "" {
		*imagePath = filepath.Join(root, "testdata", "astronaut.png")
	}
	img, err := os.ReadFile(*imagePath)
	if err != nil {
		return fail(err)
	}
	tmp, err := os.MkdirTemp("", "cgistart-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	cfg := &release.Config{Dir: root, Version: "v0.0.0-cgistart", Commit: "cgistart", Log: stderr}
	for _, b := range []struct {
		path   *string
		target string
	}{{native, "linux/amd64"}, {wasm, "wasip1/wasm"}} {
		if *b.path != "" || (b.target == "wasip1/wasm" && *warm == 0 && *cold == 0) {
			continue
		}
		ts, err := release.Select([]string{b.target})
		if err != nil {
			return fail(err)
		}
		*b.path = filepath.Join(tmp, filepath.Base(ts[0].File))
		fmt.Fprintf(stderr, "building %s\n", b.target)
		if err := cfg.BuildTo(ctx, ts[0], *b.path); err != nil {
			return fail(err)
		}
	}

	health := request{name: "GET /healthz", env: cgiEnv("GET", "/healthz", "", 0)}
	form, ct := deepstackForm(img)
	face := request{name: "POST /v1/vision/face", env: cgiEnv("POST", "/v1/vision/face", ct, len(form)), body: form}

	type row struct {
		mode, req string
		s         []sample
	}
	var rows []row
	measure := func(mode string, n int, req request, cmd func() *exec.Cmd) error {
		if n <= 0 {
			return nil
		}
		var ss []sample
		for range n {
			s, err := timeRun(cmd(), req)
			if err != nil {
				return fmt.Errorf("%s %s: %w", mode, req.name, err)
			}
			ss = append(ss, s)
		}
		rows = append(rows, row{mode, req.name, ss})
		fmt.Fprintf(stderr, "%s %s: median %s\n", mode, req.name, median(ss).wall.Round(time.Millisecond))
		return nil
	}

	nativeCmd := func(args ...string) func() *exec.Cmd {
		return func() *exec.Cmd { return exec.Command(*native, args...) }
	}
	if err := measure("native: mtcnn version (bare process)", *nativeRuns, request{name: "-"}, nativeCmd("version")); err != nil {
		return fail(err)
	}
	for _, req := range []request{health, face} {
		if err := measure("native CGI", *nativeRuns, req, nativeCmd()); err != nil {
			return fail(err)
		}
	}

	if path, err := lookLighttpd(*lighttpd); err == nil {
		base, stop, err := startLighttpd(path, *native, tmp)
		if err != nil {
			return fail(err)
		}
		var ss []sample
		for range *nativeRuns {
			s, err := timeHTTP(base+"/v1/vision/face", ct, form)
			if err != nil {
				stop()
				return fail(fmt.Errorf("lighttpd: %w", err))
			}
			ss = append(ss, s)
		}
		stop()
		rows = append(rows, row{"native CGI behind lighttpd (HTTP round trip)", face.name, ss})
		fmt.Fprintf(stderr, "lighttpd %s: median %s\n", face.name, median(ss).wall.Round(time.Millisecond))
	} else if *lighttpd != "" {
		fmt.Fprintf(stderr, "lighttpd: %v (skipped)\n", err)
	}

	if *warm > 0 || *cold > 0 {
		if *wazero == "" {
			if *wazero, err = findWazero(); err != nil {
				return fail(err)
			}
		}
		warmDir := filepath.Join(tmp, "warm-cache")
		wazeroCmd := func(cacheDir func() string, req request) func() *exec.Cmd {
			return func() *exec.Cmd {
				args := []string{"run", "-cachedir", cacheDir()}
				for _, kv := range req.env {
					args = append(args, "-env", kv)
				}
				return exec.Command(*wazero, append(args, *wasm)...)
			}
		}
		n := 0
		fresh := func() string { n++; return filepath.Join(tmp, "cold-cache-"+strconv.Itoa(n)) }
		if err := measure("WAGI, wazero, cold cache", *cold, face, wazeroCmd(fresh, face)); err != nil {
			return fail(err)
		}
		if *warm > 0 {
			// Fill the warm cache once.
			if _, err := timeRun(wazeroCmd(func() string { return warmDir }, health)(), health); err != nil {
				return fail(err)
			}
			for _, req := range []request{health, face} {
				if err := measure("WAGI, wazero, warm cache", *warm, req, wazeroCmd(func() string { return warmDir }, req)); err != nil {
					return fail(err)
				}
			}
		}
	}

	base := time.Duration(0)
	for _, r := range rows {
		if r.mode == "native CGI" && r.req == face.name {
			base = median(r.s).wall
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "image %s (%d bytes), medians\nmode\trequest\truns\twall (median)\tmin\tmax\tpeak RSS (median)\tvs native face request\n", filepath.Base(*imagePath), len(img))
	for _, r := range rows {
		m := median(r.s)
		lo := slices.MinFunc(r.s, func(a, b sample) int { return int(a.wall - b.wall) })
		hi := slices.MaxFunc(r.s, func(a, b sample) int { return int(a.wall - b.wall) })
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("%.2fx", float64(m.wall)/float64(base))
		}
		rss := "-"
		if m.maxRSS > 0 {
			rss = fmt.Sprintf("%.0f MiB", float64(m.maxRSS)/(1<<20))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.mode, r.req, len(r.s),
			m.wall.Round(time.Millisecond), lo.wall.Round(time.Millisecond), hi.wall.Round(time.Millisecond),
			rss, ratio)
	}
	tw.Flush()
	return 0
}

// cgiEnv returns a CGI/1.1 environment for one request to the program
// at /mtcnn.
func cgiEnv(method, path, contentType string, length int) []string {
	return []string{
		"GATEWAY_INTERFACE=CGI/1.1", "SERVER_PROTOCOL=HTTP/1.1",
		"SERVER_NAME=127.0.0.1", "SERVER_PORT=80", "REMOTE_ADDR=127.0.0.1",
		"REQUEST_METHOD=" + method, "SCRIPT_NAME=/mtcnn", "PATH_INFO=" + path,
		"QUERY_STRING=", "CONTENT_TYPE=" + contentType, "CONTENT_LENGTH=" + strconv.Itoa(length),
	}
}

// deepstackForm returns a multipart form with img in the image field.
func deepstackForm(img []byte) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("image", "camera.png")
	fw.Write(img)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// timeRun runs cmd with req's environment (when cmd has none) and body,
// and returns its wall time and peak RSS; the answer must be a 200.
func timeRun(cmd *exec.Cmd, req request) (sample, error) {
	if cmd.Env == nil && req.env != nil {
		cmd.Env = req.env
	}
	cmd.Stdin = bytes.NewReader(req.body)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%v: %s", err, errb.String())
	}
	if req.env != nil {
		head, _, _ := bytes.Cut(out.Bytes(), []byte("\r\n\r\n"))
		if !bytes.HasPrefix(head, []byte("Status: 200")) {
			return sample{}, fmt.Errorf("answer %.200q", out.String())
		}
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return sample{wall: wall, maxRSS: rss}, nil
}

// median returns the sample with the median wall time (the lower middle
// for an even count) and the median peak RSS.
func median(ss []sample) sample {
	w := make([]time.Duration, len(ss))
	r := make([]int64, len(ss))
	for i, s := range ss {
		w[i], r[i] = s.wall, s.maxRSS
	}
	slices.Sort(w)
	slices.Sort(r)
	return sample{wall: w[(len(w)-1)/2], maxRSS: r[(len(r)-1)/2]}
}

// findWazero returns the wazero CLI on PATH or in GOPATH/bin.
func findWazero() (string, error) {
	if p, err := exec.LookPath("wazero"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "wazero")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("wazero CLI not found: go install github.com/tetratelabs/wazero/cmd/wazero@v1.12.0 (or -warm 0 -cold 0)")
}

// lookLighttpd returns the lighttpd binary named name (on PATH or in
// /usr/sbin), or an error when name is empty or it is not installed.
func lookLighttpd(name string) (string, error) {
	if name == "" {
		return "", errors.New("disabled")
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath(filepath.Join("/usr/sbin", name)); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not installed (apt-get install lighttpd)", name)
}

// startLighttpd runs lighttpd on a free loopback port with bin as the
// CGI program for /mtcnn/..., and returns the program's base URL and a
// function that stops the server.
func startLighttpd(lighttpd, bin, tmp string) (string, func(), error) {
	dir := filepath.Join(tmp, "lighttpd")
	docroot := filepath.Join(dir, "htdocs")
	if err := os.MkdirAll(docroot, 0o755); err != nil {
		return "", nil, err
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", nil, err
	}
	if err := os.Symlink(abs, filepath.Join(docroot, "mtcnn")); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := fmt.Sprintf(`server.modules = ("mod_cgi")
server.document-root = %q
server.bind = "127.0.0.1"
server.port = %d
server.errorlog = %q
server.upload-dirs = (%q)
server.follow-symlink = "enable"
$HTTP["url"] =~ "^/mtcnn(/|$)" {
	cgi.assign = ("" => "")
}
`, docroot, port, filepath.Join(dir, "error.log"), dir)
	confPath := filepath.Join(dir, "lighttpd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.Command(lighttpd, "-D", "-f", confPath)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("lighttpd does not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + addr + "/mtcnn", stop, nil
}

// timeHTTP posts body and times the round trip; the answer must be a 200.
func timeHTTP(url, contentType string, body []byte) (sample, error) {
	start := time.Now()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		return sample{}, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	wall := time.Since(start)
	if err != nil {
		return sample{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return sample{}, fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	return sample{wall: wall}, nil
}
