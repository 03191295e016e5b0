package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/track"
	"github.com/mtcnn-go/mtcnn/video"
)

// needTool returns the path of a command-line tool the test drives,
// skipping the test when it is missing (failing under CI=true, where
// .ci/run installs it).
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := name + " not installed (apt-get install " + pkg + "); skipping"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func astronautImage(t *testing.T) image.Image {
	t.Helper()
	f, err := os.Open("../../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestVideoAnonymize: every frame comes out, in the input's layout, with
// the faces filled and everything else unchanged; the detector finds none
// of the hidden faces in the output; MJPEG output works too.
func TestVideoAnonymize(t *testing.T) {
	img := testenv.Image(t, testenv.Path(t, "testdata", "images", "solvay.png"))
	const n = 3
	frames := make([]image.Image, n)
	for i := range frames {
		frames[i] = img
	}
	in := writeY4M(t, frames)
	dir := t.TempDir()
	out, jsonl := filepath.Join(dir, "anon.y4m"), filepath.Join(dir, "faces.jsonl")
	stdout, stderr, code := runCLI("video", "-anonymize", "fill", "-boxes", "-o", out, "-json", jsonl, in)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	data, err := os.ReadFile(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	lines := decodeVideoLines(t, string(data))
	orig, anon := readY4MFrames(t, in), readY4MFrames(t, out)
	if len(lines) != n || len(anon) != n {
		t.Fatalf("%d JSON lines and %d frames out, want %d", len(lines), len(anon), n)
	}
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	for i := range anon {
		o, a := orig[i].Image.(*image.YCbCr), anon[i].Image.(*image.YCbCr)
		if a.SubsampleRatio != o.SubsampleRatio || a.Rect != o.Rect {
			t.Fatalf("frame %d: %v %v, want the input's %v %v", i, a.SubsampleRatio, a.Rect, o.SubsampleRatio, o.Rect)
		}
		// Inside each face box (grown 1.3x) the luma is the fill's; far
		// from every face it is the input's.
		near := func(x, y int) bool {
			for _, f := range lines[i].Faces {
				b := f.Box
				w, h := b[2]-b[0], b[3]-b[1]
				if float32(x) > b[0]-w && float32(x) < b[2]+w && float32(y) > b[1]-h && float32(y) < b[3]+h {
					return true
				}
			}
			return false
		}
		for _, f := range lines[i].Faces {
			cx, cy := int((f.Box[0]+f.Box[2])/2), int((f.Box[1]+f.Box[3])/2)
			if y := a.Y[a.YOffset(cx, cy)]; y != 0 {
				t.Fatalf("frame %d: face %d's centre has luma %d, not the black fill", i, f.Track, y)
			}
		}
		changed := 0
		for y := 0; y < o.Rect.Dy(); y++ {
			for x := 0; x < o.Rect.Dx(); x++ {
				if !near(x, y) && a.Y[a.YOffset(x, y)] != o.Y[o.YOffset(x, y)] {
					changed++
				}
			}
		}
		if changed != 0 {
			t.Errorf("frame %d: %d pixels away from the faces changed", i, changed)
		}
		faces, err := det.Detect(context.Background(), a, cascade.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// No hidden face is found again (a stray low-score detection
		// elsewhere may appear once its neighbours are gone).
		for _, g := range faces {
			for _, f := range lines[i].Faces {
				if v := track.IoU(g.Box, f.Box); v >= 0.3 {
					t.Errorf("frame %d: the detector finds hidden face %d again (IoU %.2f): %v", i, f.Track, v, g)
				}
			}
		}
	}

	// MJPEG out, JSON lines on stdout.
	mj := filepath.Join(dir, "anon.mjpeg")
	stdout, stderr, code = runCLI("video", "-anonymize", "pixelate", "-o", mj, in)
	if code != 0 {
		t.Fatalf("mjpeg: exit %d: %s", code, stderr)
	}
	if got := len(decodeVideoLines(t, stdout)); got != n {
		t.Errorf("mjpeg: %d JSON lines on stdout", got)
	}
	f, err := os.Open(mj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := video.Open(f, video.Limits{}, 25)
	if err != nil || s.Format != video.MJPEG {
		t.Fatalf("mjpeg output: %v %v", s, err)
	}
	count := 0
	for {
		if _, err := s.Next(); err != nil {
			break
		}
		count++
	}
	if count != n {
		t.Errorf("mjpeg output has %d frames, want %d", count, n)
	}
	for _, args := range [][]string{{"video", "-anonymize", "blur", in}, {"video", "-o", out, in}, {"video", "-anonymize", "smudge", "-o", out, in}} {
		if _, _, code := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// Every y4m layout comes out in the layout it came in, face hidden.
func TestVideoAnonymizeLayouts(t *testing.T) {
	astro := astronautImage(t)
	for _, csp := range []video.Colorspace{video.C420mpeg2, video.C422, video.C444, video.CMono} {
		t.Run(string(csp), func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.y4m"), filepath.Join(dir, "out.y4m")
			f, err := os.Create(in)
			if err != nil {
				t.Fatal(err)
			}
			w, err := video.NewY4MWriter(f, video.Header{Width: 512, Height: 512, FPSNum: 30000, FPSDen: 1001, Colorspace: csp})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := w.Write(astro); err != nil {
					t.Fatal(err)
				}
			}
			w.Flush()
			f.Close()
			stdout, stderr, code := runCLI("video", "-min-size", "40", "-anonymize", "fill", "-o", out, in)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := decodeVideoLines(t, stdout)
			frames := readY4MFrames(t, out)
			if len(lines) != 2 || len(frames) != 2 {
				t.Fatalf("%d lines, %d frames", len(lines), len(frames))
			}
			src, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			s, err := video.Open(src, video.Limits{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if h := s.Y4M; h.Colorspace != csp || h.FPSNum != 30000 || h.FPSDen != 1001 {
				t.Errorf("output header %+v", h)
			}
			for i, fr := range frames {
				if len(lines[i].Faces) != 1 {
					t.Fatalf("frame %d: %d faces", i, len(lines[i].Faces))
				}
				b := lines[i].Faces[0].Box
				cx, cy := int((b[0]+b[2])/2), int((b[1]+b[3])/2)
				var luma uint8
				switch m := fr.Image.(type) {
				case *image.YCbCr:
					luma = m.Y[m.YOffset(cx, cy)]
				case *image.Gray:
					luma = m.Pix[m.PixOffset(cx, cy)]
				}
				if luma != 0 {
					t.Errorf("frame %d: luma %d at the face's centre, want the black fill", i, luma)
				}
			}
		})
	}
}

// A face the detector misses for a frame stays hidden: its track coasts
// and its last box is hidden too.
func TestVideoAnonymizeBridgesMisses(t *testing.T) {
	astro := astronautImage(t)
	face := image.Rect(144, 30, 304, 210) // around the astronaut's face
	frame := func(visible bool) image.Image {
		m := image.NewNRGBA(image.Rect(0, 0, 320, 240))
		draw.Draw(m, m.Bounds(), image.NewUniform(color.Gray{Y: 128}), image.Point{}, draw.Src)
		draw.Draw(m, image.Rect(80, 30, 240, 210), astro, face.Min, draw.Src)
		if !visible { // something covers the face for a frame
			draw.Draw(m, image.Rect(110, 60, 210, 180), image.NewUniform(color.Gray{Y: 200}), image.Point{}, draw.Src)
		}
		return m
	}
	in := writeY4M(t, []image.Image{frame(true), frame(true), frame(false), frame(true)})
	out := filepath.Join(t.TempDir(), "anon.y4m")
	stdout, stderr, code := runCLI("video", "-min-size", "40", "-anonymize", "fill", "-boxes", "-o", out, in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := decodeVideoLines(t, stdout)
	if len(lines) != 4 || len(lines[2].Faces) != 0 || len(lines[1].Faces) != 1 || len(lines[3].Faces) != 1 {
		t.Fatalf("faces per frame: %v", lines)
	}
	if lines[3].Faces[0].Track != lines[1].Faces[0].Track {
		t.Errorf("the face changed track across the miss: %d, then %d", lines[1].Faces[0].Track, lines[3].Faces[0].Track)
	}
	anon := readY4MFrames(t, out)
	m := anon[2].Image.(*image.YCbCr)
	b := lines[1].Faces[0].Box
	// A corner of the last box, outside the grey cover: filled black.
	x, y := int(b[0])+3, int(b[1])+3
	if v := m.Y[m.YOffset(x, y)]; v != 0 {
		t.Errorf("frame 2 (face missed) has luma %d at (%d,%d) inside the track's box: the face is exposed", v, x, y)
	}
}

// The README's recipe keeps the sound: ffmpeg decodes an mp4 with an
// audio track to y4m, mtcnn hides the faces, ffmpeg muxes the result with
// the original audio. One video and one audio stream come out, with as
// many video frames as went in.
func TestVideoRecipeKeepsSound(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs ffmpeg")
	}
	ffmpeg := needTool(t, "ffmpeg", "ffmpeg")
	ffprobe := needTool(t, "ffprobe", "ffmpeg")
	dir := t.TempDir()
	bin := filepath.Join(dir, "mtcnn")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sh := func(script string) string {
		t.Helper()
		cmd := exec.Command("bash", "-c", "set -euo pipefail; "+script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, errb.String())
		}
		return strings.TrimSpace(out.String())
	}
	photo, err := filepath.Abs("../../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	q := " -hide_banner -loglevel error -nostdin "
	sh(ffmpeg + q + "-loop 1 -framerate 10 -i " + photo + " -f lavfi -i sine=frequency=440:sample_rate=44100 -t 3 " +
		"-vf scale=320:320,format=yuv420p -c:v mpeg4 -q:v 5 -c:a aac -shortest in.mp4")
	sh(ffmpeg + q + "-i in.mp4 -f yuv4mpegpipe - | mtcnn video -anonymize blur -json faces.jsonl -o - - | " +
		strings.Replace(ffmpeg+q, "-nostdin ", "", 1) + "-f yuv4mpegpipe -i - -i in.mp4 -map 0:v -map 1:a -c:v mpeg4 -q:v 5 -c:a copy out.mp4")
	streams := sh(ffprobe + " -v error -show_entries stream=codec_type -of csv=p=0 out.mp4")
	if got := strings.Fields(streams); len(got) != 2 || !(got[0] == "video" && got[1] == "audio" || got[0] == "audio" && got[1] == "video") {
		t.Errorf("out.mp4 streams %q, want one video and one audio", streams)
	}
	count := func(file string) int {
		s := sh(ffprobe + " -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 " + file)
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%s frame count %q", file, s)
		}
		return n
	}
	nin, nout := count("in.mp4"), count("out.mp4")
	if nin < 20 || nin != nout {
		t.Errorf("%d frames in, %d out", nin, nout)
	}
	data, err := os.ReadFile(filepath.Join(dir, "faces.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := decodeVideoLines(t, string(data))
	if len(lines) != nin {
		t.Errorf("%d JSON lines for %d frames", len(lines), nin)
	}
	for _, l := range lines {
		if len(l.Faces) != 1 || l.Faces[0].Track != 1 {
			t.Fatalf("frame %d: faces %v, want the astronaut as track 1", l.Frame, l.Faces)
		}
	}
	// The audio is the original's, bit for bit (copied, not re-encoded).
	audio := func(file string) string {
		return sh(ffmpeg + q + "-i " + file + " -map 0:a -c copy -f md5 -")
	}
	if a, b := audio("in.mp4"), audio("out.mp4"); a != b {
		t.Errorf("audio differs: %s vs %s", a, b)
	}
	t.Logf("recipe: %d frames in and out, streams %q", nin, strings.Fields(streams))
}
