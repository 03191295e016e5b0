package server_test

import (
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	_ "image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mtcnn-go/mtcnn/server"
	"github.com/mtcnn-go/mtcnn/video"
)

func TestWebcamAssets(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{})
	for path, want := range map[string]string{
		"/webcam":     "getUserMedia|webcam.js|id=\"overlay\"",
		"/webcam.js":  "getUserMedia|v1/detect|frames/s",
		"/webcam.css": "#overlay",
		"/":           "href=\"webcam\"",
	} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d", path, rec.Code)
		}
		for _, w := range strings.Split(want, "|") {
			if path == "/webcam" && w == "getUserMedia" {
				continue
			}
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("%s lacks %q", path, w)
			}
		}
	}
}

// fakeCameraClip writes a 640x480 y4m clip of the astronaut portrait for
// Chromium's fake camera and returns its path and where the face is.
func fakeCameraClip(t *testing.T) (string, image.Point) {
	t.Helper()
	f, err := os.Open("../testdata/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	astro, _, err := image.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	frame := image.NewNRGBA(image.Rect(0, 0, 640, 480))
	draw.Draw(frame, frame.Bounds(), image.NewUniform(color.Gray{Y: 90}), image.Point{}, draw.Src)
	// The face is about (181,59)-(267,173) in the 512x512 photo.
	draw.Draw(frame, image.Rect(64, 0, 576, 480), astro, image.Pt(0, 16), draw.Src)
	path := filepath.Join(t.TempDir(), "camera.y4m")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := video.NewY4MWriter(out, video.Header{Width: 640, Height: 480, FPSNum: 15, FPSDen: 1, Colorspace: video.C420jpeg})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := w.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path, image.Pt(64+(181+267)/2, (59+173)/2-16)
}

// TestWebcamPage opens /webcam in headless Chromium with a fake camera
// playing a y4m clip, and checks that the page shows the face's box over
// the video, and states its frame rate; the screenshot is kept.
func TestWebcamPage(t *testing.T) {
	needChromium(t, "webcam page test")
	clip, centre := fakeCameraClip(t)
	s := startReal(t)

	ctx := newBrowser(t, 5*time.Minute,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", clip),
		chromedp.WindowSize(1100, 800),
	)

	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL()+"/webcam?start=1")); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Poll[string](
		`document.body.dataset.state === "error" ? "error: " + document.getElementById("error").textContent :
		 (window.webcamStats && webcamStats.frames >= 5 && webcamStats.fps > 0 ? JSON.stringify(webcamStats) : null)`,
		chromedp.WithPollingTimeout(3*time.Minute)))
	if err != nil {
		t.Fatalf("waiting for detections: %v", err)
	}
	if strings.HasPrefix(raw, "error: ") {
		t.Fatalf("the page shows %s", raw)
	}
	var stats struct {
		Frames int
		FPS    float64
		Width  int
		Height int
		Faces  []struct{ Box [4]float64 }
	}
	if err := json.Unmarshal([]byte(raw), &stats); err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	if stats.Width != 640 || stats.Height != 480 {
		t.Errorf("frames are %dx%d, want the fake camera's 640x480", stats.Width, stats.Height)
	}
	onFace := 0
	for _, f := range stats.Faces {
		if float64(centre.X) > f.Box[0] && float64(centre.X) < f.Box[2] && float64(centre.Y) > f.Box[1] && float64(centre.Y) < f.Box[3] {
			onFace++
		}
	}
	if onFace != 1 {
		t.Errorf("faces %v: want one box around the astronaut's face at %v", stats.Faces, centre)
	}
	type view struct {
		Green int    `json:"green"`
		FPS   string `json:"fps"`
		W     int    `json:"w"`
		H     int    `json:"h"`
		// The overlay's and the video's places on the page.
		Over  [4]float64 `json:"over"`
		Video [4]float64 `json:"video"`
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[view](`(() => {
		const c = document.getElementById("overlay");
		const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let green = 0;
		for (let i = 0; i < px.length; i += 4) if (px[i] < 40 && px[i+1] > 215 && px[i+2] < 40 && px[i+3] > 200) green++;
		const r = (e) => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.width, b.height]; };
		return {green, fps: document.getElementById("fps").textContent, w: c.width, h: c.height,
			over: r(c), video: r(document.getElementById("video"))};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("webcam page: %d frames answered, %.1f frames/s, overlay %dx%d with %d green pixels, says %q", stats.Frames, stats.FPS, v.W, v.H, v.Green, v.FPS)
	if v.Green < 200 {
		t.Errorf("only %d green pixels on the overlay: no box drawn", v.Green)
	}
	for i := range v.Over {
		if d := v.Over[i] - v.Video[i]; d > 1 || d < -1 {
			t.Errorf("the overlay is at %v, the video at %v: boxes would be misplaced", v.Over, v.Video)
			break
		}
	}
	if !strings.Contains(v.FPS, "frames/s") {
		t.Errorf("the page states %q, not its frame rate", v.FPS)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("MTCNN_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "webcam-astronaut.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
