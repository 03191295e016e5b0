package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/server"
)

// TestOptionsHonouredOrRefused covers the option rows: explicit
// values are honoured or refused with 400 invalid_options naming the
// option and its range, never silently replaced by the defaults; a
// pyramid too large for the image names the smallest usable min_size.
func TestOptionsHonouredOrRefused(t *testing.T) {
	det := &fakeDetector{}
	s, _ := newServer(t, server.Config{}, det)
	small := pngBytes(t, 20, 20)
	big := pngBytes(t, 1200, 800)
	for _, tc := range []struct {
		query string
		img   []byte
		want  []string // message substrings; nil: 200
	}{
		{"min_size=0", small, []string{"min_size 0 is out of range", "at least 1"}},
		{"factor=0", small, []string{"factor 0 is out of range", "above 0 and below 1"}},
		{"min_size=", small, []string{`min_size "" is not a number`}},
		{"thresholds=0,0,1.5", small, []string{"thresholds value 3 (1.5) is out of range", "[0, 1]"}},
		{"min_size=1", big, []string{"min_size 1 with factor 0.709 is too small for this 1200x800 image", "min_size must be at least 3 for this image"}},
		{"factor=0.99999", big, []string{"min_size 20 with factor 0.99999 is too small", "min_size must be at least"}},
		{"min_size=3&factor=0.99", big, []string{"min_size 3 with factor 0.99 is too small", "min_size must be at least"}},
		{"min_size=3", big, nil},
		{"thresholds=0,0,0", small, nil},
	} {
		for _, ep := range detectEndpoints {
			rec := do(t, s.Handler(), "POST", ep+"?"+tc.query, bytes.NewReader(tc.img))
			if tc.want == nil {
				if rec.Code != http.StatusOK {
					t.Errorf("%s?%s: status %d: %s", ep, tc.query, rec.Code, rec.Body)
				}
				continue
			}
			msg := wantError(t, rec, http.StatusBadRequest, "invalid_options")
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%s?%s: message %q does not say %q", ep, tc.query, msg, w)
				}
			}
		}
	}
	// thresholds=0,0,0 reaches the detector as zeros (the last as the
	// smallest float32 above zero, since all zeros would mean defaults).
	do(t, s.Handler(), "POST", "/v1/detect?thresholds=0,0,0", bytes.NewReader(small))
	if got, want := det.opts().Thresholds, [3]float32{0, 0, math.SmallestNonzeroFloat32}; got != want {
		t.Errorf("thresholds=0,0,0 reached the detector as %v, want %v", got, want)
	}
}

// bmpHeader returns a BMP file and info header claiming w x h pixels.
func bmpHeader(w, h int32) []byte {
	b := make([]byte, 54)
	copy(b, "BM")
	binary.LittleEndian.PutUint32(b[2:], 54)
	binary.LittleEndian.PutUint32(b[10:], 54)
	binary.LittleEndian.PutUint32(b[14:], 40)
	binary.LittleEndian.PutUint32(b[18:], uint32(w))
	binary.LittleEndian.PutUint32(b[22:], uint32(h))
	binary.LittleEndian.PutUint16(b[26:], 1)
	binary.LittleEndian.PutUint16(b[28:], 24)
	return b
}

func TestOverflowingHeadersAre413(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{})
	for name, data := range map[string][]byte{
		"png 2147483647 square": hugePNGHeader(2147483647, 2147483647),
		"png 4294967295 square": hugePNGHeader(4294967295, 4294967295),
		"bmp 2147483647 square": bmpHeader(2147483647, 2147483647),
		"bmp top-down overflow": bmpHeader(2147483647, -2147483648),
	} {
		msg := wantError(t, do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(data)), http.StatusRequestEntityTooLarge, "image_too_large")
		if !strings.Contains(msg, "exceeds the cap of 50000000 pixels") {
			t.Errorf("%s: message %q", name, msg)
		}
	}
}

