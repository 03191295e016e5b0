package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/internal/shared"
)

func TestCGIMode(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	cgi := env(map[string]string{"GATEWAY_INTERFACE": "CGI/1.1"})
	for _, tc := range []struct {
		getenv func(string) string
		args   []string
		want   bool
	}{
		{env(nil), nil, false},
		{env(nil), []string{"serve"}, false},
		{cgi, nil, true},
		{cgi, []string{"min_size=40"}, true}, // WAGI passes query words as arguments
		{cgi, []string{"/mtcnn"}, true},
		{cgi, []string{"detect", "-json", "x.png"}, false}, // a CGI script running the CLI
		{cgi, []string{"version"}, false},
	} {
		if got := cgiMode(tc.getenv, tc.args); got != tc.want {
			t.Errorf("cgiMode(%v): %v, want %v", tc.args, got, tc.want)
		}
	}
}

// TestCGICommandsMatchUsage checks that CGI mode leaves every command of
// the usage text to the command line (commands is read from that text),
// and that the reading finds the known commands and nothing else.
func TestCGICommandsMatchUsage(t *testing.T) {
	for _, c := range []string{"detect", "serve", "convert", "inspect", "export-onnx", "version", "--version", "help", "-h"} {
		if !slices.Contains(commands, c) {
			t.Errorf("commands %v lack %q", commands, c)
		}
		env := func(k string) string {
			if k == "GATEWAY_INTERFACE" {
				return "CGI/1.1"
			}
			return ""
		}
		if cgiMode(env, []string{c, "x"}) {
			t.Errorf("%q under GATEWAY_INTERFACE starts CGI mode", c)
		}
	}
	for _, c := range commands {
		if c == "" || c == "COMMAND" || c == "mtcnn" || strings.ContainsAny(c, " []") {
			t.Errorf("commands %v: %q read from the usage text is not a command name", commands, c)
		}
	}
	// A command another change adds to the usage text is covered.
	got := usageCommands("Usage:\n  mtcnn detect [flags] IMAGE...  x\n  mtcnn crops -o DIR IMAGE  y\nRun 'mtcnn COMMAND -h' for flags.\n")
	if !slices.Equal(got, []string{"detect", "crops"}) {
		t.Errorf("usageCommands: %v, want [detect crops]", got)
	}
}

func TestCGIPath(t *testing.T) {
	for _, tc := range []struct{ url, script, info, want string }{
		{"/cgi-bin/mtcnn/v1/detect", "/cgi-bin/mtcnn", "/v1/detect", "/v1/detect"},
		{"/mtcnn", "/mtcnn", "", "/"},
		{"/mtcnn/", "/mtcnn", "/", "/"},
		{"/v1/vision/face", "", "/v1/vision/face", "/v1/vision/face"}, // WAGI at the root
		{"/v1/vision/face", "", "", "/v1/vision/face"},
		{"/api/v1/detect", "/api", "", "/v1/detect"},
		{"/v1/detect", "/", "", "/v1/detect"},
		{"", "", "", "/"},
		{"/x", "", "/a/../../v1/detect", "/v1/detect"},
		{"/x", "", "v1/detect", "/v1/detect"},
	} {
		if got := cgiPath(tc.url, tc.script, tc.info); got != tc.want {
			t.Errorf("cgiPath(%q, %q, %q) = %q, want %q", tc.url, tc.script, tc.info, got, tc.want)
		}
	}
}

func TestCGIConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	cfg, err := cgiConfig(env("MTCNN_AUTH_TOKEN", "t", "MTCNN_MAX_BODY", "1000", "MTCNN_MAX_PIXELS", "5000", "MTCNN_FMA", "1", "MTCNN_TIMEOUT", "2m"))
	if err != nil || cfg.AuthToken != "t" || cfg.MaxBodyBytes != 1000 || cfg.MaxPixels != 5000 || !cfg.FMA || cfg.DetectTimeout != 2*time.Minute {
		t.Errorf("cgiConfig: %+v, %v", cfg, err)
	}
	if cfg, err := cgiConfig(env()); err != nil || cfg.AuthToken != "" || cfg.MaxBodyBytes != 0 || cfg.FMA {
		t.Errorf("empty environment: %+v, %v", cfg, err)
	}
	for _, bad := range [][]string{{"MTCNN_MAX_BODY", "lots"}, {"MTCNN_MAX_BODY", "-1"}, {"MTCNN_MAX_PIXELS", "0"}, {"MTCNN_FMA", "yes"}, {"MTCNN_TIMEOUT", "soon"}, {"MTCNN_TIMEOUT", "-1s"}} {
		if _, err := cgiConfig(env(bad...)); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: error %v, want one naming %s", bad, err, bad[0])
		}
	}
}

