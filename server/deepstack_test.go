package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/server"
)

// The DeepStack routes and what each adds to a prediction.
var deepstackRoutes = []struct {
	path   string
	label  string  // "" means no label key at all
	defMin float64 // DeepStack's min_confidence default on the route
}{
	{"/v1/vision/face", "", 0.55},
	{"/v1/vision/detection", "face", 0.40},
}

// formPart is one field of a multipart form built by dsForm.
type formPart struct {
	name string
	data []byte
	file bool // a file part (with a filename), as clients send the image
}

// imagePart is the image field as DeepStack clients send it.
func imagePart(data []byte) formPart { return formPart{name: "image", data: data, file: true} }

// field is a text field.
func field(name, value string) formPart { return formPart{name: name, data: []byte(value)} }

// dsForm returns a multipart body with parts in order and its content type.
func dsForm(t testing.TB, parts ...formPart) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.file {
			w, err = mw.CreateFormFile(p.name, "camera.png")
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// postForm posts a DeepStack form to path on h.
func postForm(t testing.TB, h http.Handler, path string, parts []formPart, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	body, ct := dsForm(t, parts...)
	return do(t, h, "POST", path, bytes.NewReader(body), append([]string{"Content-Type", ct}, header...)...)
}

// dsPrediction is a decoded prediction; the raw map keeps the key set
// and the JSON types for the shape checks.
type dsPrediction struct {
	Confidence             float64
	Label                  string
	XMin, YMin, XMax, YMax int
}

// wantDeepStackOK checks a DeepStack success answer's exact shape (keys,
// JSON types, integer coordinates, duration 0) and returns its
// predictions.
func wantDeepStackOK(t testing.TB, rec *httptest.ResponseRecorder, label string) []dsPrediction {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	if keys := sortedKeys(top); !slices.Equal(keys, []string{"duration", "predictions", "success"}) {
		t.Fatalf("keys %v, want duration, predictions, success; body %s", keys, rec.Body)
	}
	if top["success"] != true {
		t.Fatalf("success = %v", top["success"])
	}
	if top["duration"] != json.Number("0") {
		t.Errorf("duration = %v, want 0 (as DeepStack)", top["duration"])
	}
	raw, ok := top["predictions"].([]any)
	if !ok {
		t.Fatalf("predictions is %T, want an array (never null); body %s", top["predictions"], rec.Body)
	}
	wantKeys := []string{"confidence", "x_max", "x_min", "y_max", "y_min"}
	if label != "" {
		wantKeys = []string{"confidence", "label", "x_max", "x_min", "y_max", "y_min"}
	}
	var out []dsPrediction
	for i, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("prediction %d is %T", i, r)
		}
		if keys := sortedKeys(m); !slices.Equal(keys, wantKeys) {
			t.Fatalf("prediction %d keys %v, want %v", i, keys, wantKeys)
		}
		var p dsPrediction
		conf, err := m["confidence"].(json.Number).Float64()
		if err != nil {
			t.Fatalf("confidence %v: %v", m["confidence"], err)
		}
		p.Confidence = float64(float32(conf)) // the server sends float32 scores
		if label != "" && m["label"] != label {
			t.Errorf("label %v, want %q", m["label"], label)
		}
		p.Label, _ = m["label"].(string)
		for _, c := range []struct {
			key string
			dst *int
		}{{"x_min", &p.XMin}, {"y_min", &p.YMin}, {"x_max", &p.XMax}, {"y_max", &p.YMax}} {
			n, ok := m[c.key].(json.Number)
			if !ok {
				t.Fatalf("%s is %T, want a number", c.key, m[c.key])
			}
			v, err := strconv.Atoi(n.String())
			if err != nil {
				t.Fatalf("%s = %s is not an integer", c.key, n)
			}
			*c.dst = v
		}
		out = append(out, p)
	}
	return out
}

