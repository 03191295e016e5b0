package server

import (
	"context"
	"errors"
	"fmt"
)

// errBusy reports that every detection slot and queue place is taken.
var errBusy = errors.New("server busy: all detection slots and queue places are taken")

// pool admits detections: at most running of them hold a slot at once
// and at most queued more wait for one. Admission (a ticket) is decided
// at once, without waiting, so a full pool is reported immediately.
type pool struct {
	tickets chan struct{} // one per admitted request: running + waiting
	slots   chan struct{} // one per running detection
}

// newPool returns a pool of running slots with a queue of queued places.
func newPool(running, queued int) *pool {
	return &pool{
		tickets: make(chan struct{}, running+queued),
		slots:   make(chan struct{}, running),
	}
}

// admit takes a ticket or fails at once with errBusy. The caller must call
// leave after a successful admit.
func (p *pool) admit() error {
	select {
	case p.tickets <- struct{}{}:
		return nil
	default:
		return errBusy
	}
}

// leave returns the ticket taken by admit.
func (p *pool) leave() { <-p.tickets }

// acquire waits for a slot until ctx is done; the caller must hold a
// ticket and must call release after a successful acquire.
func (p *pool) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for a detection slot: %w", context.Cause(ctx))
	}
}

// release returns the slot taken by acquire.
func (p *pool) release() { <-p.slots }

// running reports how many detections hold a slot.
func (p *pool) running() int { return len(p.slots) }

// waiting reports how many admitted requests do not hold a slot.
func (p *pool) waiting() int { return max(len(p.tickets)-len(p.slots), 0) }
