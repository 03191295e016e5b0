package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/video"
)

// writeY4M writes frames as a 4:2:0 y4m file and returns its path.
func writeY4M(t *testing.T, frames []image.Image) string {
	t.Helper()
	b := frames[0].Bounds()
	path := filepath.Join(t.TempDir(), "clip.y4m")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := video.NewY4MWriter(f, video.Header{Width: b.Dx(), Height: b.Dy(), FPSNum: 25, FPSDen: 1, Colorspace: video.C420jpeg})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range frames {
		if err := w.Write(img); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func decodeVideoLines(t *testing.T, s string) []videoLine {
	t.Helper()
	var out []videoLine
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var l videoLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func trackIDs(l videoLine) []int {
	var ids []int
	for _, f := range l.Faces {
		ids = append(ids, f.Track)
	}
	slices.Sort(ids)
	return ids
}

func readY4MFrames(t *testing.T, path string) []*video.Frame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := video.Open(f, video.Limits{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []*video.Frame
	for {
		fr, err := s.Next()
		if err != nil {
			return out
		}
		out = append(out, fr)
	}
}

// A still clip of solvay (960x661: odd height) keeps every face's id in
// every frame, and each frame's faces are exactly what Detect finds in
// that frame alone.
func TestVideoStillSolvay(t *testing.T) {
	img := testenv.Image(t, testenv.Path(t, "testdata", "images", "solvay.png"))
	const n = 6
	frames := make([]image.Image, n)
	for i := range frames {
		frames[i] = img
	}
	path := writeY4M(t, frames)
	for _, args := range [][]string{{"-min-size", "20"}, {"-min-size", "40", "-workers", "1"}, {"-min-size", "20", "-every", "3"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stdout, stderr, code := runCLI(append(append([]string{"video"}, args...), path)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := decodeVideoLines(t, stdout)
			if len(lines) != n {
				t.Fatalf("%d lines for %d frames", len(lines), n)
			}
			first := trackIDs(lines[0])
			if len(first) < 10 {
				t.Fatalf("only %d faces in solvay", len(first))
			}
			if want := seq(1, len(first)); !reflect.DeepEqual(first, want) {
				t.Errorf("first frame ids %v, want %v", first, want)
			}
			for i, l := range lines {
				if l.Frame != i || l.Time != float64(i)/25 {
					t.Errorf("line %d: frame %d time %v", i, l.Frame, l.Time)
				}
				if ids := trackIDs(l); !reflect.DeepEqual(ids, first) {
					t.Errorf("frame %d ids %v, want %v", i, ids, first)
				}
			}
			if slices.Contains(args, "-every") {
				return
			}
			// Bit-exact: each frame's faces are Detect's on the decoded frame.
			det, err := cascade.NewDefault()
			if err != nil {
				t.Fatal(err)
			}
			var ms float64
			fmt.Sscan(args[1], &ms)
			y4mFrames := readY4MFrames(t, path)
			for i, l := range lines {
				want, err := det.Detect(context.Background(), y4mFrames[i].Image, cascade.Options{MinSize: float32(ms)})
				if err != nil {
					t.Fatal(err)
				}
				got := make([]cascade.Face, len(l.Faces))
				for j, f := range l.Faces {
					got[j] = f.Face
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("frame %d: faces differ from Detect's", i)
				}
			}
		})
	}
}

func seq(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

// A face leaves and another enters: the first keeps id 1 while it is in
// view, the newcomer gets id 2 and keeps it, and id 1 is not reused.
func TestVideoLeaveEnter(t *testing.T) {
	f, err := os.Open("../../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	astro, _, err := image.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The astronaut's face is about (181,59)-(267,173) in the 512x512
	// photo; paste a 160x180 cut around it.
	face := image.Rect(144, 30, 304, 210)
	frame := func(a, b bool) image.Image {
		m := image.NewNRGBA(image.Rect(0, 0, 480, 240))
		draw.Draw(m, m.Bounds(), image.NewUniform(color.Gray{Y: 128}), image.Point{}, draw.Src)
		if a {
			draw.Draw(m, image.Rect(20, 30, 180, 210), astro, face.Min, draw.Src)
		}
		if b {
			draw.Draw(m, image.Rect(300, 30, 460, 210), astro, face.Min, draw.Src)
		}
		return m
	}
	var frames []image.Image
	for i := range 12 {
		frames = append(frames, frame(i < 8, i >= 4))
	}
	path := writeY4M(t, frames)
	stdout, stderr, code := runCLI("video", "-min-size", "40", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := decodeVideoLines(t, stdout)
	if len(lines) != len(frames) {
		t.Fatalf("%d lines for %d frames", len(lines), len(frames))
	}
	for i, l := range lines {
		var want []int
		if i < 8 {
			want = append(want, 1)
		}
		if i >= 4 {
			want = append(want, 2)
		}
		if got := trackIDs(l); !reflect.DeepEqual(got, want) {
			t.Errorf("frame %d: ids %v, want %v", i, got, want)
		}
		for _, f := range l.Faces {
			left := f.Box[0] < 240
			if (f.Track == 1) != left {
				t.Errorf("frame %d: track %d at x %v", i, f.Track, f.Box[0])
			}
		}
	}
}

func TestVideoMJPEGFile(t *testing.T) {
	f, err := os.Open("../../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	astro, _, err := image.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for range 3 {
		if err := jpeg.Encode(&b, astro, nil); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "clip.mjpeg")
	os.WriteFile(path, b.Bytes(), 0o644)
	stdout, stderr, code := runCLI("video", "-fps", "10", "-min-size", "40", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := decodeVideoLines(t, stdout)
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines {
		if l.Time != float64(i)/10 || !reflect.DeepEqual(trackIDs(l), []int{1}) {
			t.Errorf("frame %d: time %v ids %v", i, l.Time, trackIDs(l))
		}
	}
}

// Bad input: a clear one-line error naming the input and exit 1; frames
// before a break are still printed.
func TestVideoBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gray := image.NewGray(image.Rect(0, 0, 32, 24))
	good := writeY4M(t, []image.Image{gray, gray, gray})
	data, _ := os.ReadFile(good)
	truncated := write("cut.y4m", data[:len(data)-100])
	// A listener that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	for _, tc := range []struct {
		name   string
		args   []string
		frames int
		msg    string
	}{
		{"not video", []string{write("song.wav", []byte("RIFF\x24\x00\x00\x00WAVEfmt "))}, 0, "not a video stream"},
		{"png", []string{"../../testdata/astronaut.png"}, 0, "not a video stream"},
		{"huge header", []string{write("huge.y4m", []byte("YUV4MPEG2 W100000 H100000 F25:1\nFRAME\n"))}, 0, "100000x100000"},
		{"interlaced", []string{write("tff.y4m", []byte("YUV4MPEG2 W64 H48 It\n"))}, 0, "interlaced"},
		{"mid-frame", []string{truncated}, 2, "ends early"},
		{"missing", []string{filepath.Join(dir, "nope.y4m")}, 0, "no such file"},
		{"silent camera", []string{"-timeout", "300ms", "http://" + ln.Addr().String() + "/video"}, 0, "did not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			stdout, stderr, code := runCLI(append([]string{"video"}, tc.args...)...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			input := tc.args[len(tc.args)-1]
			if !strings.Contains(stderr, tc.msg) || !strings.Contains(stderr, input) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q: want one line naming %s and saying %q", stderr, input, tc.msg)
			}
			if got := len(decodeVideoLines(t, stdout)); got != tc.frames {
				t.Errorf("%d frames printed, want %d", got, tc.frames)
			}
		})
	}
	for _, args := range [][]string{{"video"}, {"video", "a", "b"}, {"video", "-every", "0", "x"}, {"video", "-min-size", "0.5", good}} {
		if _, _, code := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// A camera URL: an HTTP multipart/x-mixed-replace stream of JPEGs, as IP
// cameras serve; frame times are arrival times.
func TestVideoCameraURL(t *testing.T) {
	f, err := os.Open("../../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	astro, _, err := image.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, astro, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=--cam")
		for range 3 {
			fmt.Fprintf(w, "----cam\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", jpg.Len())
			w.Write(jpg.Bytes())
			io.WriteString(w, "\r\n")
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	}))
	defer srv.Close()
	stdout, stderr, code := runCLI("video", "-min-size", "40", "-timeout", "5s", srv.URL+"/stream.mjpg")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := decodeVideoLines(t, stdout)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	for i, l := range lines {
		if !reflect.DeepEqual(trackIDs(l), []int{1}) {
			t.Errorf("frame %d: ids %v", i, trackIDs(l))
		}
		if i > 0 && !(l.Time > lines[i-1].Time) {
			t.Errorf("frame %d at %v, not after frame %d at %v", i, l.Time, i-1, lines[i-1].Time)
		}
	}
}