func TestEmptyBodyMessage(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{})
	body, ct := multipartBody(t, "image_file", nil)
	for _, rec := range []*httpResult{
		result(t, do(t, s.Handler(), "POST", "/v1/detect", http.NoBody)),
		result(t, do(t, s.Handler(), "POST", "/v1/detect", body, "Content-Type", ct)),
	} {
		if rec.status != 400 || rec.code != "empty_image" || rec.message != "no image: the input is empty" {
			t.Errorf("got %d %s %q", rec.status, rec.code, rec.message)
		}
	}
}

type httpResult struct {
	status        int
	code, message string
}

func result(t testing.TB, rec *httptest.ResponseRecorder) *httpResult {
	t.Helper()
	r := httpResult{status: rec.Code}
	if rec.Code != http.StatusOK {
		r.code, r.message = apiError(t, rec)
	}
	return &r
}

// form builds a multipart body from parts: a name, a file name (empty for
// a plain field) and the content.
func form(t *testing.T, parts ...[3]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p[1] == "" {
			w, err = mw.CreateFormField(p[0])
		} else {
			w, err = mw.CreateFormFile(p[0], p[1])
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(p[2]))
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

// TestMultipartRule: exactly one file part named image_file; a second
// one, or a plain field of that name, is a 400 naming the problem.
func TestMultipartRule(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{faces: twoFaces})
	img := string(pngBytes(t, 32, 32))
	for _, tc := range []struct {
		name   string
		parts  [][3]string
		status int
		code   string
		msg    string
	}{
		{"one file, other fields", [][3]string{{"note", "", "x"}, {"image_file", "a.png", img}, {"other", "b.bin", "junk"}}, 200, "", ""},
		{"two files, garbage first", [][3]string{{"image_file", "junk.bin", "garbage"}, {"image_file", "a.png", img}}, 400, "bad_multipart", `more than one "image_file" file part`},
		{"two valid files", [][3]string{{"image_file", "a.png", img}, {"image_file", "b.png", img}}, 400, "bad_multipart", "send exactly one image"},
		{"plain field", [][3]string{{"image_file", "", img}}, 400, "bad_multipart", `"image_file" part is a plain field, not a file`},
		{"plain field after the file", [][3]string{{"image_file", "a.png", img}, {"image_file", "", "x"}}, 400, "bad_multipart", "plain field"},
		{"no image_file", [][3]string{{"photo", "a.png", img}}, 400, "missing_image", `no "image_file" file part`},
	} {
		body, ct := form(t, tc.parts...)
		r := result(t, do(t, s.Handler(), "POST", "/v1/detect", body, "Content-Type", ct))
		if r.status != tc.status || r.code != tc.code || !strings.Contains(r.message, tc.msg) {
			t.Errorf("%s: got %d %s %q; want %d %s %q", tc.name, r.status, tc.code, r.message, tc.status, tc.code, tc.msg)
		}
	}
}

// metricValue reads one unlabelled metric from /metrics.
func metricValue(t *testing.T, h http.Handler, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(metricsText(t, h))
	if m == nil {
		t.Fatalf("metric %s not found", name)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMemoryBudgetNeverFits: a request whose estimated cost exceeds the
// whole budget is 413 over_memory_budget with the reason, before the
// detector is reached.
func TestMemoryBudgetNeverFits(t *testing.T) {
	det := &fakeDetector{}
	s, _ := newServer(t, server.Config{MaxMemory: 40 << 20}, det) // 30 MiB for requests
	rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 2000, 2000)))
	msg := wantError(t, rec, http.StatusRequestEntityTooLarge, "over_memory_budget")
	for _, w := range []string{"2000x2000", "needs an estimated", "budget for requests is 30.0 MiB"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not say %q", msg, w)
		}
	}
	if det.calls.Load() != 0 {
		t.Error("the detector ran")
	}
	// A small image still fits.
	if rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 64, 64))); rec.Code != 200 {
		t.Errorf("small image: %d %s", rec.Code, rec.Body)
	}
}

