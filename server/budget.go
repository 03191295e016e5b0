package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
)

// Memory budget defaults; see Config.MaxMemory and DefaultMaxMemory.
const (
	// FallbackMaxMemory is the memory budget when neither GOMEMLIMIT nor a
	// cgroup memory limit gives one: 2 GiB.
	FallbackMaxMemory = 2 << 30
	// CgroupMemoryShare is the share of a cgroup memory limit the default
	// budget takes, leaving the rest for the kernel's page cache, thread
	// stacks and what the Go runtime does not count.
	CgroupMemoryShare = 0.9
	// MaxProcessReserve is how much of the budget is kept for the process
	// itself (runtime, model, connections, small requests' headers)
	// rather than handed to requests: this much, or a quarter of the
	// budget when that is less.
	MaxProcessReserve = 64 << 20
	// largeRequest is the estimated cost from which a request counts as
	// large: when the last large request in flight ends, the freed heap
	// is handed back to the operating system at once.
	largeRequest = 64 << 20
)

// cgroupFiles are where the cgroup memory limit is read, v2 then v1. A
// variable so that tests can point it at files of their own.
var cgroupFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// DefaultMaxMemory returns the memory budget a zero Config.MaxMemory
// stands for: GOMEMLIMIT when the environment sets it, else 90 % of the
// cgroup's memory limit when there is one (cgroup v2 memory.max or v1
// memory.limit_in_bytes), else FallbackMaxMemory (2 GiB).
func DefaultMaxMemory() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		// The runtime has parsed it; a negative input reads the limit.
		if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < 1<<62 {
			return lim
		}
	}
	if lim := cgroupMemoryLimit(); lim > 0 {
		return int64(float64(lim) * CgroupMemoryShare)
	}
	return FallbackMaxMemory
}

// cgroupMemoryLimit returns the first cgroup memory limit found in
// cgroupFiles, or 0 when there is none ("max", a v1 "unlimited" value of
// 2^50 or more, or no file).
func cgroupMemoryLimit() int64 {
	for _, name := range cgroupFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(data))
		if s == "max" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= 1<<50 {
			return 0
		}
		return n
	}
	return 0
}

// requestShare is the part of a memory budget requests may hold: the
// budget minus the process's reserve.
func requestShare(maxMemory int64) int64 {
	return maxMemory - min(int64(MaxProcessReserve), maxMemory/4)
}

// requestCost estimates the bytes one detection request holds at its
// peak, from the image header alone, before any pixel is decoded: the
// request body (held until the answer), the decoded image
// (imageio.Header.DecodedBytes: its pixel buffers as the decoder returns
// them), the detection's working set besides that image
// (cascade.WorkingSet: the BGR copy for images up to 16.7 MP, P-Net's
// bands, the R-Net/O-Net chunks and the candidates) and, for the
// annotating endpoints, the annotated copy and its encoding (8 bytes per
// pixel).
//
// This is the only place the server estimates memory: admission, the
// 413 for a request that can never fit, and the metrics all use it.
func requestCost(hd imageio.Header, bodyBytes int, opts cascade.Options, annotated bool) int64 {
	px := int64(hd.Width) * int64(hd.Height)
	cost := int64(bodyBytes) + hd.DecodedBytes() + cascade.WorkingSet(hd.Width, hd.Height, opts)
	if annotated {
		cost += 8 * px
	}
	return cost
}

// errOverBudget reports a request whose estimated cost exceeds the whole
// request share of the memory budget: it could never be admitted.
var errOverBudget = errors.New("request needs more memory than the server's whole budget")

// budget admits requests by their estimated memory cost: the costs of
// the requests it holds never sum to more than its size. Waiting is
// first come, first served (a large request is not starved by small
// ones). It is safe for concurrent use.
type budget struct {
	size    int64 // bytes requests may hold together
	sem     *semaphore.Weighted
	used    atomic.Int64 // bytes held
	waiting atomic.Int64 // requests waiting to be admitted
	large   atomic.Int64 // large requests holding memory
	freeing atomic.Bool  // a hand-back to the OS is running
	freed   atomic.Int64 // hand-backs done
	freeOS  func()       // debug.FreeOSMemory; tests may replace it
}

// newBudget returns a budget of size bytes.
func newBudget(size int64) *budget {
	return &budget{size: size, sem: semaphore.NewWeighted(size), freeOS: debug.FreeOSMemory}
}

// acquire waits until cost bytes are free or ctx is done. A cost over the
// whole budget fails at once with errOverBudget. The caller must call
// release(cost) after a successful acquire.
func (b *budget) acquire(ctx context.Context, cost int64) error {
	if cost > b.size {
		return fmt.Errorf("%w: it needs an estimated %s and the budget for requests is %s",
			errOverBudget, mib(cost), mib(b.size))
	}
	if !b.sem.TryAcquire(cost) {
		b.waiting.Add(1)
		err := b.sem.Acquire(ctx, cost)
		b.waiting.Add(-1)
		if err != nil {
			return fmt.Errorf("waiting for %s of memory: %w", mib(cost), context.Cause(ctx))
		}
	}
	b.used.Add(cost)
	if cost >= largeRequest {
		b.large.Add(1)
	}
	return nil
}

// release frees cost bytes taken by acquire. When the last large request
// in flight ends, the heap it freed is collected and returned to the
// operating system (a forced collection costs far less than the
// detection did), so an idle server's RSS falls back; that runs in the
// background, and the request's bytes go back to the budget only once it
// is done, so that the next large request does not allocate beside the
// last one's garbage.
func (b *budget) release(cost int64) {
	b.used.Add(-cost)
	if cost >= largeRequest && b.large.Add(-1) == 0 && b.freeing.CompareAndSwap(false, true) {
		go func() {
			defer b.sem.Release(cost)
			defer b.freeing.Store(false)
			b.freeOS()
			b.freed.Add(1)
		}()
		return
	}
	b.sem.Release(cost)
}

// mib formats a byte count in MiB, one decimal.
func mib(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}
