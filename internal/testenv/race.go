//go:build race

package testenv

// RaceEnabled reports a -race build. Allocation counts say nothing there:
// sync.Pool drops items at random under the race detector.
const RaceEnabled = true
