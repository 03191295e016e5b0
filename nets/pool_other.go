//go:build !amd64 || purego

package nets

// maxWindows is the pooling of n windows; see maxWindowsGeneric. It runs
// maxInto (NEON on arm64) over each window's pixels in order.
func maxWindows(dst, src []float32, n, c, xstep int, offs []int) {
	for x := 0; x < n; x++ {
		d := dst[x*c : x*c+c]
		base := src[x*xstep:]
		copy(d, base[offs[0]:offs[0]+c])
		for _, o := range offs[1:] {
			maxInto(d, base[o:o+c])
		}
	}
}
