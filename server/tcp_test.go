package server_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/mtcnn-go/mtcnn/server"
)

// TestLimitsOverTCP checks that a client still sending an oversized body
// gets the 413 answer over a real connection, not a reset, whether the
// body has a length (refused before reading) or is chunked (cut at the
// cap); likewise for a tiny PNG declaring 20000x20000 pixels.
func TestLimitsOverTCP(t *testing.T) {
	s, _ := newServer(t, server.Config{Concurrency: 1, Queue: -1}, &fakeDetector{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ln); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	big := make([]byte, 30<<20)
	for i := range 3 {
		resp, err := http.Post(s.URL()+"/v1/detect", "image/png", bytes.NewReader(big))
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatal(resp.StatusCode, string(b))
		}
		req, _ := http.NewRequest("POST", s.URL()+"/v1/detect", io.NopCloser(bytes.NewReader(big)))
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("chunked %d: %v", i, err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatal(resp.StatusCode, string(b))
		}
	}
	resp, err := http.Post(s.URL()+"/v1/detect", "image/png", bytes.NewReader(hugePNGHeader(20000, 20000)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !bytes.Contains(b, []byte("image_too_large")) {
		t.Fatal(resp.StatusCode, string(b))
	}
}
