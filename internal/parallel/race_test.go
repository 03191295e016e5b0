//go:build race

package parallel

// raceEnabled reports a -race build, where sync.Pool drops items at
// random, so allocation counts say nothing.
const raceEnabled = true