// wantDeepStackError checks a DeepStack error answer: the status, the
// exact shape {"success":false,"error":"...","duration":0}, and that the
// message contains want.
func wantDeepStackError(t testing.TB, rec *httptest.ResponseRecorder, status int, want string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var top map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &top); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	if keys := sortedKeys(top); !slices.Equal(keys, []string{"duration", "error", "success"}) {
		t.Fatalf("keys %v, want duration, error, success; body %s", keys, rec.Body)
	}
	if top["success"] != false || top["duration"] != 0.0 {
		t.Fatalf("success %v, duration %v; body %s", top["success"], top["duration"], rec.Body)
	}
	msg, ok := top["error"].(string)
	if !ok || msg == "" || !strings.Contains(msg, want) {
		t.Fatalf("error %v, want a message containing %q", top["error"], want)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestDeepStackShapeAndRounding(t *testing.T) {
	faces := []cascade.Face{
		{Box: [4]float32{10.2, 12.999, 40.5, 45.01}, Score: 0.99},    // inside: truncated
		{Box: [4]float32{-3.7, -0.2, 70.9, 49.6}, Score: 0.9},        // over the edges: clipped to 0..64, 0..48
		{Box: [4]float32{63.99, 47.99, 64, 48}, Score: 0.8},          // on the far edge
		{Box: [4]float32{20, 20, 30, 30}, Score: 0.5},                // under the face route's 0.55
		{Box: [4]float32{float32(math.NaN()), 5, 9, 9}, Score: 0.97}, // NaN never escapes
	}
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: faces})
	img := pngBytes(t, 64, 48)
	for _, rt := range deepstackRoutes {
		got := wantDeepStackOK(t, postForm(t, s.Handler(), rt.path, []formPart{imagePart(img)}), rt.label)
		want := []dsPrediction{
			{0.99, rt.label, 10, 12, 40, 45},
			{0.9, rt.label, 0, 0, 64, 48},
			{0.8, rt.label, 63, 47, 64, 48},
		}
		if rt.defMin < 0.5 {
			want = append(want, dsPrediction{0.5, rt.label, 20, 20, 30, 30})
		}
		want = append(want, dsPrediction{float64(float32(0.97)), rt.label, 0, 5, 9, 9})
		for i := range want {
			want[i].Confidence = float64(float32(want[i].Confidence))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", rt.path, got, want)
		}
	}
	// No faces: an empty array.
	s, _ = newServer(t, server.Config{}, &fakeDetector{})
	for _, rt := range deepstackRoutes {
		if got := wantDeepStackOK(t, postForm(t, s.Handler(), rt.path, []formPart{imagePart(img)}), rt.label); len(got) != 0 {
			t.Errorf("%s: %v, want none", rt.path, got)
		}
	}
}

func TestDeepStackMinConfidence(t *testing.T) {
	scores := []float32{0.99, 0.9, 0.56, 0.55, 0.5, 0.41, 0.4, 0.1}
	faces := make([]cascade.Face, len(scores))
	for i, sc := range scores {
		faces[i] = cascade.Face{Box: [4]float32{1, 1, 10, 10}, Score: sc}
	}
	det := &fakeDetector{faces: faces}
	s, _ := newServer(t, server.Config{}, det)
	img := pngBytes(t, 32, 32)
	// kept returns the scores above min (strictly, as DeepStack).
	kept := func(min float64) []float32 {
		var out []float32
		for _, sc := range scores {
			if float64(sc) > min {
				out = append(out, sc)
			}
		}
		return out
	}
	for _, rt := range deepstackRoutes {
		for _, tc := range []struct {
			name  string
			parts []formPart
			min   float64
		}{
			{"absent: DeepStack's default", []formPart{imagePart(img)}, rt.defMin},
			{"empty: the default", []formPart{field("min_confidence", ""), imagePart(img)}, rt.defMin},
			{"0.9 before the image", []formPart{field("min_confidence", "0.9"), imagePart(img)}, 0.9},
			{"0.9 after the image", []formPart{imagePart(img), field("min_confidence", "0.9")}, 0.9},
			{"spaces", []formPart{imagePart(img), field("min_confidence", " 0.45 ")}, 0.45},
			{"exactly a score: strict", []formPart{imagePart(img), field("min_confidence", "0.5")}, 0.5},
			{"zero: all", []formPart{imagePart(img), field("min_confidence", "0")}, 0},
			{"negative: all", []formPart{imagePart(img), field("min_confidence", "-2")}, -2},
			{"one: none", []formPart{imagePart(img), field("min_confidence", "1")}, 1},
			{"first of two", []formPart{field("min_confidence", "0.95"), imagePart(img), field("min_confidence", "0")}, 0.95},
		} {
			got := wantDeepStackOK(t, postForm(t, s.Handler(), rt.path, tc.parts), rt.label)
			var gotScores []float32
			for _, p := range got {
				gotScores = append(gotScores, float32(p.Confidence))
			}
			if want := kept(tc.min); !slices.Equal(gotScores, want) {
				t.Errorf("%s, %s: scores %v, want %v", rt.path, tc.name, gotScores, want)
			}
		}
	}
	// The cascade's own options come from the query, as on /v1/detect.
	wantDeepStackOK(t, postForm(t, s.Handler(), "/v1/vision/face?min_size=40&thresholds=0.5,0.6,0.6", []formPart{imagePart(img)}), "")
	if o := det.opts(); o.MinSize != 40 || o.Thresholds != [3]float32{0.5, 0.6, 0.6} {
		t.Errorf("options %+v", o)
	}
}

