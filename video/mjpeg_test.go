package video

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testJPEG encodes a w x h image whose colour depends on seed.
func testJPEG(t testing.TB, w, h, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{byte(x*5 + seed*40), byte(y * 9), byte(seed * 70), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// decoded returns what image/jpeg makes of data, to compare frames with.
func decoded(t testing.TB, data []byte) image.Image {
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// withFill puts fill bytes (extra 0xFF) before each marker after SOI, and a
// restart marker-like sequence is already covered by the encoder's
// stuffing; JPEG allows both.
func withFill(data []byte) []byte {
	out := append([]byte{}, data[:2]...)
	return append(append(out, 0xFF, 0xFF), data[2:]...)
}

func TestMJPEGConcatenated(t *testing.T) {
	jpgs := [][]byte{testJPEG(t, 17, 9, 0), testJPEG(t, 17, 9, 1), testJPEG(t, 40, 30, 2)}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"plain", bytes.Join(jpgs, nil)},
		{"fill bytes", bytes.Join([][]byte{withFill(jpgs[0]), withFill(jpgs[1]), withFill(jpgs[2])}, nil)},
		{"multipart", multipartBody(jpgs, "--myboundary")},
		{"trailing junk", append(bytes.Join(jpgs, nil), "\r\n--end--\r\n"...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMJPEGReader(bytes.NewReader(tc.data), Limits{})
			m.FPS = 10
			frames, err := readAllFrames(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) != len(jpgs) {
				t.Fatalf("%d frames, want %d", len(frames), len(jpgs))
			}
			for i, f := range frames {
				if !sameImage(f.Image, decoded(t, jpgs[i])) {
					t.Errorf("frame %d differs from its JPEG", i)
				}
				if f.Index != i || f.Time != float64(i)/10 {
					t.Errorf("frame %d: index %d time %v", i, f.Index, f.Time)
				}
			}
		})
	}
}

// The entropy-coded data may hold stuffed FF 00 pairs and restart markers;
// the splitter must not stop at them. A synthetic scan checks the cases
// the Go encoder may not produce.
func TestMJPEGSplitterEntropyData(t *testing.T) {
	seg := func(marker byte, body ...byte) []byte {
		n := len(body) + 2
		return append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, body...)
	}
	var img []byte
	img = append(img, 0xFF, 0xD8)
	img = append(img, seg(0xE0, 'J', 'F', 'I', 'F', 0)...)
	img = append(img, seg(0xDA, 1, 2, 3)...)
	img = append(img, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF, 0xD1, 0x78)
	img = append(img, seg(0xDA, 4)...) // a second scan, as progressive JPEGs have
	img = append(img, 0x9A, 0xFF, 0x00)
	img = append(img, 0xFF, 0xD9)
	data := append(append([]byte{}, img...), img...)
	m := NewMJPEGReader(bytes.NewReader(data), Limits{})
	for i := range 2 {
		got, err := m.ReadJPEG()
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		// Fill bytes collapse to one FF; everything else is kept.
		want := bytes.Replace(img, []byte{0xFF, 0xFF, 0xD1}, []byte{0xFF, 0xD1}, 1)
		if !bytes.Equal(got, want) {
			t.Fatalf("image %d:\n got %x\nwant %x", i, got, want)
		}
		m.n++
	}
	if _, err := m.ReadJPEG(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last image: %v", err)
	}
}

func multipartBody(jpgs [][]byte, boundary string) []byte {
	var b bytes.Buffer
	for _, j := range jpgs {
		fmt.Fprintf(&b, "%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", boundary, len(j))
		b.Write(j)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func TestMJPEGTruncatedLastFrame(t *testing.T) {
	a, b := testJPEG(t, 16, 16, 0), testJPEG(t, 16, 16, 1)
	for _, cut := range []int{1, 2, 3, len(b) / 2, len(b) - 3} {
		data := append(append([]byte{}, a...), b[:len(b)-cut]...)
		frames, err := readAllFrames(NewMJPEGReader(bytes.NewReader(data), Limits{}))
		if len(frames) != 1 || !errors.Is(err, ErrTruncated) {
			t.Errorf("cut %d: %d frames, %v; want 1 and ErrTruncated", cut, len(frames), err)
		}
	}
}

func TestMJPEGBadInput(t *testing.T) {
	good := testJPEG(t, 8, 8, 0)
	huge := append([]byte{}, good...)
	// Patch the SOF0 frame size to 100000 x 100000 (0x186A0 does not
	// fit 16 bits: use 65000 x 65000, over the 50 MP default too).
	i := bytes.Index(huge, []byte{0xFF, 0xC0})
	huge[i+5], huge[i+6], huge[i+7], huge[i+8] = 0xFD, 0xE8, 0xFD, 0xE8
	for _, tc := range []struct {
		name   string
		data   []byte
		frames int
		want   error
	}{
		{"empty", nil, 0, ErrFormat},
		{"text", []byte("<html>not video</html>"), 0, ErrFormat},
		{"png", []byte("\x89PNG\r\n\x1a\n0000000000000"), 0, ErrFormat},
		{"huge frame", append(append([]byte{}, good...), huge...), 1, ErrTooLarge},
		{"garbage after SOI", append(append([]byte{}, good...), 0xFF, 0xD8, 0x00, 0x01), 1, ErrFormat},
		{"corrupt scan", corruptScan(good), 0, ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, err := readAllFrames(NewMJPEGReader(bytes.NewReader(tc.data), Limits{}))
			if len(frames) != tc.frames || !errors.Is(err, tc.want) {
				t.Errorf("%d frames, %v; want %d and %v", len(frames), err, tc.frames, tc.want)
			}
		})
	}
	// A frame over MaxFrameBytes is refused.
	big := testJPEG(t, 200, 200, 3)
	if _, err := readAllFrames(NewMJPEGReader(bytes.NewReader(big), Limits{MaxFrameBytes: 1000})); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxFrameBytes: %v", err)
	}
}

