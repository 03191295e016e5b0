// Package score measures a detector against labelled boxes: recall and
// average precision (AP) at an IoU threshold, matched as in the Pascal VOC
// evaluation (detections of all images taken best score first, each
// matched to the unmatched labelled box it overlaps most, if at least the
// threshold; AP is the area under the precision-recall curve with
// precision made monotone, all points).
//
// Functions here are pure and safe for concurrent use.
package score

import (
	"cmp"
	"slices"
)

// Detection is one detected box, x1, y1, x2, y2 in pixels, with its score.
type Detection struct {
	Box   [4]float32
	Score float32
}

// Result is the score of a set of detections.
type Result struct {
	Truths           int     // labelled boxes
	Detections       int     // detections
	TruePositives    int     // detections matched to a labelled box
	Recall           float64 // TruePositives / Truths (0 when there are none)
	AveragePrecision float64
}

// IoU returns the intersection over union of two x1, y1, x2, y2 boxes
// (0 when either has no area).
func IoU(a, b [4]float32) float64 {
	iw := float64(min(a[2], b[2])) - float64(max(a[0], b[0]))
	ih := float64(min(a[3], b[3])) - float64(max(a[1], b[1]))
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	ua := float64(a[2]-a[0])*float64(a[3]-a[1]) + float64(b[2]-b[0])*float64(b[3]-b[1]) - inter
	if ua <= 0 {
		return 0
	}
	return inter / ua
}

// Evaluate scores the detections of each image (dets[i]) against the
// labelled boxes of the same image (truths[i]) at the IoU threshold iou
// (0.5 is the usual). Images missing from either slice count as having
// none.
func Evaluate(dets [][]Detection, truths [][][4]float32, iou float64) Result {
	type ref struct {
		img, i int
		score  float32
	}
	var all []ref
	r := Result{}
	n := max(len(dets), len(truths))
	for img := 0; img < n; img++ {
		if img < len(truths) {
			r.Truths += len(truths[img])
		}
		if img < len(dets) {
			for i, d := range dets[img] {
				all = append(all, ref{img, i, d.Score})
			}
		}
	}
	r.Detections = len(all)
	// Best first; ties in image then detection order, so the result does
	// not depend on the sort's stability.
	slices.SortFunc(all, func(a, b ref) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.img, b.img); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	used := make([][]bool, len(truths))
	for i := range truths {
		used[i] = make([]bool, len(truths[i]))
	}
	prec := make([]float64, 0, len(all))
	rec := make([]float64, 0, len(all))
	tp := 0
	for k, a := range all {
		best, bestIoU := -1, iou
		if a.img < len(truths) {
			box := dets[a.img][a.i].Box
			for j, t := range truths[a.img] {
				if used[a.img][j] {
					continue
				}
				if v := IoU(box, t); v >= bestIoU {
					best, bestIoU = j, v
				}
			}
		}
		if best >= 0 {
			used[a.img][best] = true
			tp++
		}
		prec = append(prec, float64(tp)/float64(k+1))
		if r.Truths > 0 {
			rec = append(rec, float64(tp)/float64(r.Truths))
		} else {
			rec = append(rec, 0)
		}
	}
	r.TruePositives = tp
	if r.Truths == 0 {
		return r
	}
	r.Recall = float64(tp) / float64(r.Truths)
	// Precision made monotone from the right, then the area under the
	// step curve at each recall increase.
	for k := len(prec) - 2; k >= 0; k-- {
		prec[k] = max(prec[k], prec[k+1])
	}
	last := 0.0
	for k := range prec {
		if rec[k] > last {
			r.AveragePrecision += (rec[k] - last) * prec[k]
			last = rec[k]
		}
	}
	return r
}