// deepstackBadInputs are requests every DeepStack route must refuse in
// DeepStack's error shape with the given status.
func deepstackBadInputs(t *testing.T) []struct {
	name   string
	body   func() (io.Reader, int64, string) // body, Content-Length (-1: chunked), Content-Type
	status int
	msg    string
} {
	img := pngBytes(t, 16, 16)
	form := func(parts ...formPart) func() (io.Reader, int64, string) {
		return func() (io.Reader, int64, string) {
			b, ct := dsForm(t, parts...)
			return bytes.NewReader(b), int64(len(b)), ct
		}
	}
	big := make([]byte, 30<<20)
	copy(big, img)
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7 + 3)
	}
	truncated := img[:len(img)/2]
	return []struct {
		name   string
		body   func() (io.Reader, int64, string)
		status int
		msg    string
	}{
		{"no image field", form(field("min_confidence", "0.5"), field("photo", "x")), 400, "No valid image file found"},
		{"image in another field", form(formPart{name: "image_file", data: img, file: true}), 400, "No valid image file found"},
		{"empty form", form(), 400, "No valid image file found"},
		{"raw image, not a form", func() (io.Reader, int64, string) { return bytes.NewReader(img), int64(len(img)), "image/png" }, 400, "No valid image file found"},
		{"no body", func() (io.Reader, int64, string) { return http.NoBody, 0, "" }, 400, "No valid image file found"},
		{"not an image", form(imagePart([]byte("hello, world, this is text"))), 400, "invalid image"},
		{"random bytes", form(imagePart(random)), 400, "invalid image"},
		{"truncated PNG", form(imagePart(truncated)), 400, "invalid image"},
		{"empty image", form(imagePart(nil)), 400, "invalid image"},
		{"min_confidence=abc", form(imagePart(img), field("min_confidence", "abc")), 400, "Invalid value for min_confidence"},
		{"min_confidence=NaN", form(imagePart(img), field("min_confidence", "NaN")), 400, "Invalid value for min_confidence"},
		{"min_confidence=1.5", form(field("min_confidence", "1.5"), imagePart(img)), 400, "min_confidence cannot be greater than 1"},
		{"min_confidence too long", form(imagePart(img), field("min_confidence", strings.Repeat("0", 2000))), 400, "longer than"},
		{"bad query", func() (io.Reader, int64, string) {
			b, ct := dsForm(t, imagePart(img))
			return bytes.NewReader(b), int64(len(b)), ct
		}, 400, "invalid options"},
		{"malformed form", func() (io.Reader, int64, string) {
			b := "--zzz\r\nno colon here\r\n\r\ndata\r\n--zzz--\r\n"
			return strings.NewReader(b), int64(len(b)), "multipart/form-data; boundary=zzz"
		}, 400, "malformed multipart form"},
		{"30 MB form with a length", form(imagePart(big)), 413, "exceeds the limit"},
		{"30 MB form, chunked", func() (io.Reader, int64, string) {
			b, ct := dsForm(t, imagePart(big))
			return io.NopCloser(bytes.NewReader(b)), -1, ct
		}, 413, "exceeds the limit"},
		{"30 MB raw body, chunked", func() (io.Reader, int64, string) {
			return io.NopCloser(bytes.NewReader(big)), -1, "application/octet-stream"
		}, 413, "exceeds the limit"},
		{"20000x20000 pixels", form(imagePart(hugePNGHeader(20000, 20000))), 413, "20000x20000"},
	}
}

