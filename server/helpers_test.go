package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/server"
)

// fakeDetector is a Detector whose behaviour each test sets.
type fakeDetector struct {
	faces   []cascade.Face
	err     error
	panics  bool
	delay   time.Duration // sleep (or until ctx is done) before answering
	block   chan struct{} // when set, wait for it to close (or ctx)
	started chan struct{} // when set, receives once per call on entry

	calls    atomic.Int64
	inFlight atomic.Int64
	mu       sync.Mutex
	lastOpts cascade.Options
}

// DetectStats implements server.Detector.
func (f *fakeDetector) DetectStats(ctx context.Context, img image.Image, opts cascade.Options) ([]cascade.Face, cascade.Stats, error) {
	f.calls.Add(1)
	f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	f.mu.Lock()
	f.lastOpts = opts
	f.mu.Unlock()
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.panics {
		panic("fake detector exploded")
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return nil, cascade.Stats{}, ctx.Err()
		}
	}
	if f.delay > 0 {
		t := time.NewTimer(f.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, cascade.Stats{}, ctx.Err()
		}
	}
	st := cascade.Stats{Stage: [3]time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}, Candidates: [3]int{9, 5, len(f.faces)}}
	return f.faces, st, f.err
}

// opts returns the options of the last call.
func (f *fakeDetector) opts() cascade.Options {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastOpts
}

// twoFaces is what the default fake finds.
var twoFaces = []cascade.Face{
	{Box: [4]float32{10, 12, 40, 50}, Score: 0.99, Landmarks: [5][2]float32{{20, 25}, {30, 25}, {25, 32}, {20, 40}, {30, 40}}},
	{Box: [4]float32{60, 10, 90, 48}, Score: 0.93, Landmarks: [5][2]float32{{70, 22}, {80, 22}, {75, 30}, {70, 38}, {80, 38}}},
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logLines returns the JSON log records with the given message.
func (b *syncBuffer) records(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// newServer returns a server with a fake detector and a JSON log buffer.
func newServer(t testing.TB, cfg server.Config, det server.Detector) (*server.Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return server.New(cfg, det, logger), logs
}

// pngBytes returns a w×h PNG.
func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngChunk returns one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	return b.Bytes()
}

// hugePNGHeader returns a valid PNG signature and IHDR declaring a w×h
// 8-bit RGB image, followed by a tiny IDAT and IEND: a few dozen bytes
// that would decode to gigabytes.
func hugePNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // bit depth 8, colour type RGB
	b.Write(pngChunk("IHDR", ihdr))
	b.Write(pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}))
	b.Write(pngChunk("IEND", nil))
	return b.Bytes()
}

// do runs one request against h and returns the recorded response.
func do(t testing.TB, h http.Handler, method, target string, body io.Reader, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// apiError decodes an error answer and checks its shape.
func apiError(t testing.TB, rec *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type = %q, want application/json; body %q", ct, rec.Body.String())
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", rec.Body.String(), err)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body %q lacks code or message", rec.Body.String())
	}
	return e.Error.Code, e.Error.Message
}

// wantError checks an error answer's status and code.
func wantError(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) string {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %q", rec.Code, status, rec.Body.String())
	}
	got, msg := apiError(t, rec)
	if got != code {
		t.Fatalf("error code = %q, want %q (message %q)", got, code, msg)
	}
	return msg
}