// cgiAnswer is a parsed CGI or HTTP answer.
type cgiAnswer struct {
	status int
	header textproto.MIMEHeader
	body   []byte
}

// parseCGI parses a CGI program's stdout: headers (Status: gives the
// code, 200 when absent), a blank line, the body.
func parseCGI(t testing.TB, out []byte) cgiAnswer {
	t.Helper()
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(out)))
	h, err := r.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("CGI answer %.300q: %v", out, err)
	}
	a := cgiAnswer{status: 200, header: h}
	if s := h.Get("Status"); s != "" {
		code, _, _ := strings.Cut(s, " ")
		if a.status, err = strconv.Atoi(code); err != nil {
			t.Fatalf("Status %q", s)
		}
	}
	a.body, err = io.ReadAll(r.R)
	if err != nil {
		t.Fatal(err)
	}
	if cl := h.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(a.body)) {
		t.Fatalf("Content-Length %s, body %d bytes", cl, len(a.body))
	}
	return a
}

// cgiRequest is one request to run through a CGI host.
type cgiRequest struct {
	method, path, query string
	contentType         string
	body                []byte
	header              map[string]string // HTTP headers
}

// env returns the CGI/1.1 environment a web server would pass for req,
// with the program at scriptName.
func (req cgiRequest) env(scriptName string) []string {
	uri := scriptName + req.path
	if req.query != "" {
		uri += "?" + req.query
	}
	env := []string{
		"GATEWAY_INTERFACE=CGI/1.1",
		"SERVER_PROTOCOL=HTTP/1.1",
		"SERVER_SOFTWARE=mtcnn-test",
		"SERVER_NAME=127.0.0.1", "SERVER_PORT=80", "REMOTE_ADDR=127.0.0.1",
		"REQUEST_METHOD=" + req.method,
		"SCRIPT_NAME=" + scriptName,
		"PATH_INFO=" + req.path,
		"QUERY_STRING=" + req.query,
		"REQUEST_URI=" + uri,
		"CONTENT_LENGTH=" + strconv.Itoa(len(req.body)),
	}
	if req.contentType != "" {
		env = append(env, "CONTENT_TYPE="+req.contentType)
	}
	for k, v := range req.header {
		env = append(env, "HTTP_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))+"="+v)
	}
	return env
}

// deepstackForm returns a multipart form with img in the image field and
// the given text fields.
func deepstackForm(t testing.TB, img []byte, fields ...string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("image", "camera.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(img)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

var (
	cgiBinOnce sync.Once
	cgiBin     string
	cgiBinErr  error
)

// builtBinary builds cmd/mtcnn once per test process (CGO_ENABLED=0) and
// returns its path; TestMain-free: the folder is left in the OS temp dir
// and removed by the first test's cleanup that built it.
func builtBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	cgiBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mtcnn-cgi-")
		if err != nil {
			cgiBinErr = err
			return
		}
		cgiBin = filepath.Join(dir, "mtcnn")
		build := exec.Command("go", "build", "-o", cgiBin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			cgiBinErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if cgiBinErr != nil {
		t.Fatal(cgiBinErr)
	}
	return cgiBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cgiBin != "" {
		os.RemoveAll(filepath.Dir(cgiBin))
	}
	os.Exit(code)
}

// runCGIBinary runs the binary as a CGI program for req with extra
// environment variables and returns the parsed answer and exit code.
func runCGIBinary(t *testing.T, bin string, req cgiRequest, extra ...string) (cgiAnswer, int, string) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(req.env("/cgi-bin/mtcnn"), extra...)
	cmd.Stdin = bytes.NewReader(req.body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return parseCGI(t, stdout.Bytes()), code, stderr.String()
}

// detectInProcess returns the embedded detector's faces on the image file.
func detectInProcess(t *testing.T, path string) []cascade.Face {
	t.Helper()
	img, _, err := imageio.DecodeFile(path, imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	faces, err := det.Detect(context.Background(), img, cascade.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return faces
}

// checkDetect checks a /v1/detect answer against the in-process faces.
func checkDetect(t *testing.T, what string, status int, body []byte, want []cascade.Face) {
	t.Helper()
	if status != 200 {
		t.Fatalf("%s: status %d: %s", what, status, body)
	}
	var res struct{ Faces []cascade.Face }
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("%s: %v: %s", what, err, body)
	}
	if !reflect.DeepEqual(res.Faces, want) {
		t.Errorf("%s: faces differ from the in-process detection:\n got  %+v\n want %+v", what, res.Faces, want)
	}
}

// checkDeepStack checks a /v1/vision/face answer: success, and one
// prediction per in-process face above DeepStack's default 0.55.
func checkDeepStack(t *testing.T, what string, status int, body []byte, want []cascade.Face) {
	t.Helper()
	if status != 200 {
		t.Fatalf("%s: status %d: %s", what, status, body)
	}
	var res struct {
		Success     bool
		Predictions []struct {
			Confidence float32
			XMin       int `json:"x_min"`
			YMin       int `json:"y_min"`
		}
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("%s: %v: %s", what, err, body)
	}
	n := 0
	for _, f := range want {
		if f.Score > 0.55 {
			n++
		}
	}
	if !res.Success || len(res.Predictions) != n || n == 0 {
		t.Fatalf("%s: success %v, %d predictions, want %d: %s", what, res.Success, len(res.Predictions), n, body)
	}
	for i, p := range res.Predictions {
		if p.Confidence != want[i].Score || p.XMin != int(max(want[i].Box[0], 0)) || p.YMin != int(max(want[i].Box[1], 0)) {
			t.Errorf("%s: prediction %d %+v, face %+v", what, i, p, want[i])
		}
	}
}

// TestCGIBinary runs the built binary as a CGI program the way a web
// server does (environment and stdin) on each kind of route.
func TestCGIBinary(t *testing.T) {
	bin := builtBinary(t)
	astronautPath := filepath.Join("..", "..", "testdata", "astronaut.png")
	astronaut, err := os.ReadFile(astronautPath)
	if err != nil {
		t.Fatal(err)
	}
	want := detectInProcess(t, astronautPath)

	a, code, stderr := runCGIBinary(t, bin, cgiRequest{method: "POST", path: "/v1/detect", contentType: "image/png", body: astronaut})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkDetect(t, "CGI /v1/detect", a.status, a.body, want)
	if a.header.Get("X-Request-Id") == "" || a.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", a.header)
	}

	form, ct := deepstackForm(t, astronaut)
	a, _, _ = runCGIBinary(t, bin, cgiRequest{method: "POST", path: "/v1/vision/face", contentType: ct, body: form})
	checkDeepStack(t, "CGI /v1/vision/face", a.status, a.body, want)

	for _, tc := range []struct {
		req    cgiRequest
		extra  []string
		status int
		want   string
	}{
		{cgiRequest{method: "GET", path: "/healthz"}, nil, 200, `"ok"`},
		{cgiRequest{method: "GET", path: "/readyz"}, nil, 200, `"ready"`},
		{cgiRequest{method: "GET", path: "/openapi.json"}, nil, 200, `"/v1/vision/face"`},
		{cgiRequest{method: "GET", path: ""}, nil, 200, "<html"},
		{cgiRequest{method: "GET", path: "/nope"}, nil, 404, "not_found"},
		{cgiRequest{method: "GET", path: "/v1/detect"}, nil, 405, "method_not_allowed"},
		{cgiRequest{method: "POST", path: "/v1/detect", query: "min_size=abc", contentType: "image/png", body: astronaut}, nil, 400, "invalid_options"},
		{cgiRequest{method: "POST", path: "/v1/detect", contentType: "image/png", body: []byte("not an image")}, nil, 415, "unsupported_image"},
		{cgiRequest{method: "POST", path: "/v1/detect", contentType: "image/png", body: astronaut}, []string{"MTCNN_MAX_BODY=1000"}, 413, "body_too_large"},
		{cgiRequest{method: "POST", path: "/v1/detect", contentType: "image/png", body: astronaut}, []string{"MTCNN_AUTH_TOKEN=tok"}, 401, "unauthorized"},
		{cgiRequest{method: "POST", path: "/v1/detect", contentType: "image/png", body: astronaut, header: map[string]string{"Authorization": "Bearer tok"}}, []string{"MTCNN_AUTH_TOKEN=tok"}, 200, `"faces"`},
		{cgiRequest{method: "POST", path: "/v1/vision/face", contentType: ct, body: form}, []string{"MTCNN_AUTH_TOKEN=tok"}, 401, "Incorrect api key"},
		{cgiRequest{method: "POST", path: "/v1/vision/face", contentType: "image/png", body: astronaut}, nil, 400, "No valid image file found"},
	} {
		a, code, stderr := runCGIBinary(t, bin, tc.req, tc.extra...)
		if code != 0 || a.status != tc.status || !bytes.Contains(a.body, []byte(tc.want)) {
			t.Errorf("%s %s?%s %v: exit %d, status %d, body %.200q; want %d with %q (stderr %s)",
				tc.req.method, tc.req.path, tc.req.query, tc.extra, code, a.status, a.body, tc.status, tc.want, stderr)
		}
	}
	keyForm, keyCT := deepstackForm(t, astronaut, "api_key", "tok")
	a, _, _ = runCGIBinary(t, bin, cgiRequest{method: "POST", path: "/v1/vision/face", contentType: keyCT, body: keyForm}, "MTCNN_AUTH_TOKEN=tok")
	checkDeepStack(t, "CGI /v1/vision/face with api_key", a.status, a.body, want)

	// Bad settings: a 500 in the error shape, exit 1, the reason on stderr.
	a, code, stderr = runCGIBinary(t, bin, cgiRequest{method: "GET", path: "/healthz"}, "MTCNN_FMA=maybe")
	if code != 1 || a.status != 500 || !strings.Contains(stderr, "MTCNN_FMA") {
		t.Errorf("bad MTCNN_FMA: exit %d, status %d, stderr %q", code, a.status, stderr)
	}
	// Not a CGI request (no method): exit 1 with the usage on stderr.
	cmd := exec.Command(bin)
	cmd.Env = []string{"GATEWAY_INTERFACE=CGI/1.1"}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !bytes.Contains(out, []byte("CGI / WAGI mode")) {
		t.Errorf("incomplete CGI environment: %v, %q", err, out)
	}
	// A CGI script may still run the CLI.
	cmd = exec.Command(bin, "detect", "-json", astronautPath)
	cmd.Env = append(os.Environ(), "GATEWAY_INTERFACE=CGI/1.1")
	if out, err := cmd.Output(); err != nil || !bytes.Contains(out, []byte(`"faces"`)) {
		t.Errorf("detect under GATEWAY_INTERFACE: %v, %q", err, out)
	}
}

// lighttpdPath returns the lighttpd binary, or skips the test (fails it
// under CI=true) when it is not installed.
func lighttpdPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"lighttpd", "/usr/sbin/lighttpd"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "lighttpd not installed (apt-get install lighttpd): the CGI test behind a real web server is skipped"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (required under CI=true)")
	}
	t.Skip(msg)
	return ""
}

// startLighttpd starts lighttpd on a free loopback port with mod_cgi
// running bin for every URL under /mtcnn/ and returns its base URL. env
// is passed to the CGI program (mod_setenv).
func startLighttpd(t *testing.T, bin string, env ...string) string {
	t.Helper()
	lighttpd := lighttpdPath(t)
	dir := t.TempDir()
	docroot := filepath.Join(dir, "htdocs")
	if err := os.MkdirAll(docroot, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(docroot, "mtcnn")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var setenv strings.Builder
	for i, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if i > 0 {
			setenv.WriteString(", ")
		}
		fmt.Fprintf(&setenv, "%q => %q", k, v)
	}
	conf := fmt.Sprintf(`server.modules = ("mod_setenv", "mod_cgi")
server.document-root = %q
server.bind = "127.0.0.1"
server.port = %d
server.errorlog = %q
server.upload-dirs = (%q)
server.follow-symlink = "enable"
$HTTP["url"] =~ "^/mtcnn(/|$)" {
	cgi.assign = ("" => "")
	setenv.set-environment = (%s)
}
`, docroot, port, filepath.Join(dir, "error.log"), dir, setenv.String())
	confPath := filepath.Join(dir, "lighttpd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(lighttpd, "-tt", "-f", confPath).CombinedOutput(); err != nil {
		t.Fatalf("lighttpd rejects the config: %v\n%s\n%s", err, out, conf)
	}
	cmd := exec.Command(lighttpd, "-D", "-f", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("lighttpd output:\n%s\nerror.log:\n%s", out.String(), log)
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("lighttpd exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("lighttpd does not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + addr
}

// httpDo sends one request and returns its status and body.
func httpDo(t *testing.T, method, url, contentType string, body []byte, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// sharedImage returns the path of a shared reference image, or "" (with
// a log line) when the shared folder is absent; under CI=true its absence
// fails the test.
func sharedImage(t *testing.T, name string) string {
	t.Helper()
	dir, err := shared.Dir()
	if err == nil {
		p := filepath.Join(dir, "testdata", "images", name)
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("shared image %s: %v (required under CI=true)", name, err)
	}
	t.Logf("shared image %s not found (%v): testing with the repository's image only", name, err)
	return ""
}

// TestCGILighttpd runs the built binary as a CGI program behind lighttpd
// on a loopback port: solvay (from the shared data) and the repository's
// astronaut, posted raw and as DeepStack forms, give the in-process
// detector's faces; limits, auth and errors behave as under "serve".
func TestCGILighttpd(t *testing.T) {
	bin := builtBinary(t)
	base := startLighttpd(t, bin, "MTCNN_AUTH_TOKEN=s3cret") + "/mtcnn"
	auth := []string{"Authorization", "Bearer s3cret"}

	images := map[string]string{"astronaut": filepath.Join("..", "..", "testdata", "astronaut.png")}
	if p := sharedImage(t, "solvay.png"); p != "" {
		images["solvay"] = p
	}
	for name, path := range images {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := detectInProcess(t, path)
		status, body := httpDo(t, "POST", base+"/v1/detect", "image/png", data, auth...)
		checkDetect(t, "lighttpd "+name+" /v1/detect", status, body, want)
		form, ct := deepstackForm(t, data, "api_key", "s3cret")
		status, body = httpDo(t, "POST", base+"/v1/vision/face", ct, form)
		checkDeepStack(t, "lighttpd "+name+" /v1/vision/face", status, body, want)
		t.Logf("%s: %d faces through lighttpd", name, len(want))
	}

	astronaut, _ := os.ReadFile(images["astronaut"])
	big := make([]byte, 30<<20)
	copy(big, astronaut)
	form, ct := deepstackForm(t, astronaut)
	for _, tc := range []struct {
		method, path, ct string
		body             []byte
		header           []string
		status           int
		want             string
	}{
		{"GET", "/healthz", "", nil, nil, 200, `"ok"`},
		{"GET", "/metrics", "", nil, nil, 401, "unauthorized"},
		{"GET", "/metrics", "", nil, auth, 200, "mtcnn_http_requests_in_flight 1"}, // per process: one request
		{"POST", "/v1/detect", "image/png", astronaut, nil, 401, "unauthorized"},
		{"POST", "/v1/detect", "image/png", astronaut, []string{"Authorization", "Bearer wrong"}, 401, "unauthorized"},
		{"POST", "/v1/vision/face", ct, form, nil, 401, "Incorrect api key"},
		{"POST", "/v1/vision/face", ct, form, auth, 200, `"success":true`},
		{"POST", "/v1/detect", "image/png", []byte("not an image"), auth, 415, "unsupported_image"},
		{"POST", "/v1/detect", "image/png", big, auth, 413, "body_too_large"},
		{"POST", "/v1/vision/detection", "application/octet-stream", big, auth, 413, `"success":false`},
		{"GET", "/nope", "", nil, auth, 404, "not_found"},
	} {
		status, body := httpDo(t, tc.method, base+tc.path, tc.ct, tc.body, tc.header...)
		if status != tc.status || !bytes.Contains(body, []byte(tc.want)) {
			t.Errorf("%s %s: %d %.200q, want %d with %q", tc.method, tc.path, status, body, tc.status, tc.want)
		}
	}
}
