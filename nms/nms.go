// Package nms implements greedy non-maximum suppression with the semantics
// of TensorFlow's NonMaxSuppressionV2, which the reference MTCNN graph uses
// between its stages.
package nms

import (
	"cmp"
	"slices"
)

// Box is an axis-aligned box given by two opposite corners, in the order
// the reference graph keeps them: y1, x1, y2, x2. The corners may come in
// either order; IoU normalises them.
type Box [4]float32

// IoU returns the intersection over union of a and b as TensorFlow computes
// it in float32: corners min/max-normalised, areas without the +1 pixel
// convention, and 0 when either area is not positive.
func IoU(a, b Box) float32 {
	ay1, ay2 := min(a[0], a[2]), max(a[0], a[2])
	ax1, ax2 := min(a[1], a[3]), max(a[1], a[3])
	by1, by2 := min(b[0], b[2]), max(b[0], b[2])
	bx1, bx2 := min(b[1], b[3]), max(b[1], b[3])
	// Every product is rounded explicitly so that no architecture fuses it
	// into the sums below: float32 results must not depend on the CPU.
	areaA := float32(float32(ay2-ay1) * float32(ax2-ax1))
	areaB := float32(float32(by2-by1) * float32(bx2-bx1))
	if !(areaA > 0) || !(areaB > 0) {
		return 0
	}
	ih := max(float32(min(ay2, by2)-max(ay1, by1)), 0)
	iw := max(float32(min(ax2, bx2)-max(ax1, bx1)), 0)
	inter := float32(ih * iw)
	return inter / float32(float32(areaA+areaB)-inter)
}

// Suppress returns the indices of the boxes greedy NMS keeps, in the order
// it selects them. It visits boxes by descending score, equal scores by
// ascending index (as TensorFlow 2.x does), and drops a box whose IoU with
// an already selected box is strictly greater than iouThreshold. At most
// maxOut indices are returned; maxOut <= 0 returns none. scores must have
// one entry per box; extra entries on either side are ignored.
func Suppress(boxes []Box, scores []float32, iouThreshold float32, maxOut int) []int {
	n := min(len(boxes), len(scores))
	if n == 0 || maxOut <= 0 {
		return nil
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	// A stable sort keeps equal scores in index order. NaN scores sort
	// last, so they cannot take precedence over real ones.
	slices.SortStableFunc(order, func(i, j int) int {
		si, sj := scores[i], scores[j]
		switch {
		case si != si:
			if sj != sj {
				return 0
			}
			return 1
		case sj != sj:
			return -1
		}
		return cmp.Compare(sj, si)
	})
	selected := make([]int, 0, min(n, maxOut))
	for _, i := range order {
		keep := true
		for _, j := range selected {
			if IoU(boxes[i], boxes[j]) > iouThreshold {
				keep = false
				break
			}
		}
		if keep {
			selected = append(selected, i)
			if len(selected) == maxOut {
				break
			}
		}
	}
	return selected
}