// budgetFor returns a MaxMemory whose request share fits n requests of a
// w x h PNG on /v1/detect but not n+1, from the server's own 413 message
// for a tiny budget.
func budgetFor(t *testing.T, img []byte, n int) int64 {
	t.Helper()
	s, _ := newServer(t, server.Config{MaxMemory: 1 << 20}, &fakeDetector{})
	msg := wantError(t, do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(img)), http.StatusRequestEntityTooLarge, "over_memory_budget")
	m := regexp.MustCompile(`needs an estimated ([0-9.]+) MiB`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("no cost in %q", msg)
	}
	cost, _ := strconv.ParseFloat(m[1], 64)
	share := int64((float64(n) + 0.5) * cost * (1 << 20))
	// Plus the process reserve: 64 MiB, or a quarter of the whole.
	if m := share + 64<<20; m/4 >= 64<<20 {
		return m
	}
	return share * 4 / 3
}

// TestMemoryBudgetWaits: a request that does not fit waits for memory
// (shown in /metrics) and is served once it is freed.
func TestMemoryBudgetWaits(t *testing.T) {
	img := pngBytes(t, 1500, 1000)
	det := &fakeDetector{faces: twoFaces, block: make(chan struct{}), started: make(chan struct{}, 4)}
	s, _ := newServer(t, server.Config{MaxMemory: budgetFor(t, img, 1), Concurrency: 4}, det)
	codes := make(chan int, 2)
	for range 2 {
		go func() { codes <- do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(img)).Code }()
	}
	<-det.started
	waitFor(t, "one request waiting for memory", func() bool {
		return metricValue(t, s.Handler(), "mtcnn_memory_budget_waiting") == 1
	})
	if used, size := metricValue(t, s.Handler(), "mtcnn_memory_budget_used_bytes"), metricValue(t, s.Handler(), "mtcnn_memory_budget_bytes"); used <= 0 || used > size {
		t.Errorf("budget used %v of %v", used, size)
	}
	if n := det.inFlight.Load(); n != 1 {
		t.Errorf("%d detections running, want 1", n)
	}
	close(det.block)
	for range 2 {
		if c := <-codes; c != 200 {
			t.Errorf("status %d", c)
		}
	}
	if used := metricValue(t, s.Handler(), "mtcnn_memory_budget_used_bytes"); used != 0 {
		t.Errorf("budget used %v after the requests", used)
	}
}

// TestMemoryBudgetTimeout: a request still waiting for memory at its
// deadline is 503 timeout with Retry-After, answered at the deadline.
func TestMemoryBudgetTimeout(t *testing.T) {
	img := pngBytes(t, 1500, 1000)
	det := &fakeDetector{block: make(chan struct{}), started: make(chan struct{}, 4)}
	defer close(det.block)
	const deadline = 300 * time.Millisecond
	s, _ := newServer(t, server.Config{MaxMemory: budgetFor(t, img, 1), Concurrency: 4, DetectTimeout: deadline}, det)
	first := make(chan int, 1)
	go func() { first <- do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(img)).Code }()
	<-det.started
	start := time.Now()
	rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(img))
	elapsed := time.Since(start)
	msg := wantError(t, rec, http.StatusServiceUnavailable, "timeout")
	if rec.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if elapsed < deadline || elapsed > deadline+250*time.Millisecond {
		t.Errorf("answered after %v, deadline %v", elapsed, deadline)
	}
	if c := <-first; c != 503 {
		t.Errorf("first request: %d (%s)", c, msg)
	}
}

// stubbornDetector ignores its context for a while, as a detection deep
// in a long step (or an uninterruptible decoder) does, then honours it.
type stubbornDetector struct {
	busy    time.Duration
	started chan struct{}
	done    chan struct{}
}

