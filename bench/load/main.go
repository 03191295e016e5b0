// Command load is the HTTP server's load test. It starts the server in
// this process on a loopback port (or targets -url, which must be on
// loopback), runs -clients concurrent clients for -duration posting one
// image to /v1/detect, stops by itself, and prints requests per second,
// latency percentiles, answers by status, the process's peak RSS and its
// goroutine count before and after the load.
//
// With -mix it is a soak test: clients post JPEGs of mixed sizes (the
// image as is, 12 MP and 44 MP), 413 is an accepted answer too, and the
// process's RSS, goroutines and the server's memory budget are sampled
// during the run; it fails when RSS keeps growing (see mix.go).
//
// It exits 1 when an answer is neither 200 nor 503, when a request fails
// at the transport level, when goroutines remain after the load, or when
// the in-process server's peak RSS exceeds -max-rss-mib (default 512).
//
//	go run ./bench/load                     # 32 clients, 30 s, in-process server
//	go run ./bench/load -clients 8 -duration 10s
//	go run ./bench/load -url http://127.0.0.1:8080
//	go run ./bench/load -mix -clients 8 -duration 5m -max-memory-mib 700  # soak
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/shared"
	"github.com/mtcnn-go/mtcnn/server"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	target      string
	clients     int
	duration    time.Duration
	image       string
	path        string
	concurrency int
	queue       int
	reqTimeout  time.Duration
	retryAfter  bool
	token       string
	verbose     bool
	maxRSS      int64 // bytes; 0: no bound
	mix         bool  // post a mix of image sizes (see mix.go)
	maxMemory   int64 // in-process server's memory budget; 0: its default
	sample      time.Duration
}

// run parses args, runs the load and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.target, "url", "", "base URL of a running server, on loopback only (default: start one in this process)")
	fs.IntVar(&o.clients, "clients", 32, "concurrent clients")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long clients start new requests")
	fs.StringVar(&o.image, "image", "", "image to post (default: solvay.png of the shared test data)")
	fs.StringVar(&o.path, "path", "/v1/detect", "endpoint to post to")
	fs.IntVar(&o.concurrency, "concurrency", 0, "in-process server: detections at once (0: GOMAXPROCS)")
	fs.IntVar(&o.queue, "queue", 0, "in-process server: queue length (0: 2×concurrency, -1: none)")
	fs.DurationVar(&o.reqTimeout, "request-timeout", 2*time.Minute, "client timeout of one request")
	fs.BoolVar(&o.retryAfter, "retry-after", true, "after a 503, wait as its Retry-After says (capped at 1 s) before the next request")
	fs.StringVar(&o.token, "auth-token", os.Getenv("MTCNN_AUTH_TOKEN"), "bearer token to send, if the server needs one")
	fs.BoolVar(&o.verbose, "v", false, "log the in-process server's requests to stderr")
	maxRSS := fs.Int64("max-rss-mib", 512, "fail when the in-process server's peak RSS exceeds this many MiB (0: no bound; with -mix the default is 110 % of -max-memory-mib)")
	fs.BoolVar(&o.mix, "mix", false, "soak: post a mix of JPEGs made from -image, small (as is), 12 MP and 44 MP, 6:3:1; 413 is then an accepted answer too, "+
		"and RSS, goroutines and the memory budget are sampled every -sample")
	maxMemMiB := fs.Int64("max-memory-mib", 0, "in-process server's memory budget in MiB (0: its default)")
	fs.DurationVar(&o.sample, "sample", 10*time.Second, "with -mix, how often to sample RSS and goroutines")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	o.maxMemory = *maxMemMiB << 20
	if o.target == "" {
		o.maxRSS = *maxRSS << 20
		rssGiven := false
		fs.Visit(func(f *flag.Flag) { rssGiven = rssGiven || f.Name == "max-rss-mib" })
		if o.mix && !rssGiven {
			o.maxRSS = o.maxMemory * 11 / 10 // 0 (no bound) without a budget
		}
	}
	if fs.NArg() > 0 || o.clients < 1 || o.duration <= 0 {
		fmt.Fprintln(stderr, "load: bad arguments; see -h")
		return 2
	}
	if err := load(o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 1
	}
	return 0
}

