//go:build !(js && wasm)

package wasmweb

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, WASMFile), []byte("\x00asm fake"), 0o644)
	os.WriteFile(filepath.Join(dir, ExecFile), []byte("globalThis.Go = class {};"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	srv := httptest.NewServer(Handler(dir))
	defer srv.Close()
	empty := httptest.NewServer(Handler(""))
	defer empty.Close()

	get := func(base, method, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	for _, tc := range []struct {
		base, method, path string
		status             int
		ctype, body        string
	}{
		{srv.URL, "GET", "/wasm/mtcnn-wasm.js", 200, "text/javascript; charset=utf-8", "window.mtcnnWasm"},
		{srv.URL, "GET", "/wasm/mtcnn.wasm", 200, "application/wasm", "\x00asm fake"},
		{srv.URL, "HEAD", "/wasm/mtcnn.wasm", 200, "application/wasm", ""},
		{srv.URL, "GET", "/wasm/wasm_exec.js", 200, "text/javascript; charset=utf-8", "globalThis.Go"},
		{srv.URL, "POST", "/wasm/mtcnn.wasm", 405, "", ""},
		{srv.URL, "GET", "/wasm/sub", 404, "", ""},
		{srv.URL, "GET", "/wasm/../go.mod", 404, "", ""},
		{srv.URL, "GET", "/wasm/", 404, "", ""},
		{srv.URL, "GET", "/app.js", 404, "", ""},
		{empty.URL, "HEAD", "/wasm/mtcnn.wasm", 404, "", ""},
		{empty.URL, "GET", "/wasm/mtcnn-wasm.js", 200, "text/javascript; charset=utf-8", "mtcnnDetect"},
	} {
		resp, body := get(tc.base, tc.method, tc.path)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			continue
		}
		if tc.ctype != "" && resp.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s %s: Content-Type %q, want %q", tc.method, tc.path, resp.Header.Get("Content-Type"), tc.ctype)
		}
		if !strings.Contains(body, tc.body) {
			t.Errorf("%s %s: body %.60q lacks %q", tc.method, tc.path, body, tc.body)
		}
	}
}

func TestHandlerGzip(t *testing.T) {
	dir := t.TempDir()
	raw := bytes.Repeat([]byte("\x00asm wasm bytes "), 1000)
	os.WriteFile(filepath.Join(dir, WASMFile), raw, 0o644)
	if err := WriteGzip(filepath.Join(dir, GzipFile), raw); err != nil {
		t.Fatal(err)
	}
	h := Handler(dir)
	for _, tc := range []struct {
		accept string
		gz     bool
	}{
		{"", false},
		{"gzip", true},
		{"br, gzip;q=0.8", true},
		{"GZIP", true},
		{"gzip;q=0", false},
		{"deflate, br", false},
	} {
		req := httptest.NewRequest("GET", "/wasm/mtcnn.wasm", nil)
		if tc.accept != "" {
			req.Header.Set("Accept-Encoding", tc.accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		if rec.Header().Get("Vary") != "Accept-Encoding" || rec.Header().Get("Content-Type") != "application/wasm" {
			t.Errorf("Accept-Encoding %q: headers %v", tc.accept, rec.Header())
		}
		if !tc.gz {
			if rec.Header().Get("Content-Encoding") != "" || !bytes.Equal(body, raw) {
				t.Errorf("Accept-Encoding %q: got encoding %q, %d bytes; want the raw %d", tc.accept, rec.Header().Get("Content-Encoding"), len(body), len(raw))
			}
			continue
		}
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want gzip", tc.accept, rec.Header().Get("Content-Encoding"))
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, raw) || len(body) >= len(raw)/4 {
			t.Errorf("Accept-Encoding %q: %d gzipped bytes inflate to %d (%v); want the %d raw ones, compressed", tc.accept, len(body), len(got), err, len(raw))
		}
	}
	// Without the gzipped copy, gzip clients get the raw file.
	os.Remove(filepath.Join(dir, GzipFile))
	req := httptest.NewRequest("GET", "/wasm/mtcnn.wasm", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "" || !bytes.Equal(rec.Body.Bytes(), raw) {
		t.Errorf("no .gz: encoding %q, %d bytes", rec.Header().Get("Content-Encoding"), rec.Body.Len())
	}
}
