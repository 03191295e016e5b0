package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
	"github.com/mtcnn-go/mtcnn/nets"
)

// lockedBuffer is an io.Writer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServe runs "mtcnn serve" on a loopback port, with and without -fma:
// it answers /readyz once the model is loaded, /v1/detect gives the
// in-process detector's faces bit for bit in the same arithmetic, and a
// cancelled context shuts it down with status 0.
func TestServe(t *testing.T) {
	shared := testenv.Shared(t)
	path := filepath.Join(shared, "testdata", "images", "ivan.png")
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imageio.DecodeFile(path, imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	var got [2][]cascade.Face
	for i, fma := range []bool{false, true} {
		args := []string{"-addr", "127.0.0.1:0", "-log-format", "text"}
		if fma {
			args = append(args, "-fma")
		}
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr lockedBuffer
		done := make(chan int, 1)
		go func() { done <- runServe(ctx, args, &stdout, &stderr) }()

		url := ""
		deadline := time.Now().Add(20 * time.Second)
		for url == "" || !ready(url) {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("%v: not ready; stdout %q, stderr %q", args, stdout.String(), stderr.String())
			}
			if _, rest, ok := strings.Cut(stdout.String(), "serving on "); ok && url == "" {
				url, _, _ = strings.Cut(rest, " ")
			}
			time.Sleep(20 * time.Millisecond)
		}

		resp, err := http.Post(url+"/v1/detect", "image/png", bytes.NewReader(body))
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		var res struct{ Faces []cascade.Face }
		err = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			cancel()
			t.Fatalf("%v: status %d, %v", args, resp.StatusCode, err)
		}
		got[i] = res.Faces

		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("%v: exit status %d; stderr %s", args, code, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%v: no shutdown after cancel", args)
		}

		want, err := det.Detect(context.Background(), img, cascade.Options{FMA: fma})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Faces, want) {
			t.Errorf("%v: served faces differ from the detector's:\n got  %+v\n want %+v", args, res.Faces, want)
		}
	}
	if len(got[0]) == 0 {
		t.Error("no faces found on ivan.png")
	}
	if nets.FMAAvailable() && reflect.DeepEqual(got[0], got[1]) {
		t.Error("-fma served exactly the exact faces: the flag did not reach the detector")
	}
}

// ready reports whether the server at url answers /readyz with 200.
func ready(url string) bool {
	if url == "" {
		return false
	}
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