func (d *stubbornDetector) DetectStats(ctx context.Context, _ image.Image, _ cascade.Options) ([]cascade.Face, cascade.Stats, error) {
	d.started <- struct{}{}
	defer func() { d.done <- struct{}{} }()
	time.Sleep(d.busy)
	return nil, cascade.Stats{}, ctx.Err()
}

// TestDeadlineAnsweredOnTime: the answer goes out at the deadline even
// while the detection still runs; the detection's memory stays held until
// it ends, then everything is given back (no leaked goroutine).
func TestDeadlineAnsweredOnTime(t *testing.T) {
	const deadline = 300 * time.Millisecond
	det := &stubbornDetector{busy: 1500 * time.Millisecond, started: make(chan struct{}, 1), done: make(chan struct{}, 1)}
	s, _ := newServer(t, server.Config{DetectTimeout: deadline}, det)
	before := runtime.NumGoroutine()
	start := time.Now()
	rec := do(t, s.Handler(), "POST", "/v1/detect", bytes.NewReader(pngBytes(t, 64, 64)))
	elapsed := time.Since(start)
	wantError(t, rec, http.StatusServiceUnavailable, "timeout")
	if elapsed < deadline || elapsed > deadline+deadline/10+50*time.Millisecond {
		t.Errorf("answered after %v, want within 10 %% (+50 ms) of %v", elapsed, deadline)
	}
	<-det.started
	if used := metricValue(t, s.Handler(), "mtcnn_memory_budget_used_bytes"); used <= 0 {
		t.Error("the running detection's memory was given back before it ended")
	}
	if n := metricValue(t, s.Handler(), "mtcnn_detect_abandoned_total"); n != 1 {
		t.Errorf("abandoned %v, want 1", n)
	}
	<-det.done
	waitFor(t, "memory given back", func() bool {
		return metricValue(t, s.Handler(), "mtcnn_memory_budget_used_bytes") == 0 && metricValue(t, s.Handler(), "mtcnn_detect_running") == 0
	})
	waitFor(t, "goroutines back", func() bool { return runtime.NumGoroutine() <= before })
}

// TestConcurrentLargePosts is the budget's end-to-end test: eight
// concurrent posts of a large image over TCP to a server whose budget
// holds two of them. Only 200 and 503 come back, at least two 200s, and
// never more than two detections hold memory at once.
func TestConcurrentLargePosts(t *testing.T) {
	img := pngBytes(t, 2000, 1500)
	det := &peakDetector{delay: 150 * time.Millisecond}
	s, _ := newServer(t, server.Config{MaxMemory: budgetFor(t, img, 2), Concurrency: 8, Queue: 8, DetectTimeout: 5 * time.Second}, det)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ln); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(s.URL()+"/v1/detect", "image/png", bytes.NewReader(img))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for c := range statuses {
		count[c]++
	}
	if count[200] < 2 || count[200]+count[503] != 8 {
		t.Errorf("statuses %v, want only 200 and 503 with at least two 200", count)
	}
	if p := det.peak(); p > 2 {
		t.Errorf("%d detections at once under a budget for 2", p)
	}
	text := metricsText(t, s.Handler())
	if !strings.Contains(text, "mtcnn_memory_budget_used_bytes 0") {
		t.Errorf("budget still in use after the load")
	}
	fmt.Fprint(io.Discard, text)
}

// peakDetector records the most detections running at once.
type peakDetector struct {
	delay time.Duration
	mu    sync.Mutex
	now   int
	max   int
}

func (d *peakDetector) DetectStats(ctx context.Context, _ image.Image, _ cascade.Options) ([]cascade.Face, cascade.Stats, error) {
	d.mu.Lock()
	d.now++
	d.max = max(d.max, d.now)
	d.mu.Unlock()
	defer func() { d.mu.Lock(); d.now--; d.mu.Unlock() }()
	select {
	case <-time.After(d.delay):
		return nil, cascade.Stats{}, nil
	case <-ctx.Done():
		return nil, cascade.Stats{}, ctx.Err()
	}
}

func (d *peakDetector) peak() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.max
}
