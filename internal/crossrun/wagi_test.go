package crossrun

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/internal/shared"
)

// wagiRequest is one HTTP request as a WAGI host hands it to a module:
// CGI environment variables (no REQUEST_URI: WAGI hosts such as Spin
// give SCRIPT_NAME and PATH_INFO), the body on stdin, and argv made of
// the script name and the query's words.
type wagiRequest struct {
	method, path, query, contentType string
	body                             []byte
	header                           map[string]string
	extraEnv                         []string
}

// env returns the WAGI environment for the request, as KEY=VALUE.
func (q wagiRequest) env() []string {
	env := []string{
		"GATEWAY_INTERFACE=CGI/1.1",
		"SERVER_PROTOCOL=HTTP/1.1",
		"SERVER_SOFTWARE=WAGI/1",
		"SERVER_NAME=127.0.0.1", "SERVER_PORT=3000",
		"REMOTE_ADDR=127.0.0.1", "REMOTE_HOST=127.0.0.1",
		"REQUEST_METHOD=" + q.method,
		"SCRIPT_NAME=",
		"PATH_INFO=" + q.path,
		"X_RAW_PATH_INFO=" + q.path,
		"X_MATCHED_ROUTE=/...",
		"X_FULL_URL=http://127.0.0.1:3000" + q.path,
		"QUERY_STRING=" + q.query,
		"CONTENT_LENGTH=" + strconv.Itoa(len(q.body)),
		"CONTENT_TYPE=" + q.contentType,
	}
	for k, v := range q.header {
		env = append(env, "HTTP_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))+"="+v)
	}
	return append(env, q.extraEnv...)
}

// args returns WAGI's default argv: the script name, then the query's
// words (split on &).
func (q wagiRequest) args() []string {
	args := []string{"/"}
	if q.query != "" {
		args = append(args, strings.Split(q.query, "&")...)
	}
	return args
}

// wagiAnswer is a parsed CGI answer.
type wagiAnswer struct {
	status int
	header textproto.MIMEHeader
	body   []byte
}

// parseCGIAnswer parses a module's stdout as a CGI answer.
func parseCGIAnswer(t *testing.T, out []byte) wagiAnswer {
	t.Helper()
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(out)))
	h, err := r.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("CGI answer %.300q: %v", out, err)
	}
	a := wagiAnswer{status: 200, header: h}
	if s := h.Get("Status"); s != "" {
		code, _, _ := strings.Cut(s, " ")
		if a.status, err = strconv.Atoi(code); err != nil {
			t.Fatalf("Status %q", s)
		}
	}
	if a.body, err = io.ReadAll(r.R); err != nil {
		t.Fatal(err)
	}
	if h.Get("Content-Type") == "" {
		t.Errorf("CGI answer without Content-Type: %v", h)
	}
	return a
}

// runWAGI runs the compiled module for one request under wazero, as a
// WAGI host does, and returns the parsed answer.
func runWAGI(t *testing.T, ctx context.Context, r wazero.Runtime, mod wazero.CompiledModule, q wagiRequest) (wagiAnswer, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(q.args()...).
		WithStdin(bytes.NewReader(q.body)).
		WithStdout(&stdout).WithStderr(&stderr).
		WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader) // request ids
	for _, kv := range q.env() {
		k, v, _ := strings.Cut(kv, "=")
		cfg = cfg.WithEnv(k, v)
	}
	m, err := r.InstantiateModule(ctx, mod, cfg)
	var exit *sys.ExitError
	switch {
	case errors.As(err, &exit):
		if exit.ExitCode() != 0 {
			t.Fatalf("%s %s: exit %d\nstderr: %s", q.method, q.path, exit.ExitCode(), stderr.String())
		}
	case err != nil:
		t.Fatalf("%s %s: %v\nstderr: %s", q.method, q.path, err, stderr.String())
	}
	if m != nil {
		m.Close(ctx)
	}
	return parseCGIAnswer(t, stdout.Bytes()), stderr.String()
}

