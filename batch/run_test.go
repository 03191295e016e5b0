package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/internal/testenv"
)

// fakeDetector returns one face whose box is the image's size, after a
// random delay, and records how many detections ran at once.
type fakeDetector struct {
	mu        sync.Mutex
	running   int
	maxActive int
	calls     atomic.Int64
}

func (d *fakeDetector) Detect(ctx context.Context, img image.Image, _ cascade.Options) ([]cascade.Face, error) {
	d.calls.Add(1)
	d.mu.Lock()
	d.running++
	d.maxActive = max(d.maxActive, d.running)
	d.mu.Unlock()
	defer func() { d.mu.Lock(); d.running--; d.mu.Unlock() }()
	select {
	case <-time.After(time.Duration(rand.IntN(3000)) * time.Microsecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	b := img.Bounds()
	return []cascade.Face{{Box: [4]float32{0, 0, float32(b.Dx()), float32(b.Dy())}, Score: 1}}, nil
}

func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.Gray{Y: 7})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pngTree writes n PNGs of distinct sizes into two folders with equal
// names and returns the walked items.
func pngTree(t *testing.T, n int) (string, []Item) {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		writePNG(t, filepath.Join(dir, fmt.Sprintf("f%d", i%2), fmt.Sprintf("img%03d.png", i/2)), 10+i, 20+i)
	}
	items, err := Walk(context.Background(), []string{dir}, func(p string, err error) { t.Errorf("%s: %v", p, err) })
	if err != nil || len(items) != n {
		t.Fatalf("walk: %d items, %v", len(items), err)
	}
	return dir, items
}