// result is one request's outcome.
type result struct {
	status  int // 0 for a transport error
	latency time.Duration
}

// load runs the whole test and reports; it fails on a broken expectation.
func load(o options, stdout, stderr io.Writer) error {
	if o.image == "" {
		p, err := defaultImage()
		if err != nil {
			return err
		}
		o.image = p
	}
	img, err := os.ReadFile(o.image)
	if err != nil {
		return fmt.Errorf("reading the image: %w", err)
	}
	pick := func(int) []byte { return img }
	var mixed *mixImages
	if o.mix {
		if mixed, err = makeMix(img); err != nil {
			return err
		}
		pick = mixed.pick
		fmt.Fprintf(stdout, "mix: %s\n", mixed)
	}

	base := o.target
	if base == "" {
		srv, err := startServer(o, stderr)
		if err != nil {
			return err
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := srv.Close(ctx); err != nil {
				fmt.Fprintf(stderr, "load: closing the server: %v\n", err)
			}
		}()
		base = srv.URL()
		cfg := srv.Config()
		fmt.Fprintf(stdout, "server: in process at %s, concurrency %d, queue %d\n", base, cfg.Concurrency, max(cfg.Queue, 0))
	} else {
		if err := checkLoopback(base); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "server: %s (RSS below is this client process only)\n", base)
	}
	target := strings.TrimRight(base, "/") + o.path

	tr := &http.Transport{MaxIdleConnsPerHost: o.clients, MaxConnsPerHost: o.clients, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: o.reqTimeout}

	// Warm up: one request, which also proves the target works.
	if r := post(context.Background(), client, target, img, o.token); r.status != http.StatusOK {
		return fmt.Errorf("warm-up request to %s answered status %d (0: transport error)", target, r.status)
	}
	tr.CloseIdleConnections()
	before := settleGoroutines(0, time.Second)

	fmt.Fprintf(stdout, "load: %d clients for %v posting %s (%d bytes) to %s\n",
		o.clients, o.duration, filepath.Base(o.image), len(img), o.path)
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	start := time.Now()
	var samples *sampler
	if o.mix {
		// A client of its own: the load's connections are all busy. No
		// keep-alive: an idle connection left after the load would count
		// as three leaked goroutines (both ends of it).
		samples = startSampler(ctx, o.sample, strings.TrimRight(base, "/")+"/metrics",
			&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}, o.token)
	}
	var sent atomic.Int64
	results := make([][]result, o.clients)
	var wg sync.WaitGroup
	for i := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				r := post(context.Background(), client, target, pick(int(sent.Add(1))), o.token)
				results[i] = append(results[i], r.result)
				if r.status == http.StatusServiceUnavailable && o.retryAfter {
					wait(ctx, min(r.retryAfter, time.Second))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	tr.CloseIdleConnections()
	after := settleGoroutines(before, 10*time.Second)

	all := slices.Concat(results...)
	var extra []error
	if samples != nil {
		extra = samples.report(stdout)
	}
	return report(stdout, all, elapsed, before, after, o.maxRSS, o.mix, extra...)
}

// startServer opens the server with the real detector on a loopback port.
func startServer(o options, stderr io.Writer) (*server.Server, error) {
	det, err := cascade.NewDefault()
	if err != nil {
		return nil, fmt.Errorf("loading the detector: %w", err)
	}
	var logger *slog.Logger
	if o.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	} else {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := server.New(server.Config{Concurrency: o.concurrency, Queue: o.queue, AuthToken: o.token, MaxMemory: o.maxMemory}, det, logger)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	if err := srv.Open(ln); err != nil {
		ln.Close()
		return nil, fmt.Errorf("opening the server: %w", err)
	}
	return srv, nil
}

// posted is a result with the 503's Retry-After.
type posted struct {
	result
	retryAfter time.Duration
}

// post sends one request and reads the whole answer.
func post(ctx context.Context, client *http.Client, target string, img []byte, token string) posted {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(img))
	if err != nil {
		return posted{}
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return posted{result: result{latency: time.Since(start)}}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	p := posted{result: result{status: resp.StatusCode, latency: time.Since(start)}}
	if err != nil {
		p.status = 0
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		p.retryAfter = time.Duration(s) * time.Second
	}
	return p
}

