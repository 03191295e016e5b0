package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/server"
)

// TestWasmAssets checks /wasm/: the glue always, the browser build only
// from Config.WasmDir, behind the token like the page, and the page's hook.
func TestWasmAssets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mtcnn.wasm"), []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wasm_exec.js"), []byte("globalThis.Go = class {};"), 0o644); err != nil {
		t.Fatal(err)
	}
	without, _ := newServer(t, server.Config{}, &fakeDetector{})
	with, _ := newServer(t, server.Config{WasmDir: dir}, &fakeDetector{})
	authed, _ := newServer(t, server.Config{WasmDir: dir, AuthToken: "s3cret"}, &fakeDetector{})

	do := func(s *server.Server, method, path, token string) (int, string, string) {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, rec.Header().Get("Content-Type"), string(body)
	}
	for _, tc := range []struct {
		s            *server.Server
		method, path string
		token        string
		status       int
		ctype, body  string
	}{
		{without, "GET", "/wasm/mtcnn-wasm.js", "", 200, "text/javascript; charset=utf-8", "mtcnnWasm"},
		{without, "HEAD", "/wasm/mtcnn.wasm", "", 404, "", ""},
		{without, "GET", "/wasm/wasm_exec.js", "", 404, "", ""},
		{with, "HEAD", "/wasm/mtcnn.wasm", "", 200, "application/wasm", ""},
		{with, "GET", "/wasm/mtcnn.wasm", "", 200, "application/wasm", "\x00asm"},
		{with, "GET", "/wasm/wasm_exec.js", "", 200, "text/javascript; charset=utf-8", "globalThis.Go"},
		{with, "GET", "/wasm/other", "", 404, "", ""},
		{with, "POST", "/wasm/mtcnn.wasm", "", 405, "", ""},
		{authed, "GET", "/wasm/mtcnn.wasm", "", 401, "application/json", "unauthorized"},
		{authed, "GET", "/wasm/mtcnn.wasm", "wrong", 401, "application/json", "unauthorized"},
		{authed, "GET", "/wasm/mtcnn.wasm", "s3cret", 200, "application/wasm", "\x00asm"},
	} {
		status, ctype, body := do(tc.s, tc.method, tc.path, tc.token)
		if status != tc.status || (tc.ctype != "" && !strings.HasPrefix(ctype, tc.ctype)) || !strings.Contains(body, tc.body) {
			t.Errorf("%s %s (token %q): %d %q %.40q; want %d %q containing %q",
				tc.method, tc.path, tc.token, status, ctype, body, tc.status, tc.ctype, tc.body)
		}
	}

	_, _, page := do(with, "GET", "/", "")
	for _, want := range []string{`src="wasm/mtcnn-wasm.js"`, `id="in_browser"`, `id="in_browser_label" hidden`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	_, _, app := do(with, "GET", "/app.js", "")
	for _, want := range []string{"mtcnnWasm.available()", "mtcnnWasm.detect(file, options())"} {
		if !strings.Contains(app, want) {
			t.Errorf("app.js lacks %s", want)
		}
	}
	if code, _, _ := do(with, "GET", "/v1/detect", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/detect: %d; the router must still see non-/wasm/ paths", code)
	}
}
