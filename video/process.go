package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// ProcessOptions tune Process. The zero value means the defaults.
type ProcessOptions struct {
	// Workers is how many frames are worked on at once; 0 means
	// GOMAXPROCS. A detection uses every core for part of its time only
	// (its small pyramid levels and stage boundaries run on one), so two
	// frames at once keep two cores busier than one frame spread over
	// both.
	Workers int
	// InFlight bounds the frames read but not yet emitted, and so the
	// memory the pipeline holds; 0 means 2*Workers. It is raised to
	// Workers when smaller.
	InFlight int
}

func (o ProcessOptions) withDefaults() ProcessOptions {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.InFlight <= 0 {
		o.InFlight = 2 * o.Workers
	}
	o.InFlight = max(o.InFlight, o.Workers)
	return o
}

// Process reads frames from src on one goroutine, calls work on up to
// opts.Workers frames at once, and calls emit with each frame and its
// result on the calling goroutine, in frame order. At most opts.InFlight
// frames are between being read and being emitted; reading waits for
// emitting when that many are.
//
// Process returns nil when src returns io.EOF and every frame was emitted.
// Otherwise it returns the first error in frame order (src's, work's for
// some frame, or emit's), after emitting every frame before it, or the
// context's error. work must be safe for concurrent use; emit need not be.
// A Next blocked in I/O when Process returns early is left to finish on its
// own (close the source's reader to end it).
func Process[T any](ctx context.Context, src Source, opts ProcessOptions,
	work func(context.Context, *Frame) (T, error), emit func(*Frame, T) error) error {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type slot struct {
		f    *Frame
		v    T
		err  error
		done chan struct{}
	}
	ordered := make(chan *slot, opts.InFlight)
	jobs := make(chan *slot, opts.InFlight)
	free := make(chan struct{}, opts.InFlight) // one token per frame in flight

	go func() {
		defer close(ordered)
		defer close(jobs)
		for {
			select {
			case free <- struct{}{}:
			case <-ctx.Done():
				return
			}
			f, err := src.Next()
			s := &slot{f: f, err: err, done: make(chan struct{})}
			if err != nil {
				close(s.done)
				select {
				case ordered <- s:
				case <-ctx.Done():
				}
				return
			}
			select {
			case ordered <- s:
			case <-ctx.Done():
				return
			}
			jobs <- s // buffered as deep as ordered: never blocks long
		}
	}()

	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range jobs {
				if ctx.Err() == nil {
					s.v, s.err = work(ctx, s.f)
				} else {
					s.err = ctx.Err()
				}
				close(s.done)
			}
		}()
	}
	defer wg.Wait()
	defer cancel() // runs before wg.Wait: workers see it and drain

	for {
		var s *slot
		select {
		case s = <-ordered:
		case <-ctx.Done():
			return ctx.Err()
		}
		if s == nil { // reader stopped on cancellation
			return ctx.Err()
		}
		select {
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if s.f == nil {
			if errors.Is(s.err, io.EOF) {
				return nil
			}
			return s.err
		}
		if s.err != nil {
			return fmt.Errorf("frame %d: %w", s.f.Index, s.err)
		}
		if err := emit(s.f, s.v); err != nil {
			return err
		}
		<-free
	}
}