func TestRunOrderAndBounds(t *testing.T) {
	_, items := pngTree(t, 40)
	for _, workers := range []int{1, 3, 8} {
		det := &fakeDetector{}
		var inFlight, maxInFlight atomic.Int64
		opts := Options{Workers: workers, Open: func(p string) (io.ReadCloser, error) {
			n := inFlight.Add(1)
			for {
				m := maxInFlight.Load()
				if n <= m || maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
			return os.Open(p)
		}}
		var got []int
		sum, err := Run(context.Background(), det, items, opts, func(r *Result) error {
			inFlight.Add(-1)
			if r.Err != nil {
				t.Errorf("%s: %v", r.Item.Path, r.Err)
				return nil
			}
			i := r.Index
			if r.Item != items[i] || r.Format != "png" || r.Width != 10+int(r.Faces[0].Box[2])-10 {
				t.Errorf("result %d: %+v", i, r)
			}
			got = append(got, i)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range got {
			if g != i {
				t.Fatalf("workers %d: delivered %v, want 0..%d in order", workers, got, len(items)-1)
			}
		}
		if len(got) != len(items) || sum.Images != len(items) || sum.Faces != len(items) || sum.Errors != 0 {
			t.Errorf("workers %d: %d delivered, summary %+v", workers, len(got), sum)
		}
		if det.maxActive > workers {
			t.Errorf("workers %d: %d detections at once", workers, det.maxActive)
		}
		if m := maxInFlight.Load(); m > int64(2*workers) {
			t.Errorf("workers %d: %d items between open and delivery, window is %d", workers, m, 2*workers)
		}
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), 30, 20)
	writePNG(t, filepath.Join(dir, "big.png"), 300, 200)
	writePNG(t, filepath.Join(dir, "gone.png"), 30, 20)
	writePNG(t, filepath.Join(dir, "locked.png"), 30, 20)
	writePNG(t, filepath.Join(dir, "z.png"), 30, 20)
	os.WriteFile(filepath.Join(dir, "notes.jpg"), []byte("not pixels at all"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.png"), nil, 0o644)
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 100, 100)))
	os.WriteFile(filepath.Join(dir, "truncated.png"), buf.Bytes()[:buf.Len()/2], 0o644)
	items, err := Walk(context.Background(), []string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The file vanishes between the walk and its turn.
	os.Remove(filepath.Join(dir, "gone.png"))
	errRead := errors.New("permission denied (test)")
	opts := Options{
		Limits: imageio.Limits{MaxPixels: 10_000},
		Open: func(p string) (io.ReadCloser, error) {
			if filepath.Base(p) == "locked.png" {
				return nil, &os.PathError{Op: "open", Path: p, Err: errRead}
			}
			return os.Open(p)
		},
	}
	type outcome struct {
		ok, notImage bool
		err          error
	}
	want := map[string]outcome{
		"a.png":         {ok: true},
		"big.png":       {err: imageio.ErrTooLarge},
		"empty.png":     {err: imageio.ErrEmpty},
		"gone.png":      {err: os.ErrNotExist},
		"locked.png":    {err: errRead},
		"notes.jpg":     {notImage: true, err: imageio.ErrUnsupported},
		"truncated.png": {err: imageio.ErrCorrupt},
		"z.png":         {ok: true},
	}
	var seen []string
	sum, err := Run(context.Background(), &fakeDetector{}, items, opts, func(r *Result) error {
		seen = append(seen, r.Item.Rel)
		w := want[r.Item.Rel]
		switch {
		case w.ok && r.Err != nil:
			t.Errorf("%s: %v", r.Item.Rel, r.Err)
		case !w.ok && !errors.Is(r.Err, w.err):
			t.Errorf("%s: error %v, want %v", r.Item.Rel, r.Err, w.err)
		case r.NotImage != w.notImage:
			t.Errorf("%s: NotImage %v", r.Item.Rel, r.NotImage)
		case r.Err != nil && !bytes.Contains([]byte(r.Err.Error()), []byte(r.Item.Rel)):
			t.Errorf("%s: error %q does not name the file", r.Item.Rel, r.Err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(want) || sum.Images != 2 || sum.Errors != 6 || sum.NotImage != 1 {
		t.Errorf("delivered %q, summary %+v", seen, sum)
	}
}

func TestRunStops(t *testing.T) {
	_, items := pngTree(t, 30)
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var got []int
		_, err := Run(ctx, &fakeDetector{}, items, Options{Workers: 3}, func(r *Result) error {
			got = append(got, r.Index)
			if len(got) == 10 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, ErrStopped) || !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want ErrStopped and Canceled", err)
		}
		for i, g := range got {
			if g != i {
				t.Fatalf("delivered %v: not a prefix in order", got)
			}
		}
		if len(got) < 10 || len(got) > 10+6 {
			t.Errorf("%d delivered after cancelling at 10", len(got))
		}
	})
	t.Run("deliver error", func(t *testing.T) {
		full := errors.New("disk full")
		n := 0
		_, err := Run(context.Background(), &fakeDetector{}, items, Options{}, func(r *Result) error {
			n++
			if n == 5 {
				return full
			}
			return nil
		})
		if !errors.Is(err, full) || n != 5 {
			t.Errorf("error %v after %d deliveries, want disk full after 5", err, n)
		}
	})
	t.Run("process error", func(t *testing.T) {
		bad := errors.New("cannot write")
		opts := Options{Process: func(_ context.Context, r *Result, img image.Image) error {
			if r.Index == 3 {
				return bad
			}
			if img.Bounds().Dx() != r.Width {
				t.Errorf("Process got another image")
			}
			return nil
		}}
		sum, err := Run(context.Background(), &fakeDetector{}, items, opts, func(r *Result) error {
			if (r.Index == 3) != errors.Is(r.Err, bad) {
				t.Errorf("item %d: %v", r.Index, r.Err)
			}
			return nil
		})
		if err != nil || sum.Errors != 1 || sum.Images != len(items)-1 {
			t.Errorf("summary %+v, %v", sum, err)
		}
	})
}

// TestRunBitExact checks that a batch gives, for each image, exactly what
// a Detect call on that image alone gives.
func TestRunBitExact(t *testing.T) {
	dir := testenv.Path(t, "testdata", "images")
	det, err := cascade.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	for _, name := range []string{"solvay.jpg", "hopper_exif6.jpg", "multiface.jpg", "no_faces.png", "ivan.jpg", "test_image.png"} {
		items = append(items, Item{Path: filepath.Join(dir, name), Rel: name})
	}
	opts := Options{Workers: 3, Detect: cascade.Options{MinSize: 20}}
	n := 0
	_, err = Run(context.Background(), det, items, opts, func(r *Result) error {
		n++
		if r.Err != nil {
			t.Errorf("%s: %v", r.Item.Rel, r.Err)
			return nil
		}
		img, _, err := imageio.DecodeFile(r.Item.Path, imageio.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := det.Detect(context.Background(), img, opts.Detect)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.Faces, want) && !(len(r.Faces) == 0 && len(want) == 0) {
			t.Errorf("%s: batch gave %v, Detect alone %v", r.Item.Rel, r.Faces, want)
		}
		return nil
	})
	if err != nil || n != len(items) {
		t.Fatalf("%d of %d delivered: %v", n, len(items), err)
	}
}
