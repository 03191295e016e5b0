package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultCameraTimeout is the connect and read timeout OpenCamera uses when
// given 0.
const DefaultCameraTimeout = 10 * time.Second

// Camera is a live MJPEG stream read over HTTP. Close it when done.
type Camera struct {
	*MJPEGReader
	body io.ReadCloser
	idle *idleReader
	stop context.CancelFunc
}

// Close ends the stream.
func (c *Camera) Close() error {
	c.idle.stop()
	c.stop()
	return c.body.Close()
}

// OpenCamera connects to an HTTP camera at url and returns a reader of its
// frames: a multipart/x-mixed-replace stream of JPEG images (what IP
// cameras, mjpg-streamer and motion serve), or a plain body of
// concatenated JPEGs. timeout bounds connecting, waiting for the response
// headers, and each wait for more bytes afterwards: a camera that stays
// silent that long gives an error wrapping ErrTimeout. Frame times are the
// arrival times. Cancelling ctx ends the stream.
func OpenCamera(ctx context.Context, url string, timeout time.Duration, lim Limits) (*Camera, error) {
	if timeout <= 0 {
		timeout = DefaultCameraTimeout
	}
	ctx, cancel := context.WithCancel(ctx)
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout}).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	client := &http.Client{Transport: tr}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("camera %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("%w: %s did not answer within %v", ErrTimeout, url, timeout)
		}
		return nil, fmt.Errorf("camera %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("camera %s: HTTP status %s", url, resp.Status)
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case strings.HasPrefix(mt, "multipart/"), mt == "image/jpeg", mt == "video/x-motion-jpeg",
		mt == "video/mjpeg", mt == "application/octet-stream", mt == "":
	default:
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("%w: camera %s sends %q, not an MJPEG stream", ErrFormat, url, ct)
	}
	idle := newIdleReader(resp.Body, timeout, cancel)
	return &Camera{MJPEGReader: NewMJPEGReader(idle, lim), body: resp.Body, idle: idle, stop: cancel}, nil
}

// idleReader fails a Read that waits longer than d for bytes: it cancels
// the request (whose body then fails) and reports ErrTimeout.
type idleReader struct {
	r        io.Reader
	d        time.Duration
	t        *time.Timer
	timedOut atomic.Bool
}

func newIdleReader(r io.Reader, d time.Duration, cancel context.CancelFunc) *idleReader {
	i := &idleReader{r: r, d: d}
	i.t = time.AfterFunc(time.Hour, func() {
		i.timedOut.Store(true)
		cancel()
	})
	i.t.Stop()
	return i
}

func (i *idleReader) Read(p []byte) (int, error) {
	i.t.Reset(i.d)
	n, err := i.r.Read(p)
	i.t.Stop()
	if err != nil && i.timedOut.Load() {
		return n, fmt.Errorf("%w: no data for %v", ErrTimeout, i.d)
	}
	return n, err
}

func (i *idleReader) stop() { i.t.Stop() }