// corruptScan breaks the quantisation table length so decoding fails
// while the marker structure stays valid.
func corruptScan(j []byte) []byte {
	c := append([]byte{}, j...)
	i := bytes.Index(c, []byte{0xFF, 0xC0})
	c[i+9] = 9 // component count
	return c
}

func TestOpenSniffs(t *testing.T) {
	y4m := handY4M("YUV4MPEG2 W2 H2 F5:1", []int{4, 1, 1}, 2)
	s, err := Open(bytes.NewReader(y4m), Limits{}, 0)
	if err != nil || s.Format != Y4M || s.Y4M.Width != 2 {
		t.Fatalf("y4m: %+v, %v", s, err)
	}
	s, err = Open(bytes.NewReader(testJPEG(t, 4, 4, 0)), Limits{}, 25)
	if err != nil || s.Format != MJPEG {
		t.Fatalf("mjpeg: %+v, %v", s, err)
	}
	for _, in := range []string{"", "hello, world", "RIFF....WAVEfmt "} {
		if _, err := Open(strings.NewReader(in), Limits{}, 0); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: %v, want ErrFormat", in, err)
		}
	}
}

func TestMJPEGWriterRoundTrip(t *testing.T) {
	var b bytes.Buffer
	w := NewMJPEGWriter(&b, 0)
	for i := range 3 {
		if err := w.Write(decoded(t, testJPEG(t, 9+i, 7, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	frames, err := readAllFrames(NewMJPEGReader(&b, Limits{}))
	if err != nil || len(frames) != 3 {
		t.Fatalf("%d frames, %v", len(frames), err)
	}
	for i, f := range frames {
		if f.Image.Bounds().Dx() != 9+i {
			t.Errorf("frame %d: %v", i, f.Image.Bounds())
		}
	}
}

func TestCameraMultipart(t *testing.T) {
	jpgs := [][]byte{testJPEG(t, 16, 8, 0), testJPEG(t, 16, 8, 1), testJPEG(t, 16, 8, 2)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		for _, j := range jpgs {
			w.Write(multipartBody([][]byte{j}, "--frame"))
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	cam, err := OpenCamera(context.Background(), srv.URL, time.Second, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	frames, err := readAllFrames(cam)
	if err != nil || len(frames) != 3 {
		t.Fatalf("%d frames, %v", len(frames), err)
	}
	for i, f := range frames {
		if !sameImage(f.Image, decoded(t, jpgs[i])) {
			t.Errorf("frame %d differs", i)
		}
	}
}

func TestCameraErrors(t *testing.T) {
	// A listener that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	start := time.Now()
	_, err = OpenCamera(context.Background(), "http://"+ln.Addr().String()+"/stream", 300*time.Millisecond, Limits{})
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("silent camera: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("silent camera took %v to time out", d)
	}

	// A camera that sends one frame and stalls.
	stall := make(chan struct{})
	defer close(stall)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html></html>")
			return
		case "/missing":
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "multipart/x-mixed-replace;boundary=b")
		w.Write(multipartBody([][]byte{testJPEG(t, 8, 8, 0)}, "--b"))
		w.(http.Flusher).Flush()
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	cam, err := OpenCamera(context.Background(), srv.URL+"/stream", 300*time.Millisecond, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	frames, err := readAllFrames(cam)
	cam.Close()
	if len(frames) != 1 || !errors.Is(err, ErrTimeout) {
		t.Errorf("stalling camera: %d frames, %v; want 1 and ErrTimeout", len(frames), err)
	}
	if _, err := OpenCamera(context.Background(), srv.URL+"/page", time.Second, Limits{}); !errors.Is(err, ErrFormat) {
		t.Errorf("HTML page: %v, want ErrFormat", err)
	}
	if _, err := OpenCamera(context.Background(), srv.URL+"/missing", time.Second, Limits{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
}
