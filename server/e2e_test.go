package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/server"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// startReal opens a server with the real embedded-model detector on a
// loopback port and closes it when the test ends.
func startReal(t *testing.T) *server.Server {
	t.Helper()
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatalf("cascade.NewDefault: %v", err)
	}
	logs := &syncBuffer{}
	// Generous: the race detector slows the cascade down tenfold.
	cfg := server.Config{DetectTimeout: 10 * time.Minute}
	s := server.New(cfg, det, slog.New(slog.NewJSONHandler(logs, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	return s
}

// referenceFaces returns the number of faces in the reference output for
// an image at min size 20.
func referenceFaces(t *testing.T, image string) int {
	t.Helper()
	data, err := os.ReadFile(testenv.Path(t, "testdata", "reference", "min20", image+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Faces []struct {
			Prob float32 `json:"prob"`
		} `json:"faces"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Faces) == 0 {
		t.Fatalf("reference for %s lists no faces", image)
	}
	return len(ref.Faces)
}

// TestE2EDetect posts a real image to a real server over TCP.
func TestE2EDetect(t *testing.T) {
	img, err := os.ReadFile(testenv.Path(t, "testdata", "images", "solvay.png"))
	if err != nil {
		t.Fatal(err)
	}
	want := referenceFaces(t, "solvay")
	s := startReal(t)

	resp, err := http.Post(s.URL()+"/v1/detect", "image/png", bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("/v1/detect: %d %s", resp.StatusCode, body)
	}
	var got struct {
		Width, Height int
		Faces         []cascade.Face
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Width != 960 || got.Height != 661 {
		t.Errorf("size %dx%d, want 960x661", got.Width, got.Height)
	}
	if len(got.Faces) != want {
		t.Errorf("%d faces, reference has %d", len(got.Faces), want)
	}
	for _, f := range got.Faces {
		if f.Score <= 0.7 || f.Box[2] <= f.Box[0] || f.Box[3] <= f.Box[1] {
			t.Errorf("implausible face %+v", f)
		}
	}

	// The annotated image, as a multipart upload, in both formats.
	for _, tc := range []struct{ path, ct string }{{"/infer", "image/png"}, {"/v1/annotate?format=jpeg", "image/jpeg"}} {
		form, ct := multipartBody(t, "image_file", img)
		resp, err := http.Post(s.URL()+tc.path, ct, form)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ct {
			t.Fatalf("%s: %d %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		decode := png.Decode
		if tc.ct == "image/jpeg" {
			decode = jpeg.Decode
		}
		out, err := decode(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if b := out.Bounds(); b.Dx() != 960 || b.Dy() != 661 {
			t.Errorf("%s: size %v", tc.path, b)
		}
	}
}

// TestBrowser drives the web page in headless Chromium: upload an image
// through the file input, wait for the answer, and check that the page
// lists the reference's faces and draws them.
func TestBrowser(t *testing.T) {
	needChromium(t, "browser test")
	imgPath := testenv.Path(t, "testdata", "images", "solvay.png")
	want := referenceFaces(t, "solvay")
	s := startReal(t)

	ctx := newBrowser(t, 10*time.Minute, chromedp.WindowSize(1300, 1000))

	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL()+"/"),
		chromedp.WaitVisible(chromedp.ID("file")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{imgPath}),
	); err != nil {
		t.Fatalf("loading the page and choosing the file: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.Poll[string](
		`["done", "error"].includes(document.body.dataset.state) ? document.body.dataset.state : null`,
		chromedp.WithPollingTimeout(8*time.Minute)))
	if err != nil {
		t.Fatalf("waiting for the page to show results: %v", err)
	}
	if state != "done" {
		msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("error")))
		t.Fatalf("the page shows an error: %s", msg)
	}

	type pageState struct {
		Items       int    `json:"items"`
		Count       string `json:"count"`
		CanvasW     int    `json:"canvasW"`
		CanvasH     int    `json:"canvasH"`
		GreenPixels int    `json:"green"`
		FirstItem   string `json:"first"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[pageState](`(() => {
		const c = document.getElementById("result");
		const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let green = 0;
		for (let i = 0; i < px.length; i += 4) {
			if (px[i] < 40 && px[i + 1] > 215 && px[i + 2] < 40) green++;
		}
		const items = document.querySelectorAll("#faces li.face");
		return {
			items: items.length,
			count: document.getElementById("count").textContent,
			canvasW: c.width, canvasH: c.height, green,
			first: items.length ? items[0].textContent : "",
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("page: %+v", got)
	if got.Items != want {
		t.Errorf("the page lists %d faces, the reference has %d", got.Items, want)
	}
	if got.Count != strconv.Itoa(want) {
		t.Errorf("#count says %q, want %d", got.Count, want)
	}
	if got.CanvasW != 960 || got.CanvasH != 661 {
		t.Errorf("canvas %dx%d, want the image's 960x661", got.CanvasW, got.CanvasH)
	}
	// 29 boxes of ~25 px sides at 3 px lines outline thousands of pixels;
	// the photo itself has next to no pure green.
	if got.GreenPixels < 100*want {
		t.Errorf("only %d green pixels on the canvas: the faces are not outlined", got.GreenPixels)
	}

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 gives PNG
	if err != nil {
		t.Fatal(err)
	}
	// Kept in MTCNN_ARTIFACTS when set (CI artifacts), else in the
	// test's temporary directory.
	dir := os.Getenv("MTCNN_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "browser-solvay.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// needChromium skips the test (fails it under CI=true) when Chromium is
// missing; what names the test.
func needChromium(t *testing.T, what string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		msg := what + " needs " + chromiumPath + " (apt-get install -y chromium): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// newBrowser starts headless Chromium for the test, with a deadline of
// timeout and opts added to the common flags, and returns its context;
// the browser is closed at the test's end, and its output logged if the
// test failed.
func newBrowser(t *testing.T, timeout time.Duration, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	parent, cancelParent := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancelParent)
	browserLog := &syncBuffer{}
	all := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(browserLog),
	}, opts...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, all...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("browser output:\n%s", browserLog.String())
		}
	})
	return ctx
}
