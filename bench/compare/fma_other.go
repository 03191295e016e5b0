//go:build !amd64

package main

// Only amd64 has an FMA peak loop; elsewhere the peak is not measured.

func fmaLoop(int) {}

func fmaFlopsPerIter() int { return 0 }

func fmaKind() (string, int) { return "no FMA loop for this architecture (unmeasured)", 0 }
