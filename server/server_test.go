package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/server"
)

// detectEndpoints are the three routes that take an image.
var detectEndpoints = []string{"/v1/detect", "/infer", "/v1/annotate"}

func TestDefaultConfig(t *testing.T) {
	c := server.DefaultConfig()
	if c.MaxBodyBytes != 20<<20 || c.MaxPixels != 50_000_000 || c.Concurrency < 1 ||
		c.Queue != 2*c.Concurrency || c.DetectTimeout <= 0 || c.ReadHeaderTimeout <= 0 ||
		c.ReadTimeout <= 0 || c.WriteTimeout <= c.ReadTimeout || c.IdleTimeout <= 0 || c.RetryAfter <= 0 {
		t.Fatalf("DefaultConfig() = %+v", c)
	}
	if got := server.New(server.Config{}, nil, nil).Config(); got != c {
		t.Fatalf("zero Config means %+v, want %+v", got, c)
	}
}

func TestDetectJSON(t *testing.T) {
	det := &fakeDetector{faces: twoFaces}
	s, logs := newServer(t, server.Config{}, det)
	img := pngBytes(t, 120, 80)
	rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(img), "Content-Type", "application/octet-stream")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	id := rec.Header().Get("X-Request-Id")
	if id == "" {
		t.Error("no X-Request-Id")
	}
	var got struct {
		Width, Height int
		Faces         []cascade.Face
		TimingMS      map[string]float64 `json:"timing_ms"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Width != 120 || got.Height != 80 {
		t.Errorf("size %dx%d, want 120x80", got.Width, got.Height)
	}
	if len(got.Faces) != 2 || got.Faces[0] != twoFaces[0] || got.Faces[1] != twoFaces[1] {
		t.Errorf("faces = %+v", got.Faces)
	}
	for k, want := range map[string]float64{"pnet": 1, "rnet": 2, "onet": 3} {
		if got.TimingMS[k] != want {
			t.Errorf("timing_ms.%s = %v, want %v", k, got.TimingMS[k], want)
		}
	}
	if _, ok := got.TimingMS["total"]; !ok {
		t.Error("timing_ms.total missing")
	}
	if det.opts() != (cascade.Options{}) {
		t.Errorf("no query parameters gave options %+v, want the zero (default) options", det.opts())
	}

	// The request's log line carries the id, status, size and faces.
	recs := logs.records(t, "request")
	if len(recs) != 1 {
		t.Fatalf("%d request log lines, want 1:\n%s", len(recs), logs)
	}
	r := recs[0]
	if r["request_id"] != id || r["status"] != float64(200) || r["image"] != "120x80" ||
		r["faces"] != float64(2) || r["route"] != "/v1/detect" || r["latency_ms"] == nil ||
		r["bytes_in"] != float64(len(img)) {
		t.Errorf("log line %v", r)
	}
}

func TestDetectNoFacesIsEmptyArray(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{})
	rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 30, 20)), "Content-Type", "image/png")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), `"faces":[]`) {
		t.Errorf("body %s lacks \"faces\":[]", rec.Body)
	}
}

func TestRawBodyContentTypes(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{})
	img := pngBytes(t, 16, 16)
	for _, ct := range []string{"", "application/octet-stream", "image/png", "image/jpeg", "application/x-www-form-urlencoded"} {
		rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(img), "Content-Type", ct)
		if rec.Code != http.StatusOK {
			t.Errorf("Content-Type %q: status %d: %s", ct, rec.Code, rec.Body)
		}
	}
	for _, ct := range []string{"text/plain", "application/json", "bogus/;;"} {
		rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(img), "Content-Type", ct)
		wantError(t, rec, http.StatusUnsupportedMediaType, "unsupported_media_type")
	}
}

// multipartBody returns a form with the given field holding data.
func multipartBody(t testing.TB, field string, data []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("note", "ignored"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile(field, "face.png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

func TestMultipartUpload(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: twoFaces})
	for _, ep := range detectEndpoints {
		body, ct := multipartBody(t, "image_file", pngBytes(t, 64, 48))
		rec := do(t, s.Handler(), "POST", ep, body, "Content-Type", ct)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", ep, rec.Code, rec.Body)
		}
	}
	body, ct := multipartBody(t, "photo", pngBytes(t, 64, 48))
	wantError(t, do(t, s.Handler(), "POST", "/v1/detect", body, "Content-Type", ct), http.StatusBadRequest, "missing_image")

	body, ct = multipartBody(t, "image_file", nil)
	wantError(t, do(t, s.Handler(), "POST", "/v1/detect", body, "Content-Type", ct), http.StatusBadRequest, "empty_image")

	rec := do(t, s.Handler(), "POST", "/v1/detect", strings.NewReader("--zzz\r\nno colon here\r\n\r\ndata\r\n--zzz--\r\n"), "Content-Type", "multipart/form-data; boundary=zzz")
	wantError(t, rec, http.StatusBadRequest, "bad_multipart")
}

func TestInferPNG(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: twoFaces})
	rec := do(t, s.Handler(), "POST", "/infer", bytes.NewReader(pngBytes(t, 100, 60)), "Content-Type", "image/png")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "image/png" {
		t.Errorf("Content-Type = %q", ct)
	}
	if n := rec.Header().Get("X-Face-Count"); n != "2" {
		t.Errorf("X-Face-Count = %q", n)
	}
	img, err := png.Decode(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 100 || b.Dy() != 60 {
		t.Errorf("annotated size %v", b)
	}
	// The first face's box edge is drawn in green.
	if r, g, b, _ := img.At(10, 30).RGBA(); g>>8 < 200 || r>>8 > 60 || b>>8 > 60 {
		t.Errorf("pixel on the box edge is %d,%d,%d, want green", r>>8, g>>8, b>>8)
	}
}

func TestAnnotateFormats(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: twoFaces})
	for _, tc := range []struct{ q, ct string }{{"", "image/png"}, {"?format=png", "image/png"}, {"?format=jpeg", "image/jpeg"}, {"?format=JPG", "image/jpeg"}} {
		rec := do(t, s.Handler(), "POST", "/v1/annotate"+tc.q, bytes.NewReader(pngBytes(t, 50, 40)), "Content-Type", "image/png")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != tc.ct {
			t.Fatalf("%q: status %d, Content-Type %q", tc.q, rec.Code, rec.Header().Get("Content-Type"))
		}
		var err error
		if tc.ct == "image/png" {
			_, err = png.Decode(rec.Body)
		} else {
			_, err = jpeg.Decode(rec.Body)
		}
		if err != nil {
			t.Errorf("%q: %v", tc.q, err)
		}
	}
	rec := do(t, s.Handler(), "POST", "/v1/annotate?format=gif", bytes.NewReader(pngBytes(t, 50, 40)))
	wantError(t, rec, http.StatusBadRequest, "invalid_format")
}

// TestConfigFMA checks that Config.FMA reaches every detection's options.
func TestConfigFMA(t *testing.T) {
	for _, fma := range []bool{false, true} {
		det := &fakeDetector{}
		s, _ := newServer(t, server.Config{FMA: fma}, det)
		for _, ep := range detectEndpoints {
			rec := do(t, s.Handler(), "POST", ep+"?min_size=40", bytes.NewReader(pngBytes(t, 20, 20)))
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: status %d: %s", ep, rec.Code, rec.Body)
			}
			if want := (cascade.Options{MinSize: 40, FMA: fma}); det.opts() != want {
				t.Errorf("FMA %v, %s: options %+v, want %+v", fma, ep, det.opts(), want)
			}
		}
	}
}

func TestOptionsParameters(t *testing.T) {
	det := &fakeDetector{}
	s, _ := newServer(t, server.Config{}, det)
	img := pngBytes(t, 20, 20)
	for _, ep := range detectEndpoints {
		rec := do(t, s.Handler(), "POST", ep+"?min_size=40&factor=0.5&thresholds=0.5,0.6,0.9", bytes.NewReader(img))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", ep, rec.Code, rec.Body)
		}
		want := cascade.Options{MinSize: 40, Factor: 0.5, Thresholds: [3]float32{0.5, 0.6, 0.9}}
		if det.opts() != want {
			t.Errorf("%s: options %+v, want %+v", ep, det.opts(), want)
		}
		for _, q := range []string{
			"min_size=abc", "min_size=0.5", "min_size=-3", "min_size=NaN", "factor=1", "factor=1.5", "factor=-0.2",
			"factor=x", "thresholds=0.5,0.6", "thresholds=0.5,0.6,0.7,0.8", "thresholds=0.5,2,0.7",
			"thresholds=a,b,c", "thresholds=0.1,-0.1,0.5",
		} {
			rec := do(t, s.Handler(), "POST", ep+"?"+q, bytes.NewReader(img))
			msg := wantError(t, rec, http.StatusBadRequest, "invalid_options")
			if !strings.Contains(msg, "invalid options") {
				t.Errorf("%s?%s: message %q", ep, q, msg)
			}
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	det := &fakeDetector{}
	s, _ := newServer(t, server.Config{}, det)
	big := make([]byte, 30<<20)
	copy(big, pngBytes(t, 8, 8))
	for _, ep := range detectEndpoints {
		// With Content-Length, rejected before reading.
		rec := do(t, s.Handler(), "POST", ep, bytes.NewReader(big), "Content-Type", "application/octet-stream")
		wantError(t, rec, http.StatusRequestEntityTooLarge, "body_too_large")

		// Streamed without a length, cut by the reader cap.
		req := httptest.NewRequest("POST", ep, io.NopCloser(bytes.NewReader(big)))
		req.ContentLength = -1
		rec = httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		wantError(t, rec, http.StatusRequestEntityTooLarge, "body_too_large")

		body, ct := multipartBody(t, "image_file", big)
		req = httptest.NewRequest("POST", ep, io.NopCloser(body))
		req.ContentLength = -1
		req.Header.Set("Content-Type", ct)
		rec = httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		wantError(t, rec, http.StatusRequestEntityTooLarge, "body_too_large")
	}
	// A smaller configured cap applies too.
	s, _ = newServer(t, server.Config{MaxBodyBytes: 1000}, det)
	rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(big[:1001]))
	wantError(t, rec, http.StatusRequestEntityTooLarge, "body_too_large")
	if det.calls.Load() != 0 {
		t.Errorf("detector ran %d times", det.calls.Load())
	}
}

func TestPixelCap(t *testing.T) {
	det := &fakeDetector{}
	s, _ := newServer(t, server.Config{}, det)
	huge := hugePNGHeader(20000, 20000)
	if len(huge) > 100 {
		t.Fatalf("crafted PNG is %d bytes", len(huge))
	}
	for _, ep := range detectEndpoints {
		rec := do(t, s.Handler(), "POST", ep, bytes.NewReader(huge), "Content-Type", "image/png")
		msg := wantError(t, rec, http.StatusRequestEntityTooLarge, "image_too_large")
		if !strings.Contains(msg, "20000x20000") {
			t.Errorf("message %q does not name the size", msg)
		}
	}
	// The cap is configurable: 100x100 passes the default, not a 5000-pixel cap.
	s, _ = newServer(t, server.Config{MaxPixels: 5000}, det)
	rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 100, 100)))
	wantError(t, rec, http.StatusRequestEntityTooLarge, "image_too_large")
	if det.calls.Load() != 0 {
		t.Errorf("detector ran %d times", det.calls.Load())
	}
}

func TestNotAnImage(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{})
	random := make([]byte, 4096)
	_, _ = rand.Read(random)
	random[0] = 'x' // never a valid magic number
	truncated := pngBytes(t, 64, 64)
	truncated = truncated[:len(truncated)/2]
	for _, ep := range detectEndpoints {
		msg := wantError(t, do(t, s.Handler(), "POST", ep, bytes.NewReader(random)), http.StatusUnsupportedMediaType, "unsupported_image")
		if !strings.Contains(msg, "supported format") {
			t.Errorf("random bytes: message %q", msg)
		}
		wantError(t, do(t, s.Handler(), "POST", ep, strings.NewReader("hello, world")), http.StatusUnsupportedMediaType, "unsupported_image")
		wantError(t, do(t, s.Handler(), "POST", ep, bytes.NewReader(truncated), "Content-Type", "image/png"), http.StatusBadRequest, "corrupt_image")
		wantError(t, do(t, s.Handler(), "POST", ep, http.NoBody), http.StatusBadRequest, "empty_image")
		wantError(t, do(t, s.Handler(), "POST", ep, strings.NewReader("")), http.StatusBadRequest, "empty_image")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{})
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", "/v1/detect", "POST"},
		{"PUT", "/infer", "POST"},
		{"DELETE", "/v1/annotate", "POST"},
		{"POST", "/healthz", "GET, HEAD"},
		{"POST", "/", "GET, HEAD"},
		{"PATCH", "/metrics", "GET, HEAD"},
	} {
		rec := do(t, s.Handler(), tc.method, tc.path, nil)
		wantError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := rec.Header().Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
}

func TestNotFound(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{})
	for _, p := range []string{"/nope", "/v1", "/v1/detect/", "/v2/detect", "/index.html", "/favicon.ico"} {
		wantError(t, do(t, s.Handler(), "GET", p, nil), http.StatusNotFound, "not_found")
	}
}

func TestStaticPages(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{})
	rec := do(t, s.Handler(), "GET", "/", nil)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	page := rec.Body.String()
	for _, id := range []string{`id="file"`, `id="result"`, `id="faces"`, `id="count"`, `id="min_size"`, `id="factor"`, `id="t1"`, `src="app.js"`, `href="style.css"`} {
		if !strings.Contains(page, id) {
			t.Errorf("page lacks %s", id)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("page refers to an outside URL; it must work offline")
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	for path, ct := range map[string]string{"/app.js": "text/javascript", "/style.css": "text/css", "/openapi.json": "application/json"} {
		rec := do(t, s.Handler(), "GET", path, nil)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), ct) || rec.Body.Len() == 0 {
			t.Errorf("GET %s: %d %q %d bytes", path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
		}
	}
	rec = do(t, s.Handler(), "HEAD", "/", nil)
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD /: %d with %d body bytes", rec.Code, rec.Body.Len())
	}
}

func TestHealthAndReadiness(t *testing.T) {
	s, _ := newServer(t, server.Config{}, nil)
	if rec := do(t, s.Handler(), "GET", "/healthz", nil); rec.Code != 200 {
		t.Fatalf("healthz: %d", rec.Code)
	}
	rec := do(t, s.Handler(), "GET", "/readyz", nil)
	wantError(t, rec, http.StatusServiceUnavailable, "not_ready")
	if rec.Header().Get("Retry-After") == "" {
		t.Error("not-ready 503 without Retry-After")
	}
	wantError(t, do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 8, 8))), http.StatusServiceUnavailable, "not_ready")

	s.SetDetector(&fakeDetector{})
	if rec := do(t, s.Handler(), "GET", "/readyz", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "ready") {
		t.Fatalf("readyz after SetDetector: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 8, 8))); rec.Code != 200 {
		t.Fatalf("detect after SetDetector: %d %s", rec.Code, rec.Body)
	}
}

func TestAuth(t *testing.T) {
	const token = "s3cret-token"
	img := pngBytes(t, 8, 8)
	on, _ := newServer(t, server.Config{AuthToken: token}, &fakeDetector{})
	off, _ := newServer(t, server.Config{}, &fakeDetector{})

	protected := []struct{ method, path string }{
		{"POST", "/v1/detect"}, {"POST", "/infer"}, {"POST", "/v1/annotate"}, {"GET", "/"},
		{"GET", "/app.js"}, {"GET", "/metrics"}, {"GET", "/openapi.json"}, {"GET", "/no-such-path"},
	}
	body := func(m string) io.Reader {
		if m == "POST" {
			return bytes.NewReader(img)
		}
		return nil
	}
	for _, p := range protected {
		for _, hdr := range []string{"", "Bearer", "Bearer wrong", "Bearer " + token + "x", "Basic " + token, token} {
			rec := do(t, on.Handler(), p.method, p.path, body(p.method), "Authorization", hdr)
			wantError(t, rec, http.StatusUnauthorized, "unauthorized")
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: WWW-Authenticate %q", p.method, p.path, rec.Header().Get("WWW-Authenticate"))
			}
		}
		want := 200
		if p.path == "/no-such-path" {
			want = 404
		}
		for _, hdr := range []string{"Bearer " + token, "bearer " + token} {
			if rec := do(t, on.Handler(), p.method, p.path, body(p.method), "Authorization", hdr); rec.Code != want {
				t.Errorf("%s %s with the token: %d, want %d", p.method, p.path, rec.Code, want)
			}
		}
		if rec := do(t, off.Handler(), p.method, p.path, body(p.method)); rec.Code != want {
			t.Errorf("%s %s without auth configured: %d, want %d", p.method, p.path, rec.Code, want)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if rec := do(t, on.Handler(), "GET", p, nil); rec.Code != 200 {
			t.Errorf("%s without token: %d", p, rec.Code)
		}
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// metricsText returns the /metrics exposition.
func metricsText(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := do(t, h, "GET", "/metrics", nil)
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

func TestQueueFull(t *testing.T) {
	det := &fakeDetector{block: make(chan struct{}), started: make(chan struct{}, 8)}
	s, _ := newServer(t, server.Config{Concurrency: 1, Queue: 1}, det)
	h := s.Handler()
	img := pngBytes(t, 16, 16)

	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = do(t, h, "POST", "/v1/detect", bytes.NewReader(img)).Code
		}()
		if i == 0 {
			<-det.started // the first one runs
		}
	}
	// The second one waits in the queue.
	waitFor(t, "a queued request", func() bool { return strings.Contains(metricsText(t, h), "\nmtcnn_detect_queued 1\n") })

	start := time.Now()
	rec := do(t, h, "POST", "/v1/detect", bytes.NewReader(img))
	if d := time.Since(start); d > time.Second {
		t.Errorf("the 503 took %v; it must come at once", d)
	}
	wantError(t, rec, http.StatusServiceUnavailable, "busy")
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	close(det.block)
	wg.Wait()
	if codes[0] != 200 || codes[1] != 200 {
		t.Errorf("blocked requests ended %v, want 200s", codes)
	}
	if det.calls.Load() != 2 {
		t.Errorf("detector ran %d times, want 2", det.calls.Load())
	}
	if !strings.Contains(metricsText(t, h), `mtcnn_http_requests_total{route="/v1/detect",status="503"} 1`) {
		t.Error("the 503 is not counted")
	}
}

func TestNoQueue(t *testing.T) {
	det := &fakeDetector{block: make(chan struct{}), started: make(chan struct{}, 8)}
	s, _ := newServer(t, server.Config{Concurrency: 1, Queue: -1}, det)
	done := make(chan int)
	go func() { done <- do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 8, 8))).Code }()
	<-det.started
	wantError(t, do(t, s.Handler(), "POST", "/infer", bytes.NewReader(pngBytes(t, 8, 8))), http.StatusServiceUnavailable, "busy")
	close(det.block)
	if c := <-done; c != 200 {
		t.Errorf("first request: %d", c)
	}
}

func TestDetectTimeout(t *testing.T) {
	det := &fakeDetector{block: make(chan struct{})} // never closed: only the deadline ends it
	s, _ := newServer(t, server.Config{DetectTimeout: 50 * time.Millisecond, RetryAfter: 2500 * time.Millisecond}, det)
	start := time.Now()
	rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 8, 8)))
	wantError(t, rec, http.StatusServiceUnavailable, "timeout")
	if ra := rec.Header().Get("Retry-After"); ra != "3" {
		t.Errorf("Retry-After %q, want 3 (2.5 s rounded up)", ra)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestDetectorErrorIs500(t *testing.T) {
	s, logs := newServer(t, server.Config{}, &fakeDetector{err: errors.New("tensor on fire")})
	rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 8, 8)))
	msg := wantError(t, rec, http.StatusInternalServerError, "internal")
	if strings.Contains(msg, "fire") {
		t.Errorf("internal detail leaked to the client: %q", msg)
	}
	if !strings.Contains(logs.String(), "tensor on fire") {
		t.Error("the cause is not logged")
	}
}

func TestPanicIs500(t *testing.T) {
	s, logs := newServer(t, server.Config{Concurrency: 1, Queue: -1}, &fakeDetector{panics: true})
	for range 3 { // the slot is given back each time
		rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 8, 8)))
		wantError(t, rec, http.StatusInternalServerError, "internal")
		if rec.Header().Get("X-Request-Id") == "" {
			t.Error("no X-Request-Id on the 500")
		}
	}
	panics := logs.records(t, "panic serving request")
	if len(panics) != 3 {
		t.Fatalf("%d panic log lines, want 3:\n%s", len(panics), logs)
	}
	if st, _ := panics[0]["stack"].(string); !strings.Contains(st, "goroutine") || !strings.Contains(st, "DetectStats") {
		t.Errorf("panic log has no stack: %v", panics[0])
	}
	if !strings.Contains(metricsText(t, s.Handler()), `mtcnn_http_requests_total{route="/v1/detect",status="500"} 3`) {
		t.Error("the 500s are not counted")
	}
}

func TestPanicOverRealConnection(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{panics: true})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp, err := http.Post(ts.URL+"/v1/detect", "image/png", bytes.NewReader(pngBytes(t, 8, 8)))
	if err != nil {
		t.Fatalf("the client saw a dropped connection: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestRequestID(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{})
	rec := do(t, s.Handler(), "GET", "/healthz", nil, "X-Request-Id", "abc-123.X_y")
	if got := rec.Header().Get("X-Request-Id"); got != "abc-123.X_y" {
		t.Errorf("valid client id not echoed: %q", got)
	}
	for _, bad := range []string{"has space", strings.Repeat("a", 65), "new\nline", "<script>"} {
		rec := do(t, s.Handler(), "GET", "/healthz", nil, "X-Request-Id", bad)
		if got := rec.Header().Get("X-Request-Id"); got == bad || len(got) != 16 {
			t.Errorf("unsafe id %q answered with %q", bad, got)
		}
	}
	a := do(t, s.Handler(), "GET", "/healthz", nil).Header().Get("X-Request-Id")
	b := do(t, s.Handler(), "GET", "/healthz", nil).Header().Get("X-Request-Id")
	if a == b {
		t.Errorf("two requests got the same id %q", a)
	}
}

func TestMetrics(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: twoFaces})
	h := s.Handler()
	do(t, h, "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 16, 16)))
	do(t, h, "POST", "/v1/detect", strings.NewReader("junk"))
	do(t, h, "GET", "/nope", nil)
	text := metricsText(t, h)
	for _, want := range []string{
		`mtcnn_http_requests_total{route="/v1/detect",status="200"} 1`,
		`mtcnn_http_requests_total{route="/v1/detect",status="415"} 1`,
		`mtcnn_http_requests_total{route="unmatched",status="404"} 1`,
		`mtcnn_http_request_duration_seconds_bucket{route="/v1/detect",le=`,
		"mtcnn_http_requests_in_flight 1", // the /metrics request itself
		`mtcnn_detect_stage_duration_seconds_count{stage="pnet"} 1`,
		`mtcnn_detect_stage_duration_seconds_count{stage="rnet"} 1`,
		`mtcnn_detect_stage_duration_seconds_count{stage="onet"} 1`,
		"mtcnn_detect_duration_seconds_count 1",
		"mtcnn_faces_detected_total 2",
		"mtcnn_image_pixels_count 1",
		"mtcnn_detect_running 0",
		"mtcnn_detect_queued 0",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// A second server has counters of its own.
	s2, _ := newServer(t, server.Config{}, &fakeDetector{})
	if strings.Contains(metricsText(t, s2.Handler()), `status="200"} 1`+"\nmtcnn") {
		t.Error("servers share metrics")
	}
	if strings.Contains(metricsText(t, s2.Handler()), "mtcnn_faces_detected_total 2") {
		t.Error("servers share metrics")
	}
}

func TestClientGoneIsNot5xx(t *testing.T) {
	det := &fakeDetector{block: make(chan struct{}), started: make(chan struct{}, 1)}
	s, _ := newServer(t, server.Config{}, det)
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("POST", "/v1/detect", bytes.NewReader(pngBytes(t, 8, 8))).WithContext(ctx)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { s.Handler().ServeHTTP(rec, req); close(done) }()
	<-det.started
	cancel()
	<-done
	if rec.Code != 499 {
		t.Errorf("status %d, want 499", rec.Code)
	}
}
