package video

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// countSource yields n tiny frames, then err (io.EOF when nil), and
// counts the frames alive (read and not yet emitted).
type countSource struct {
	n, i  int
	err   error
	alive *atomic.Int32
	peak  *atomic.Int32
}

func (s *countSource) Next() (*Frame, error) {
	if s.i == s.n {
		if s.err != nil {
			return nil, s.err
		}
		return nil, io.EOF
	}
	a := s.alive.Add(1)
	for {
		p := s.peak.Load()
		if a <= p || s.peak.CompareAndSwap(p, a) {
			break
		}
	}
	f := &Frame{Index: s.i, Image: image.NewGray(image.Rect(0, 0, 1, 1))}
	s.i++
	return f, nil
}

func TestProcessOrderAndBound(t *testing.T) {
	for _, o := range []ProcessOptions{{}, {Workers: 1}, {Workers: 3, InFlight: 4}, {Workers: 8, InFlight: 2}} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			var alive, peak atomic.Int32
			src := &countSource{n: 200, alive: &alive, peak: &peak}
			var busy, maxBusy atomic.Int32
			next := 0
			err := Process(context.Background(), src, o, func(_ context.Context, f *Frame) (int, error) {
				b := busy.Add(1)
				for {
					m := maxBusy.Load()
					if b <= m || maxBusy.CompareAndSwap(m, b) {
						break
					}
				}
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
				busy.Add(-1)
				return f.Index * 10, nil
			}, func(f *Frame, v int) error {
				if f.Index != next || v != next*10 {
					t.Fatalf("emitted frame %d (%d), want %d", f.Index, v, next)
				}
				next++
				alive.Add(-1)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if next != 200 {
				t.Fatalf("emitted %d frames", next)
			}
			o = o.withDefaults()
			if p := peak.Load(); p > int32(o.InFlight) {
				t.Errorf("%d frames in flight, bound %d", p, o.InFlight)
			}
			if m := maxBusy.Load(); m > int32(o.Workers) {
				t.Errorf("%d concurrent work calls, %d workers", m, o.Workers)
			}
		})
	}
}

func TestProcessErrors(t *testing.T) {
	var alive, peak atomic.Int32
	boom := errors.New("boom")
	// A source error comes after every frame before it.
	emitted := 0
	err := Process(context.Background(), &countSource{n: 7, err: ErrTruncated, alive: &alive, peak: &peak}, ProcessOptions{Workers: 2},
		func(_ context.Context, f *Frame) (int, error) { return 0, nil },
		func(f *Frame, _ int) error { emitted++; return nil })
	if !errors.Is(err, ErrTruncated) || emitted != 7 {
		t.Errorf("source error: %v after %d frames; want ErrTruncated after 7", err, emitted)
	}
	// A work error on frame 5: frames 0-4 emitted, then the error.
	emitted = 0
	err = Process(context.Background(), &countSource{n: 50, alive: &alive, peak: &peak}, ProcessOptions{Workers: 3},
		func(_ context.Context, f *Frame) (int, error) {
			if f.Index == 5 {
				return 0, boom
			}
			return 0, nil
		},
		func(f *Frame, _ int) error { emitted++; return nil })
	if !errors.Is(err, boom) || emitted != 5 {
		t.Errorf("work error: %v after %d frames; want boom after 5", err, emitted)
	}
	// An emit error stops at once.
	emitted = 0
	err = Process(context.Background(), &countSource{n: 50, alive: &alive, peak: &peak}, ProcessOptions{},
		func(_ context.Context, f *Frame) (int, error) { return 0, nil },
		func(f *Frame, _ int) error {
			emitted++
			if f.Index == 3 {
				return boom
			}
			return nil
		})
	if !errors.Is(err, boom) || emitted != 4 {
		t.Errorf("emit error: %v after %d frames", err, emitted)
	}
	// Cancellation.
	ctx, cancel := context.WithCancel(context.Background())
	err = Process(ctx, &countSource{n: 1000, alive: &alive, peak: &peak}, ProcessOptions{},
		func(_ context.Context, f *Frame) (int, error) { return 0, nil },
		func(f *Frame, _ int) error {
			if f.Index == 10 {
				cancel()
			}
			return nil
		})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
