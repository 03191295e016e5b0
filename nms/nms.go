// Package nms implements greedy non-maximum suppression with the semantics
// of TensorFlow's NonMaxSuppressionV2, which the reference MTCNN graph uses
// between its stages.
package nms

import (
	"cmp"
	"math"
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
	// Every product is rounded explicitly (in normalise and iou) so that
	// no architecture fuses it into the sums: float32 results must not
	// depend on the CPU.
	na, nb := normalise(a), normalise(b)
	return na.iou(&nb)
}

// Suppress returns the indices of the boxes greedy NMS keeps, in the order
// it selects them. It visits boxes by descending score, equal scores by
// ascending index (as TensorFlow 2.x does), and drops a box whose IoU with
// an already selected box is strictly greater than iouThreshold. At most
// maxOut indices are returned; maxOut <= 0 returns none. scores must have
// one entry per box; extra entries on either side are ignored.
func Suppress(boxes []Box, scores []float32, iouThreshold float32, maxOut int) []int {
	var s Suppressor
	return s.Suppress(nil, boxes, scores, iouThreshold, maxOut)
}

// A Suppressor runs Suppress with working memory it keeps between calls,
// so repeated suppressions allocate nothing once it has grown. The zero
// value is ready to use. A Suppressor is not safe for concurrent use.
type Suppressor struct {
	order []int
	norm  []normBox
	all   []normBox
	// The grid: each cell's selected boxes form a list, head[cell] its
	// first entry (-1: empty), entries all the lists' entries.
	head    [gridSide * gridSide]int32
	entries []gridEntry
}

// gridEntry is a selected box (its index in norm) in a grid cell's list,
// and the list's next entry (-1: none). One slice holds every cell's
// entries, so a grown Suppressor allocates nothing however the boxes fall.
type gridEntry struct{ box, next int32 }

// gridMin is the number of boxes from which Suppress indexes the selected
// boxes in a grid; gridSide is the grid's cells per side.
const (
	gridMin  = 64
	gridSide = 32
)

// suppressGrid is Suppress's loop for a threshold >= 0, where only boxes
// that overlap can suppress each other (IoU > threshold >= 0 needs a
// positive intersection): each selected box is listed in the grid cells
// its corners' span covers, and a candidate is compared with the boxes of
// the cells its own span covers, which include every box it overlaps.
func (s *Suppressor) suppressGrid(dst []int, boxes []Box, order []int, iouThreshold float32, maxOut int) []int {
	all := s.all[:0]
	lo, hi := [2]float32{float32(math.Inf(1)), float32(math.Inf(1))}, [2]float32{float32(math.Inf(-1)), float32(math.Inf(-1))}
	for _, b := range boxes[:len(order)] {
		n := normalise(b)
		all = append(all, n)
		if n.area > 0 {
			lo[0], lo[1] = min(lo[0], n.y1), min(lo[1], n.x1)
			hi[0], hi[1] = max(hi[0], n.y2), max(hi[1], n.x2)
		}
	}
	s.all = all
	for i := range s.head {
		s.head[i] = -1
	}
	entries := s.entries[:0]
	// cell maps a coordinate on axis d to its cell, clamping what lies
	// outside [lo, hi] (infinities included) to the edge cells.
	cell := func(v float32, d int) int {
		span := float64(hi[d]) - float64(lo[d])
		if !(float64(v) > float64(lo[d])) || !(span > 0) || math.IsInf(span, 0) {
			return 0
		}
		c := (float64(v) - float64(lo[d])) / span * gridSide
		if !(c < gridSide-1) {
			return gridSide - 1
		}
		return int(c)
	}
	norm := s.norm[:0]
	for _, i := range order {
		a := &all[i]
		keep := true
		var y0, y1, x0, x1 int
		if a.area > 0 {
			y0, y1, x0, x1 = cell(a.y1, 0), cell(a.y2, 0), cell(a.x1, 1), cell(a.x2, 1)
		cells:
			for cy := y0; cy <= y1; cy++ {
				for _, e := range s.head[cy*gridSide+x0 : cy*gridSide+x1+1] {
					for ; e >= 0; e = entries[e].next {
						if a.iou(&norm[entries[e].box]) > iouThreshold {
							keep = false
							break cells
						}
					}
				}
			}
		}
		if !keep {
			continue
		}
		dst = append(dst, i)
		if a.area > 0 {
			for cy := y0; cy <= y1; cy++ {
				for cx := x0; cx <= x1; cx++ {
					h := &s.head[cy*gridSide+cx]
					entries = append(entries, gridEntry{box: int32(len(norm)), next: *h})
					*h = int32(len(entries) - 1)
				}
			}
		}
		norm = append(norm, *a)
		if len(dst) == maxOut {
			break
		}
	}
	s.norm, s.entries = norm, entries
	return dst
}

// Suppress is the package's Suppress, appending the selected indices to
// dst[:0] (which may be nil) and returning it.
func (s *Suppressor) Suppress(dst []int, boxes []Box, scores []float32, iouThreshold float32, maxOut int) []int {
	dst = dst[:0]
	n := min(len(boxes), len(scores))
	if n == 0 || maxOut <= 0 {
		return dst
	}
	order := s.order[:0]
	for i := range n {
		order = append(order, i)
	}
	s.order = order
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
	if iouThreshold >= 0 && n >= gridMin {
		return s.suppressGrid(dst, boxes, order, iouThreshold, maxOut)
	}
	// Each selected box is kept normalised with its area, so a candidate
	// costs one intersection per selected box; the arithmetic is IoU's.
	norm := s.norm[:0]
	for _, i := range order {
		a := normalise(boxes[i])
		keep := true
		for k := range norm {
			if a.iou(&norm[k]) > iouThreshold {
				keep = false
				break
			}
		}
		if keep {
			dst = append(dst, i)
			norm = append(norm, a)
			if len(dst) == maxOut {
				break
			}
		}
	}
	s.norm = norm
	return dst
}

// normBox is a box with its corners ordered and its area, as IoU computes
// them.
type normBox struct{ y1, x1, y2, x2, area float32 }

func normalise(b Box) normBox {
	n := normBox{y1: min(b[0], b[2]), y2: max(b[0], b[2]), x1: min(b[1], b[3]), x2: max(b[1], b[3])}
	n.area = float32(float32(n.y2-n.y1) * float32(n.x2-n.x1))
	return n
}

// iou is IoU of the boxes a and b stand for, bit for bit.
func (a *normBox) iou(b *normBox) float32 {
	if !(a.area > 0) || !(b.area > 0) {
		return 0
	}
	ih := max(float32(min(a.y2, b.y2)-max(a.y1, b.y1)), 0)
	iw := max(float32(min(a.x2, b.x2)-max(a.x1, b.x1)), 0)
	inter := float32(ih * iw)
	if inter == 0 {
		// 0 / (positive, possibly infinite) union: skip the division.
		return 0
	}
	return inter / float32(float32(a.area+b.area)-inter)
}