// wait sleeps for d or until ctx is done.
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// settleGoroutines waits up to limit for the goroutine count to fall to
// target (0: just let things settle briefly) and returns the count.
func settleGoroutines(target int, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		runtime.GC()
		n := runtime.NumGoroutine()
		if (target > 0 && n <= target) || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// report prints the results and fails on a broken expectation.
func report(w io.Writer, all []result, elapsed time.Duration, before, after int, maxRSS int64, allow413 bool, extra ...error) error {
	byStatus := map[int]int{}
	var lat, lat200 []time.Duration
	for _, r := range all {
		byStatus[r.status]++
		lat = append(lat, r.latency)
		if r.status == http.StatusOK {
			lat200 = append(lat200, r.latency)
		}
	}
	slices.Sort(lat)
	slices.Sort(lat200)
	secs := elapsed.Seconds()
	fmt.Fprintf(w, "requests: %d in %.1f s = %.1f req/s (200: %.2f/s)\n", len(all), secs, float64(len(all))/secs, float64(byStatus[200])/secs)
	fmt.Fprintf(w, "latency all: p50 %v p99 %v max %v\n", pct(lat, 50), pct(lat, 99), pct(lat, 100))
	fmt.Fprintf(w, "latency 200: p50 %v p99 %v max %v\n", pct(lat200, 50), pct(lat200, 99), pct(lat200, 100))
	codes := make([]int, 0, len(byStatus))
	for c := range byStatus {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		name := strconv.Itoa(c)
		if c == 0 {
			name = "transport-error"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, byStatus[c]))
	}
	fmt.Fprintf(w, "status: %s\n", strings.Join(parts, ", "))
	hwm, rssErr := peakRSS()
	if rssErr != nil {
		fmt.Fprintf(w, "peak RSS: unknown (%v)\n", rssErr)
	} else {
		fmt.Fprintf(w, "peak RSS (VmHWM): %.1f MiB\n", float64(hwm)/(1<<20))
	}
	fmt.Fprintf(w, "goroutines: %d before, %d after\n", before, after)

	errs := extra
	for _, c := range codes {
		if c != http.StatusOK && c != http.StatusServiceUnavailable && !(allow413 && c == http.StatusRequestEntityTooLarge) {
			errs = append(errs, fmt.Errorf("%d answers with status %d (0: transport error)", byStatus[c], c))
		}
	}
	if byStatus[http.StatusOK] == 0 {
		errs = append(errs, errors.New("no request succeeded"))
	}
	if after > before {
		errs = append(errs, fmt.Errorf("goroutines grew from %d to %d", before, after))
	}
	if maxRSS > 0 && rssErr == nil && hwm > maxRSS {
		errs = append(errs, fmt.Errorf("peak RSS %.1f MiB is over the bound of %d MiB", float64(hwm)/(1<<20), maxRSS>>20))
	}
	if len(errs) > 0 {
		fmt.Fprintln(w, "FAIL")
		return errors.Join(errs...)
	}
	fmt.Fprintln(w, "PASS")
	return nil
}

// pct returns the p-th percentile (nearest rank) of sorted d.
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p + 99) / 100
	return d[min(max(i-1, 0), len(d)-1)].Round(time.Millisecond / 10)
}

// peakRSS reads the process's peak resident set size from /proc.
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS: %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc/self/status")
}

// checkLoopback refuses a target that is not on this machine's loopback.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("-url %q: only http:// on loopback is supported", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url %q: the load test only targets loopback (127.0.0.1, ::1, localhost)", raw)
}

// defaultImage finds solvay.png in the shared test data: $MTCNN_SHARED,
// else ../shared beside the module root.
func defaultImage() (string, error) {
	dir, err := shared.Dir()
	if err != nil {
		return "", fmt.Errorf("finding the image (pass -image): %w", err)
	}
	p := filepath.Join(dir, "testdata", "images", "solvay.png")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("finding the image (pass -image): %w", err)
	}
	return p, nil
}
