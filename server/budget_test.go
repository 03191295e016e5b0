package server

import (
	"context"
	"errors"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

func TestDefaultMaxMemory(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	saved := cgroupFiles
	defer func() { cgroupFiles = saved }()
	for _, tc := range []struct {
		name  string
		files []string
		want  int64
	}{
		{"v2 limit", []string{write("v2", "1073741824\n"), write("v1", "999")}, 1073741824 * 9 / 10},
		{"v2 max", []string{write("v2max", "max\n")}, FallbackMaxMemory},
		{"v1 limit", []string{filepath.Join(dir, "none"), write("v1b", "536870912")}, 536870912 * 9 / 10},
		{"v1 unlimited", []string{write("v1u", "9223372036854771712")}, FallbackMaxMemory},
		{"no cgroup", []string{filepath.Join(dir, "none")}, FallbackMaxMemory},
	} {
		cgroupFiles = tc.files
		if got := DefaultMaxMemory(); got != tc.want {
			t.Errorf("%s: DefaultMaxMemory = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestRequestShare(t *testing.T) {
	for _, tc := range []struct{ max, want int64 }{
		{700_000_000, 700_000_000 - 64<<20},
		{100 << 20, 75 << 20},
	} {
		if got := requestShare(tc.max); got != tc.want {
			t.Errorf("requestShare(%d) = %d, want %d", tc.max, got, tc.want)
		}
	}
}

// TestRequestCost checks that the estimate is the body, the decoded image
// and cascade.WorkingSet (the one memory model, shared with the cascade),
// pins it for the 44-megapixel JPEG (about 160 MB for a 4:2:0
// JPEG with 2 CPUs: 66 MB of planes and the banded detection's 86 MB),
// and checks what it grows with.
func TestRequestCost(t *testing.T) {
	jpeg := imageio.Header{Format: "jpeg", Width: 8000, Height: 5500, ColorModel: color.YCbCrModel, Orientation: 1}
	c := requestCost(jpeg, 3_400_000, cascade.Options{}, false)
	if want := 3_400_000 + jpeg.DecodedBytes() + cascade.WorkingSet(8000, 5500, cascade.Options{}); c != want {
		t.Errorf("44 MP JPEG costs %d bytes, want body + decoded + cascade.WorkingSet = %d", c, want)
	}
	// No frame header parsed: the decoded image counts as 4:4:4, 132 MB.
	if runtime.GOMAXPROCS(0) == 2 && (c < 180e6 || c > 300e6) {
		t.Errorf("44 MP JPEG costs %d bytes, want about 230 MB", c)
	}
	if a := requestCost(jpeg, 3_400_000, cascade.Options{}, true); a != c+8*8000*5500 {
		t.Errorf("annotating adds %d bytes, want 8 per pixel", a-c)
	}
	small := imageio.Header{Format: "png", Width: 640, Height: 480, ColorModel: color.NRGBAModel, Orientation: 1}
	s := requestCost(small, 100_000, cascade.Options{}, false)
	if s < 640*480*7 || s > 48<<20 {
		t.Errorf("640x480 PNG costs %d bytes", s)
	}
	// A smaller min size makes the small image's first level larger than
	// a band; a large image's levels run in bands whatever their size.
	if big := requestCost(small, 100_000, cascade.Options{MinSize: 12}, false); big <= s {
		t.Errorf("640x480 at min size 12 costs %d <= %d at the default", big, s)
	}
}

func TestBudgetFreesMemoryAfterLargeRequests(t *testing.T) {
	b := newBudget(1 << 30)
	var calls atomic.Int64
	b.freeOS = func() { calls.Add(1) }
	ctx := context.Background()
	if err := b.acquire(ctx, largeRequest); err != nil {
		t.Fatal(err)
	}
	if err := b.acquire(ctx, 2*largeRequest); err != nil {
		t.Fatal(err)
	}
	if err := b.acquire(ctx, 1<<20); err != nil {
		t.Fatal(err)
	}
	b.release(largeRequest) // another large one still runs
	b.release(1 << 20)      // small: never frees
	time.Sleep(20 * time.Millisecond)
	if n := calls.Load(); n != 0 {
		t.Fatalf("freed %d times while a large request runs", n)
	}
	b.release(2 * largeRequest)
	deadline := time.Now().Add(2 * time.Second)
	for calls.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("freed %d times after the last large request, want 1", n)
	}
	if b.used.Load() != 0 {
		t.Errorf("used %d", b.used.Load())
	}
}

func TestBudgetOverAndWait(t *testing.T) {
	b := newBudget(100)
	if err := b.acquire(context.Background(), 101); !errors.Is(err, errOverBudget) {
		t.Fatalf("over budget: %v", err)
	}
	if err := b.acquire(context.Background(), 60); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := b.acquire(ctx, 60); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting past the deadline: %v", err)
	}
	if b.waiting.Load() != 0 || b.used.Load() != 60 {
		t.Errorf("waiting %d, used %d", b.waiting.Load(), b.used.Load())
	}
}
