//go:build !(js && wasm)

package wasmweb

// The serving side lives apart from the detection so that the browser
// build (GOOS=js), which never serves, links no net/http: that keeps
// mtcnn.wasm a few megabytes smaller.

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Handler serves GET and HEAD of Prefix+GlueFile from this package and of
// Prefix+WASMFile and Prefix+ExecFile from the folder dir (the release's
// dist/web/wasm); WASMFile comes from GzipFile, with Content-Encoding
// gzip, when that exists and the client accepts gzip. Any other path, or a file missing from dir, is 404, so
// a page can probe Prefix+WASMFile to learn whether in-browser detection
// is available. An empty dir serves the glue only.
func Handler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch name {
		case GlueFile:
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(glue))
		case WASMFile, ExecFile:
			if dir == "" {
				http.NotFound(w, r)
				return
			}
			w.Header().Add("Vary", "Accept-Encoding")
			f, gz := openGzip(dir, name, r)
			if f == nil {
				var err error
				if f, err = os.Open(filepath.Join(dir, name)); err != nil {
					http.NotFound(w, r)
					return
				}
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil || st.IsDir() {
				http.NotFound(w, r)
				return
			}
			ctype := "application/wasm"
			if name == ExecFile {
				ctype = "text/javascript; charset=utf-8"
			}
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "no-cache")
			if gz {
				w.Header().Set("Content-Encoding", "gzip")
			}
			http.ServeContent(w, r, name, st.ModTime(), f)
		default:
			http.NotFound(w, r)
		}
	})
}

// openGzip opens GzipFile from dir for a request of WASMFile whose client
// accepts gzip, or returns nil.
func openGzip(dir, name string, r *http.Request) (*os.File, bool) {
	if name != WASMFile || !acceptsGzip(r.Header.Values("Accept-Encoding")) {
		return nil, false
	}
	f, err := os.Open(filepath.Join(dir, GzipFile))
	if err != nil {
		return nil, false
	}
	return f, true
}

// acceptsGzip reports whether Accept-Encoding values allow gzip (and do
// not refuse it with q=0).
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
