package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/draw"

	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

// mixImages are the soak's images: the given one, and JPEGs of 12 and
// 44 megapixels scaled from it.
type mixImages struct {
	small, mid, large []byte
}

// makeMix builds the soak's images from the encoded image src.
func makeMix(src []byte) (*mixImages, error) {
	img, _, err := imageio.Decode(bytes.NewReader(src), imageio.Limits{})
	if err != nil {
		return nil, fmt.Errorf("mix: decoding the image: %w", err)
	}
	scaled := func(w, h int) ([]byte, error) {
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.ApproxBiLinear.Scale(dst, dst.Rect, img, img.Bounds(), draw.Src, nil)
		var b bytes.Buffer
		if err := jpeg.Encode(&b, dst, &jpeg.Options{Quality: 75}); err != nil {
			return nil, fmt.Errorf("mix: encoding %dx%d: %w", w, h, err)
		}
		return b.Bytes(), nil
	}
	m := &mixImages{small: src}
	if m.mid, err = scaled(4000, 3000); err != nil {
		return nil, err
	}
	if m.large, err = scaled(8000, 5500); err != nil {
		return nil, err
	}
	return m, nil
}

// pick returns the image of the n-th request: six small, three 12 MP,
// one 44 MP in every ten.
func (m *mixImages) pick(n int) []byte {
	switch n % 10 {
	case 6, 7, 8:
		return m.mid
	case 9:
		return m.large
	}
	return m.small
}

// String describes the mix.
func (m *mixImages) String() string {
	return fmt.Sprintf("6 in 10 the image (%d bytes), 3 in 10 4000x3000 JPEG (%d bytes), 1 in 10 8000x5500 JPEG (%d bytes)",
		len(m.small), len(m.mid), len(m.large))
}

// sample is one reading during the soak.
type sample struct {
	at         time.Duration
	rss        int64 // bytes, this process
	goroutines int
	budgetUsed float64 // bytes, from the server's metrics; -1 when unknown
	waiting    float64
}

// sampler reads RSS, goroutines and the server's budget periodically.
type sampler struct {
	mu      sync.Mutex
	samples []sample
	done    chan struct{}
}

// startSampler samples every interval until ctx is done.
func startSampler(ctx context.Context, interval time.Duration, metricsURL string, client *http.Client, token string) *sampler {
	s := &sampler{done: make(chan struct{})}
	start := time.Now()
	take := func() {
		rss, _ := procStatus("VmRSS:")
		used, waiting := scrape(client, metricsURL, token)
		s.mu.Lock()
		s.samples = append(s.samples, sample{at: time.Since(start), rss: rss, goroutines: runtime.NumGoroutine(), budgetUsed: used, waiting: waiting})
		s.mu.Unlock()
	}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		take()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				take()
			}
		}
	}()
	return s
}

var metricLine = regexp.MustCompile(`(?m)^(mtcnn_memory_budget_used_bytes|mtcnn_memory_budget_waiting) (\S+)$`)

// scrape reads the budget gauges from the server's /metrics; -1 when
// unavailable.
func scrape(client *http.Client, url, token string) (used, waiting float64) {
	used, waiting = -1, -1
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return
	}
	for _, m := range metricLine.FindAllStringSubmatch(string(body), -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		if m[1] == "mtcnn_memory_budget_used_bytes" {
			used = v
		} else {
			waiting = v
		}
	}
	return
}

// report prints the samples and checks that RSS and goroutines stayed
// flat: the second half's peaks may not exceed the first half's by more
// than 15 % (plus 32 MiB of RSS, plus 16 goroutines).
func (s *sampler) report(w io.Writer) []error {
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintln(w, "samples:    t   RSS MiB  goroutines  budget used MiB  waiting")
	for _, x := range s.samples {
		fmt.Fprintf(w, "        %5.0fs  %8.1f  %10d  %15.1f  %7.0f\n", x.at.Seconds(), float64(x.rss)/(1<<20), x.goroutines, x.budgetUsed/(1<<20), x.waiting)
	}
	if rss, err := procStatus("VmRSS:"); err == nil {
		fmt.Fprintf(w, "RSS after the load: %.1f MiB\n", float64(rss)/(1<<20))
	}
	if len(s.samples) < 4 {
		return []error{errors.New("soak: fewer than 4 samples; run longer or sample more often")}
	}
	half := len(s.samples) / 2
	peak := func(xs []sample) (rss int64, g int) {
		for _, x := range xs {
			rss, g = max(rss, x.rss), max(g, x.goroutines)
		}
		return rss, g
	}
	r1, g1 := peak(s.samples[:half])
	r2, g2 := peak(s.samples[half:])
	var errs []error
	if float64(r2) > 1.15*float64(r1)+32<<20 {
		errs = append(errs, fmt.Errorf("soak: RSS grew: peak %.1f MiB in the second half, %.1f MiB in the first", float64(r2)/(1<<20), float64(r1)/(1<<20)))
	}
	if float64(g2) > 1.15*float64(g1)+16 {
		errs = append(errs, fmt.Errorf("soak: goroutines grew: peak %d in the second half, %d in the first", g2, g1))
	}
	return errs
}

// procStatus reads one kB field of /proc/self/status, in bytes.
func procStatus(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}
