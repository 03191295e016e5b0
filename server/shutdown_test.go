//go:build unix

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/server"
)

func TestOpenClose(t *testing.T) {
	s, _ := newServer(t, server.Config{}, &fakeDetector{})
	if s.URL() != "" || s.Addr() != nil || s.Done() != nil {
		t.Fatal("address before Open")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close before Open: %v", err)
	}
	s, _ = newServer(t, server.Config{}, &fakeDetector{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ln); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ln); err == nil {
		t.Error("second Open succeeded")
	}
	resp, err := http.Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done not closed after Close")
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Get(s.URL() + "/healthz"); err == nil {
		t.Error("still serving after Close")
	}
}

func TestCloseDeadline(t *testing.T) {
	det := &fakeDetector{block: make(chan struct{}), started: make(chan struct{}, 1)}
	defer close(det.block)
	s, _ := newServer(t, server.Config{}, det)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ln); err != nil {
		t.Fatal(err)
	}
	go func() {
		resp, err := http.Post(s.URL()+"/v1/detect", "image/png", bytes.NewReader(pngBytes(t, 8, 8)))
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-det.started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = s.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a stuck request returned %v, want a deadline error", err)
	}
}

// TestSIGTERMDuringLoad sends the process SIGTERM while clients keep the
// server busy, shuts down as runServe does, and checks that every request
// the server accepted got its whole answer: the server's request log and
// the clients' complete responses agree one for one.
func TestSIGTERMDuringLoad(t *testing.T) {
	det := &fakeDetector{faces: twoFaces, delay: 100 * time.Millisecond}
	s, logs := newServer(t, server.Config{Concurrency: 4, Queue: 10}, det)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ln); err != nil {
		t.Fatal(err)
	}

	sigCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	closed := make(chan error, 1)
	go func() {
		<-sigCtx.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		closed <- s.Close(ctx)
	}()

	img := pngBytes(t, 32, 32)
	url := s.URL() + "/v1/detect"
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	var (
		signalled              atomic.Bool
		ok200, ok503, after200 atomic.Int64
		mu                     sync.Mutex
		problems               []string
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, strconv.Itoa(len(problems))+": "+fmt.Sprintf(format, args...))
		}
	}
	stopClients := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				select {
				case <-stopClients:
					return
				default:
				}
				wasSignalled := signalled.Load()
				resp, err := client.Post(url, "image/png", bytes.NewReader(img))
				if err != nil {
					if !wasSignalled && !signalled.Load() {
						problem("request failed before shutdown: %v", err)
					}
					// After shutdown began, a refused or reset request is
					// one the server never accepted; the log check below
					// proves it.
					time.Sleep(5 * time.Millisecond)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					problem("status %d but the body broke: %v", resp.StatusCode, err)
					continue
				}
				if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
					problem("Content-Length %s, got %d bytes", cl, len(body))
				}
				switch resp.StatusCode {
				case 200:
					var d struct{ Faces []json.RawMessage }
					if err := json.Unmarshal(body, &d); err != nil || len(d.Faces) != 2 {
						problem("bad 200 body %q: %v", body, err)
					}
					ok200.Add(1)
					if signalled.Load() {
						after200.Add(1)
					}
				case 503:
					ok503.Add(1)
					time.Sleep(10 * time.Millisecond)
				default:
					problem("status %d: %s", resp.StatusCode, body)
				}
			}
		}()
	}

	waitFor(t, "load", func() bool { return ok200.Load() >= 8 && det.inFlight.Load() == 4 })
	signalled.Store(true)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("shutdown did not finish")
	}
	close(stopClients)
	wg.Wait()

	for _, p := range problems {
		t.Error(p)
	}
	handled := 0
	for _, rec := range logs.records(t, "request") {
		if rec["route"] == "/v1/detect" {
			handled++
		}
	}
	got := ok200.Load() + ok503.Load()
	t.Logf("answered %d (200: %d, of them %d finished after SIGTERM; 503: %d), server handled %d",
		got, ok200.Load(), after200.Load(), ok503.Load(), handled)
	if int64(handled) != got {
		t.Errorf("server handled %d requests but clients got %d complete answers", handled, got)
	}
	if det.calls.Load() != ok200.Load() {
		t.Errorf("%d detections but %d answers 200", det.calls.Load(), ok200.Load())
	}
	if after200.Load() == 0 {
		t.Error("no request finished after SIGTERM: the test did not catch any in flight")
	}
	if det.inFlight.Load() != 0 {
		t.Errorf("%d detections still running after Close", det.inFlight.Load())
	}
}

// TestDetectionOutlivesReadTimeout checks that a detection running past
// ReadTimeout (which bounds reading the request) still answers 200: the
// read deadline would otherwise cancel the request's context.
func TestDetectionOutlivesReadTimeout(t *testing.T) {
	det := &fakeDetector{faces: twoFaces, delay: 600 * time.Millisecond}
	s, _ := newServer(t, server.Config{ReadTimeout: 200 * time.Millisecond, ReadHeaderTimeout: 200 * time.Millisecond}, det)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ln); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	for range 2 { // the second on the kept-alive connection
		resp, err := http.Post(s.URL()+"/v1/detect", "image/png", bytes.NewReader(pngBytes(t, 16, 16)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	}
}
