// Package parallel runs loops over independent chunks on all CPUs.
//
// The layers of a network run for tens to hundreds of microseconds each,
// about as long as waking a parked thread takes on a virtual machine
// (measured here: 146 µs median, 300 µs p90). Goroutines started per loop
// therefore join too late to help. Instead the caller works on its own loop
// at once, and helper goroutines, once started, stay awake for a short
// while after their last chunk (yielding to any other goroutine), so the
// next layer's loop finds them ready. Idle helpers exit; none outlive
// their spin time.
package parallel

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/mtcnn-go/mtcnn/internal/freelist"
)

// MinWork is the work (in multiply-adds or comparable units) below which a
// loop runs on one goroutine: splitting smaller ones costs more than it
// saves.
const MinWork = 1 << 18

// spinTime is how long an idle helper looks for more work before it exits.
const spinTime = 2 * time.Millisecond

// job is one parallel loop. Jobs are recycled (see jobs), and a helper may
// still hold a job from an earlier loop when it is reused: it took the job
// from the queue after that loop had ended. So a claim must say for itself
// whether it is valid: claims packs the loop's chunk count (high 32 bits)
// with the next chunk to hand out (low 32 bits), both set by one atomic
// store when the job is (re)started, and a claim is valid only when its
// index is below the count that came with it. A valid claim belongs to the
// current loop, which cannot end before the claimed chunk is done, so the
// fields read after it are that loop's; an invalid one reads nothing else.
type job struct {
	fn     func(lo, hi int)
	n      int
	chunk  int
	claims atomic.Uint64
	done   atomic.Int64
}

// start sets the job up for a loop of chunks chunks. Its previous loop, if
// any, must have ended.
func (j *job) start(fn func(lo, hi int), n, chunk, chunks int) {
	j.fn, j.n, j.chunk = fn, n, chunk
	j.done.Store(0)
	j.claims.Store(uint64(chunks) << 32)
}

// run takes chunks until none is left.
func (j *job) run() {
	for {
		v := j.claims.Add(1) - 1
		c, chunks := int64(v&(1<<32-1)), int64(v>>32)
		if c >= chunks {
			return
		}
		lo := int(c) * j.chunk
		j.fn(lo, min(lo+j.chunk, j.n))
		j.done.Add(1)
	}
}

// jobs recycles jobs, so a loop allocates nothing in steady state.
var jobs freelist.List[job]

// The helpers: queue carries loops to helpers (a loop is queued once per
// helper it wants; a helper taking a finished loop finds nothing to do),
// alive counts the running helpers.
var (
	queue = make(chan *job, 256)
	alive atomic.Int32
)

// For calls fn on consecutive chunks [lo, hi) of [0, n), each at most chunk
// long, from up to GOMAXPROCS goroutines when work (the loop's total cost)
// is at least MinWork, else in order on the calling goroutine. The chunks
// must be independent; fn must be safe to call concurrently. For returns
// when every chunk is done.
func For(n, chunk, work int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunk = max(chunk, 1)
	chunks := (n + chunk - 1) / chunk
	procs := runtime.GOMAXPROCS(0)
	want := min(procs, chunks) - 1
	if want < 1 || work < MinWork {
		for lo := 0; lo < n; lo += chunk {
			fn(lo, min(lo+chunk, n))
		}
		return
	}
	if uint64(chunks) >= 1<<31 {
		// More chunks than a claim can count: coarser chunks.
		chunk = (n + 1<<30 - 1) >> 30
		chunks = (n + chunk - 1) / chunk
	}
	j := jobs.Get()
	if j == nil {
		j = new(job)
	}
	j.start(fn, n, chunk, chunks)
	for range want {
		select {
		case queue <- j:
		default: // the queue is full of loops: this one runs with fewer helpers
		}
	}
	for {
		a := alive.Load()
		if int(a) >= min(want, procs-1) {
			break
		}
		if alive.CompareAndSwap(a, a+1) {
			go helper()
		}
	}
	j.run()
	// Every chunk is taken; wait for the helpers' last ones, which are
	// running now.
	for spins := 0; j.done.Load() < int64(chunks); spins++ {
		if spins > 100 {
			runtime.Gosched()
		}
	}
	// Drop the loop's closure so the recycled job does not keep its data
	// alive. A stale helper may still hold the job, but reads fn only
	// after a valid claim, which a later start makes possible first.
	j.fn = nil
	jobs.Put(j)
}

// helper runs queued loops until it has found none for spinTime.
func helper() {
	defer alive.Add(-1)
	idleSince := time.Now()
	for spins := 0; ; spins++ {
		if len(queue) > 0 {
			select {
			case j := <-queue:
				j.run()
				idleSince, spins = time.Now(), 0
				continue
			default:
			}
		}
		if spins%64 == 63 {
			if time.Since(idleSince) > spinTime {
				return
			}
			runtime.Gosched()
		}
	}
}

// Body is a parallel loop's body: a struct of the loop's arguments whose
// Run method does the chunk [lo, hi).
type Body[T any] interface {
	*T
	Run(lo, hi int)
}

// Loops runs parallel loops whose bodies are of type T, allocating nothing
// in steady state. A closure over a loop's arguments, made per call, is
// allocated per call, as For keeps it while helpers run it; Loops instead
// recycles one closure per concurrent loop, bound once to a T it copies
// each call's body into. The zero value is ready to use; a Loops is safe
// for concurrent use and is meant to be a package-level variable per loop
// kind.
type Loops[T any, P Body[T]] struct{ free freelist.List[loopTask[T, P]] }

// loopTask is a recycled body and the closure bound to it.
type loopTask[T any, P Body[T]] struct {
	body T
	fn   func(lo, hi int)
}

// Run runs body.Run over the chunks of [0, n) as For runs fn.
func (l *Loops[T, P]) Run(n, chunk, work int, body T) {
	t := l.free.Get()
	if t == nil {
		t = new(loopTask[T, P])
		t.fn = func(lo, hi int) { P(&t.body).Run(lo, hi) }
	}
	t.body = body
	For(n, chunk, work, t.fn)
	// Drop the arguments so the idle task keeps nothing alive.
	var zero T
	t.body = zero
	l.free.Put(t)
}