func TestDeepStackBadInput(t *testing.T) {
	det := &fakeDetector{faces: twoFaces}
	s, _ := newServer(t, server.Config{}, det)
	h := s.Handler()
	for _, rt := range deepstackRoutes {
		for _, tc := range deepstackBadInputs(t) {
			body, n, ct := tc.body()
			target := rt.path
			if tc.name == "bad query" {
				target += "?thresholds=2,2,2"
			}
			req := httptest.NewRequest("POST", target, body)
			req.ContentLength = n
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			t.Run(strings.TrimPrefix(rt.path, "/v1/vision/")+"/"+tc.name, func(t *testing.T) {
				wantDeepStackError(t, rec, tc.status, tc.msg)
			})
		}
	}
	if n := det.calls.Load(); n != 0 {
		t.Errorf("the detector ran %d times on bad input", n)
	}
	// The server is unharmed: nothing holds a pool place, and a good
	// request still works.
	m := metricsText(t, h)
	for _, line := range []string{"\nmtcnn_detect_queued 0\n", "\nmtcnn_detect_running 0\n", `mtcnn_http_requests_total{route="/v1/vision/face",status="413"} 4`} {
		if !strings.Contains(m, line) {
			t.Errorf("metrics lack %q", strings.TrimSpace(line))
		}
	}
	for _, rt := range deepstackRoutes {
		if got := wantDeepStackOK(t, postForm(t, h, rt.path, []formPart{imagePart(pngBytes(t, 16, 16))}), rt.label); len(got) != 2 {
			t.Errorf("%s after bad input: %d predictions, want 2", rt.path, len(got))
		}
	}
}

func TestDeepStackAuth(t *testing.T) {
	const token = "s3cret-token"
	det := &fakeDetector{faces: twoFaces}
	s, _ := newServer(t, server.Config{AuthToken: token}, det)
	h := s.Handler()
	img := pngBytes(t, 16, 16)
	for _, rt := range deepstackRoutes {
		for _, tc := range []struct {
			name   string
			parts  []formPart
			header string
			ok     bool
		}{
			{"nothing", []formPart{imagePart(img)}, "", false},
			{"wrong api_key", []formPart{field("api_key", "nope"), imagePart(img)}, "", false},
			{"api_key with a suffix", []formPart{field("api_key", token+"x"), imagePart(img)}, "", false},
			{"empty api_key", []formPart{field("api_key", ""), imagePart(img)}, "", false},
			{"wrong bearer", []formPart{imagePart(img)}, "Bearer nope", false},
			{"token as Basic", []formPart{imagePart(img)}, "Basic " + token, false},
			{"api_key before the image", []formPart{field("api_key", token), imagePart(img)}, "", true},
			{"api_key after the image", []formPart{imagePart(img), field("api_key", token)}, "", true},
			{"bearer", []formPart{imagePart(img)}, "Bearer " + token, true},
			{"bearer, any case", []formPart{imagePart(img)}, "bearer " + token, true},
			{"wrong bearer, right api_key", []formPart{field("api_key", token), imagePart(img)}, "Bearer nope", true},
			{"right bearer, wrong api_key", []formPart{field("api_key", "nope"), imagePart(img)}, "Bearer " + token, true},
		} {
			before := det.calls.Load()
			rec := postForm(t, h, rt.path, tc.parts, "Authorization", tc.header)
			if tc.ok {
				if got := wantDeepStackOK(t, rec, rt.label); len(got) != 2 {
					t.Errorf("%s, %s: %d predictions", rt.path, tc.name, len(got))
				}
				continue
			}
			wantDeepStackError(t, rec, http.StatusUnauthorized, "Incorrect api key")
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s, %s: WWW-Authenticate %q", rt.path, tc.name, rec.Header().Get("WWW-Authenticate"))
			}
			if det.calls.Load() != before {
				t.Errorf("%s, %s: the detector ran for an unauthorized request", rt.path, tc.name)
			}
		}
		// Auth comes first, as in DeepStack: no key and no image is 401.
		wantDeepStackError(t, postForm(t, h, rt.path, nil), http.StatusUnauthorized, "Incorrect api key")
	}
	// The api_key field opens only the DeepStack routes.
	body, ct := dsForm(t, field("api_key", token), formPart{name: "image_file", data: img, file: true})
	wantError(t, do(t, h, "POST", "/v1/detect", bytes.NewReader(body), "Content-Type", ct), http.StatusUnauthorized, "unauthorized")
	// Without a configured token any api_key is ignored, as in DeepStack.
	open, _ := newServer(t, server.Config{}, det)
	wantDeepStackOK(t, postForm(t, open.Handler(), "/v1/vision/face", []formPart{field("api_key", "whatever"), imagePart(img)}), "")
}