// dsForm returns a DeepStack multipart form with img in the image field.
func dsForm(t *testing.T, img []byte, fields ...string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	fw, err := mw.CreateFormFile("image", "camera.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(img)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// wagiImages returns the images the WAGI tests post: the repository's
// astronaut and, when the shared data is there, solvay (required under
// CI=true).
func wagiImages(t *testing.T) map[string]string {
	t.Helper()
	images := map[string]string{"astronaut": filepath.Join(moduleRoot(t), "testdata", "astronaut.png")}
	dir, err := shared.Dir()
	if err == nil {
		p := filepath.Join(dir, "testdata", "images", "solvay.png")
		if _, err = os.Stat(p); err == nil {
			images["solvay"] = p
			return images
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("solvay.png: %v (required under CI=true)", err)
	}
	t.Logf("solvay.png not found (%v): testing with the astronaut only", err)
	return images
}

// inProcessFaces detects on the image file with the host's exact kernels.
func inProcessFaces(t *testing.T, path string) []cascade.Face {
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

// checkWAGIFaces checks a /v1/detect answer against the host's faces, to
// the bit (wasm computes what amd64 does), and a /v1/vision/face answer's
// predictions against the same faces above DeepStack's 0.55.
func checkWAGIFaces(t *testing.T, what string, a wagiAnswer, want []cascade.Face, deepstack bool) {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("%s: status %d: %s", what, a.status, a.body)
	}
	if !deepstack {
		var res struct{ Faces []cascade.Face }
		if err := json.Unmarshal(a.body, &res); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !reflect.DeepEqual(res.Faces, want) {
			t.Errorf("%s: faces differ from the host's:\n got  %+v\n want %+v", what, res.Faces, want)
		}
		return
	}
	var res struct {
		Success     bool
		Predictions []struct {
			Confidence float32
			XMin       int `json:"x_min"`
			YMax       int `json:"y_max"`
		}
	}
	if err := json.Unmarshal(a.body, &res); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var kept []cascade.Face
	for _, f := range want {
		if f.Score > 0.55 {
			kept = append(kept, f)
		}
	}
	if !res.Success || len(res.Predictions) != len(kept) {
		t.Fatalf("%s: %s; want %d predictions", what, a.body, len(kept))
	}
	for i, p := range res.Predictions {
		if p.Confidence != kept[i].Score || p.XMin != int(max(kept[i].Box[0], 0)) {
			t.Errorf("%s: prediction %d %+v, face %+v", what, i, p, kept[i])
		}
	}
}

// TestWAGI runs the release's wasip1 module as a WAGI handler: under the
// wazero library in-process (the environment, stdin and argv a WAGI host
// gives), then with the wazero CLI as a user would, through the same
// compilation cache.
func TestWAGI(t *testing.T) {
	skipShort(t)
	wasmPath := build(t, target(t, "wasip1/wasm"))
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	images := wagiImages(t)
	astronaut, err := os.ReadFile(images["astronaut"])
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cacheDir := t.TempDir()
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	start := time.Now()
	mod, err := r.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compiled the %.1f MB module in %s", float64(len(wasm))/1e6, time.Since(start).Round(time.Millisecond))

	for name, path := range images {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := inProcessFaces(t, path)
		start := time.Now()
		a, _ := runWAGI(t, ctx, r, mod, wagiRequest{method: "POST", path: "/v1/detect", query: "min_size=20", contentType: "image/png", body: data})
		t.Logf("WAGI %s /v1/detect: %d faces in %s", name, len(want), time.Since(start).Round(time.Millisecond))
		checkWAGIFaces(t, "WAGI "+name+" /v1/detect", a, want, false)
		if name != "astronaut" {
			continue // the DeepStack route once is enough: wasm is slow
		}
		form, ct := dsForm(t, data)
		a, _ = runWAGI(t, ctx, r, mod, wagiRequest{method: "POST", path: "/v1/vision/face", contentType: ct, body: form})
		checkWAGIFaces(t, "WAGI "+name+" /v1/vision/face", a, want, true)
	}

	form, ct := dsForm(t, astronaut)
	for _, tc := range []struct {
		q      wagiRequest
		status int
		want   string
	}{
		{wagiRequest{method: "GET", path: "/healthz"}, 200, `"ok"`},
		{wagiRequest{method: "GET", path: "/openapi.json"}, 200, `"/v1/vision/detection"`},
		{wagiRequest{method: "GET", path: "/nope"}, 404, "not_found"},
		{wagiRequest{method: "POST", path: "/v1/detect", contentType: "image/png", body: []byte("not an image")}, 415, "unsupported_image"},
		{wagiRequest{method: "POST", path: "/v1/detect", query: "thresholds=2,2,2", contentType: "image/png", body: astronaut}, 400, "invalid_options"},
		{wagiRequest{method: "POST", path: "/v1/detect", contentType: "image/png", body: astronaut, extraEnv: []string{"MTCNN_MAX_BODY=1000"}}, 413, "body_too_large"},
		{wagiRequest{method: "POST", path: "/v1/vision/face", contentType: ct, body: form, extraEnv: []string{"MTCNN_AUTH_TOKEN=tok"}}, 401, "Incorrect api key"},
		{wagiRequest{method: "POST", path: "/v1/vision/detection", contentType: ct, body: form, header: map[string]string{"Authorization": "Bearer tok"}, extraEnv: []string{"MTCNN_AUTH_TOKEN=tok"}}, 200, `"label":"face"`},
		{wagiRequest{method: "POST", path: "/v1/vision/face", contentType: "image/png", body: astronaut}, 400, "No valid image file found"},
	} {
		a, stderr := runWAGI(t, ctx, r, mod, tc.q)
		if a.status != tc.status || !bytes.Contains(a.body, []byte(tc.want)) {
			t.Errorf("%s %s?%s: %d %.200q, want %d with %q; stderr %s", tc.q.method, tc.q.path, tc.q.query, a.status, a.body, tc.status, tc.want, stderr)
		}
	}
	keyForm, keyCT := dsForm(t, astronaut, "min_confidence", "abc")
	a, _ := runWAGI(t, ctx, r, mod, wagiRequest{method: "POST", path: "/v1/vision/face", contentType: keyCT, body: keyForm})
	if a.status != 400 || !bytes.Contains(a.body, []byte("Invalid value for min_confidence")) {
		t.Errorf("min_confidence=abc: %d %s", a.status, a.body)
	}

	// The wazero CLI, as a user runs the module, sharing the cache.
	cli := wazeroCLI(t)
	want := inProcessFaces(t, images["astronaut"])
	q := wagiRequest{method: "POST", path: "/v1/vision/face", contentType: ct, body: form}
	args := []string{"run", "-cachedir", cacheDir}
	for _, kv := range q.env() {
		args = append(args, "-env", kv)
	}
	args = append(args, wasmPath)
	args = append(args, q.args()[1:]...)
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Stdin = bytes.NewReader(q.body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start = time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wazero run: %v\n%s", err, stderr.String())
	}
	t.Logf("wazero CLI, one WAGI request (warm cache): %s", time.Since(start).Round(time.Millisecond))
	checkWAGIFaces(t, "wazero CLI /v1/vision/face", parseCGIAnswer(t, out), want, true)
}

// wazeroCLI returns the wazero command, or skips the test (fails it under
// CI=true) when it is not installed.
func wazeroCLI(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("wazero"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "wazero")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	requireTool(t, "wazero CLI not installed (go install github.com/tetratelabs/wazero/cmd/wazero@v1.12.0): the WAGI run through the CLI is skipped")
	return ""
}