func TestDeepStackBusyAndNotReady(t *testing.T) {
	det := &fakeDetector{block: make(chan struct{}), started: make(chan struct{}, 4)}
	s, _ := newServer(t, server.Config{Concurrency: 1, Queue: -1}, det)
	h := s.Handler()
	img := pngBytes(t, 16, 16)
	var wg sync.WaitGroup
	wg.Add(1)
	var first *httptest.ResponseRecorder
	go func() {
		defer wg.Done()
		first = postForm(t, h, "/v1/vision/face", []formPart{imagePart(img)})
	}()
	<-det.started
	for _, rt := range deepstackRoutes {
		rec := postForm(t, h, rt.path, []formPart{imagePart(img)})
		wantDeepStackError(t, rec, http.StatusServiceUnavailable, "busy")
		if rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", rt.path)
		}
	}
	close(det.block)
	wg.Wait()
	wantDeepStackOK(t, first, "")

	loading, _ := newServer(t, server.Config{}, nil)
	wantDeepStackError(t, postForm(t, loading.Handler(), "/v1/vision/face", []formPart{imagePart(img)}), http.StatusServiceUnavailable, "loading")
}

func TestDeepStackMetricsAndLog(t *testing.T) {
	s, logs := newServer(t, server.Config{}, &fakeDetector{faces: twoFaces})
	h := s.Handler()
	img := pngBytes(t, 16, 16)
	wantDeepStackOK(t, postForm(t, h, "/v1/vision/face", []formPart{imagePart(img)}), "")
	wantDeepStackOK(t, postForm(t, h, "/v1/vision/detection", []formPart{imagePart(img), field("min_confidence", "0.95")}), "face")
	wantDeepStackError(t, postForm(t, h, "/v1/vision/face", []formPart{field("min_confidence", "abc"), imagePart(img)}), 400, "min_confidence")
	m := metricsText(t, h)
	for _, want := range []string{
		`mtcnn_http_requests_total{route="/v1/vision/face",status="200"} 1`,
		`mtcnn_http_requests_total{route="/v1/vision/face",status="400"} 1`,
		`mtcnn_http_requests_total{route="/v1/vision/detection",status="200"} 1`,
		"\nmtcnn_faces_detected_total 4\n",
		`mtcnn_detect_duration_seconds_count 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", strings.TrimSpace(want))
		}
	}
	recs := logs.records(t, "request")
	if len(recs) != 4 { // and /metrics
		t.Fatalf("%d request log lines, want 4", len(recs))
	}
	if recs[1]["faces"] != 1.0 || recs[1]["image"] != "16x16" {
		t.Errorf("log line %v: want the predictions kept (1) and the size", recs[1])
	}
	if recs[2]["error_code"] != "invalid_options" {
		t.Errorf("log line %v: want error_code invalid_options", recs[2])
	}
}

// TestDeepStackOverTCP sends oversized bodies to a real server and checks
// that each gets its 413 in DeepStack's shape and the connection pool and
// server stay usable.
func TestDeepStackOverTCP(t *testing.T) {
	s, _ := newServer(t, server.Config{Concurrency: 1, Queue: -1}, &fakeDetector{faces: twoFaces})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ln); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	big := make([]byte, 30<<20)
	body, ct := dsForm(t, field("min_confidence", "0.5"), imagePart(big))
	post := func(r io.Reader) (int, []byte) {
		t.Helper()
		resp, err := http.Post(s.URL()+"/v1/vision/face", ct, r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for range 2 {
		if code, b := post(bytes.NewReader(body)); code != 413 || !bytes.Contains(b, []byte(`"success":false`)) {
			t.Fatalf("with a length: %d %s", code, b)
		}
		if code, b := post(io.NopCloser(bytes.NewReader(body))); code != 413 || !bytes.Contains(b, []byte(`"success":false`)) {
			t.Fatalf("chunked: %d %s", code, b)
		}
	}
	good, ct := dsForm(t, imagePart(pngBytes(t, 16, 16)))
	resp, err := http.Post(s.URL()+"/v1/vision/detection", ct, bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"label":"face"`)) {
		t.Fatalf("after the 413s: %d %s", resp.StatusCode, b)
	}
}

// TestE2EDeepStack posts real photos to a real server with the embedded
// model and checks the predictions against an in-process detection:
// the same faces, above DeepStack's default, with the documented
// clipping and truncation.
func TestE2EDeepStack(t *testing.T) {
	images := map[string]string{"astronaut": "../testdata/astronaut.png"}
	if _, err := os.Stat(testenv.Path(t, "testdata", "images", "solvay.png")); err == nil {
		images["solvay"] = testenv.Path(t, "testdata", "images", "solvay.png")
	}
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	s := startReal(t)
	for name, path := range images {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := imageio.Decode(bytes.NewReader(data), imageio.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		faces, err := det.Detect(context.Background(), img, cascade.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		for _, rt := range deepstackRoutes {
			var want []dsPrediction
			for _, f := range faces {
				if float64(f.Score) <= rt.defMin {
					continue
				}
				c := func(v float32, hi int) int { return min(max(int(math.Floor(float64(v))), 0), hi) }
				want = append(want, dsPrediction{float64(f.Score), rt.label, c(f.Box[0], w), c(f.Box[1], h), c(f.Box[2], w), c(f.Box[3], h)})
			}
			if len(want) == 0 {
				t.Fatalf("%s: no faces in-process", name)
			}
			body, ct := dsForm(t, imagePart(data))
			resp, err := http.Post(s.URL()+rt.path, ct, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			rec.Code = resp.StatusCode
			for k, v := range resp.Header {
				rec.Header()[k] = v
			}
			_, _ = io.Copy(rec.Body, resp.Body)
			resp.Body.Close()
			got := wantDeepStackOK(t, rec, rt.label)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s:\n got %v\nwant %v", name, rt.path, got, want)
			}
			t.Logf("%s %s: %d faces", name, rt.path, len(got))
		}
	}
}

// TestDeepStackMemoryBudget: the DeepStack routes are admitted by the
// memory budget like every detecting route: an image that can never fit
// is a 413 in DeepStack's shape and the detector never runs; a small one
// is served.
func TestDeepStackMemoryBudget(t *testing.T) {
	det := &fakeDetector{faces: twoFaces}
	s, _ := newServer(t, server.Config{MaxMemory: 40 << 20}, det) // 30 MiB for requests
	h := s.Handler()
	for _, rt := range deepstackRoutes {
		before := det.calls.Load()
		rec := postForm(t, h, rt.path, []formPart{imagePart(pngBytes(t, 2000, 2000))})
		wantDeepStackError(t, rec, http.StatusRequestEntityTooLarge, "")
		if det.calls.Load() != before {
			t.Fatalf("%s: the detector ran on an image over the budget", rt.path)
		}
		if rec := postForm(t, h, rt.path, []formPart{imagePart(pngBytes(t, 64, 64))}); rec.Code != http.StatusOK {
			t.Errorf("%s: small image: %d %s", rt.path, rec.Code, rec.Body)
		}
	}
	if !strings.Contains(metricsText(t, h), "\nmtcnn_memory_budget_used_bytes 0\n") {
		t.Error("memory still counted as used after the requests")
	}
}
