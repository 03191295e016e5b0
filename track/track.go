// Package track gives the faces of consecutive video frames stable
// identities.
//
// Each frame's faces are matched to the tracks of the frames before by
// the overlap (intersection over union) of their boxes: every pair of a
// track and a face overlapping by at least Options.MinIoU is a candidate,
// and pairs are taken greedily, largest overlap first (ties: the older
// track, then the earlier face), each track and face at most once. A face
// left over starts a new track with the next id (ids count from 1 and are
// never reused). A track left over is kept, "coasting" at its last box,
// for up to Options.MaxMisses frames, so a face the detector misses for a
// frame or two keeps its id when it is found again, and an anonymiser can
// keep hiding it meanwhile (Tracks reports the coasting ones).
//
// With Options.Motion a track also carries a constant-velocity estimate of
// its box (SORT's motion model without the Kalman covariances): matching
// and coasting use the box predicted for the current frame instead of the
// last one seen. It is off by default; see Options.Motion for what it
// measurably changes.
package track

import (
	"slices"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// Options tune a Tracker. The zero value means the defaults.
type Options struct {
	// MinIoU is the least intersection over union of a track's box and a
	// face's box for them to match, in (0, 1]; 0 means 0.3.
	MinIoU float32
	// MaxMisses is how many consecutive frames a track is kept without a
	// matching face before it ends; 0 means 5 (a fifth of a second at 25
	// fps). Negative means tracks end at their first miss.
	MaxMisses int
	// Motion predicts each track's box by its velocity (the smoothed
	// per-frame displacement of its corners) before matching and while
	// coasting. It helps when faces move by a large part of their size per
	// frame (fast pans, low frame rates), where a still box no longer
	// overlaps the face's new place enough; at ordinary speeds both match
	// the same. Measured: a face moving 60% of its size per frame keeps
	// its id with it and gets a new one every frame without; on
	// bench/video's clip (pans of 2-4 px per frame) it moves the recall of
	// mtcnn video -every 5 only from 0.986 to 0.990, so it is off by
	// default.
	Motion bool
}

// DefaultOptions returns the options the zero value stands for.
func DefaultOptions() Options {
	return Options{MinIoU: 0.3, MaxMisses: 5}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MinIoU <= 0 {
		o.MinIoU = d.MinIoU
	}
	if o.MaxMisses == 0 {
		o.MaxMisses = d.MaxMisses
	}
	if o.MaxMisses < 0 {
		o.MaxMisses = 0
	}
	return o
}

// Track is one tracked face as of the last Update.
type Track struct {
	// ID identifies the track, from 1.
	ID int
	// Face is the face matched in the last frame or, for a coasting track,
	// the last face seen with its box moved where the motion model
	// predicts (the last box without Options.Motion).
	Face cascade.Face
	// Misses is how many frames in a row the track had no face: 0 when
	// it matched in the last Update.
	Misses int
	// Seen is how many frames matched the track.
	Seen int
	// Next is where the track's box is expected in the next frame: moved
	// by its velocity with Options.Motion, else its last box.
	Next [4]float32
}

type track struct {
	Track
	vel  [4]float32 // per-frame velocity of the box corners
	last [4]float32 // the last matched box
}

// Tracker assigns track ids to the faces of consecutive frames. It is not
// safe for concurrent use; give each stream its own.
type Tracker struct {
	opts   Options
	tracks []*track
	nextID int
	pairs  []pair
}

type pair struct {
	iou  float32
	t, f int
}

// New returns a Tracker with no tracks.
func New(opts Options) *Tracker {
	return &Tracker{opts: opts.withDefaults(), nextID: 1}
}

// Update takes the faces of the next frame and returns their track ids,
// ids[i] for faces[i].
func (tr *Tracker) Update(faces []cascade.Face) []int {
	ids := make([]int, len(faces))
	// Where each track should be in this frame.
	pred := make([][4]float32, len(tr.tracks))
	for i, t := range tr.tracks {
		pred[i] = t.predict(tr.opts.Motion)
	}
	tr.pairs = tr.pairs[:0]
	for ti := range tr.tracks {
		for fi := range faces {
			if v := IoU(pred[ti], faces[fi].Box); v >= tr.opts.MinIoU {
				tr.pairs = append(tr.pairs, pair{v, ti, fi})
			}
		}
	}
	// Tracks are kept oldest first, so ti order is age order.
	slices.SortStableFunc(tr.pairs, func(a, b pair) int {
		switch {
		case a.iou > b.iou:
			return -1
		case a.iou < b.iou:
			return 1
		case a.t != b.t:
			return a.t - b.t
		}
		return a.f - b.f
	})
	matched := make([]bool, len(tr.tracks))
	for _, p := range tr.pairs {
		if matched[p.t] || ids[p.f] != 0 {
			continue
		}
		matched[p.t] = true
		t := tr.tracks[p.t]
		ids[p.f] = t.ID
		t.observe(faces[p.f], tr.opts.Motion)
	}
	kept := tr.tracks[:0]
	for i, t := range tr.tracks {
		if !matched[i] {
			t.Misses++
			if t.Misses > tr.opts.MaxMisses {
				continue
			}
			t.Face.Box = pred[i]
		}
		kept = append(kept, t)
	}
	clear(tr.tracks[len(kept):])
	tr.tracks = kept
	for fi := range faces {
		if ids[fi] != 0 {
			continue
		}
		t := &track{Track: Track{ID: tr.nextID, Face: faces[fi], Seen: 1}, last: faces[fi].Box}
		tr.nextID++
		ids[fi] = t.ID
		tr.tracks = append(tr.tracks, t)
	}
	for _, t := range tr.tracks {
		t.Next = t.predict(tr.opts.Motion)
	}
	return ids
}

// predict returns where t's box should be in the next frame.
func (t *track) predict(motion bool) [4]float32 {
	if !motion {
		return t.last
	}
	var b [4]float32
	n := float32(t.Misses + 1)
	for k := range b {
		b[k] = t.last[k] + n*t.vel[k]
	}
	return b
}

// observe records f as the track's face in this frame.
func (t *track) observe(f cascade.Face, motion bool) {
	if motion && t.Seen > 0 {
		// Displacement per frame since the last match, smoothed.
		n := float32(t.Misses + 1)
		for k := range t.vel {
			d := (f.Box[k] - t.last[k]) / n
			if t.Seen == 1 {
				t.vel[k] = d
			} else {
				t.vel[k] = 0.5*t.vel[k] + 0.5*d
			}
		}
	}
	t.last = f.Box
	t.Face = f
	t.Misses = 0
	t.Seen++
}

// Tracks returns the live tracks after the last Update, oldest first:
// those matched in it (Misses 0) and those coasting (Misses > 0).
func (tr *Tracker) Tracks() []Track {
	out := make([]Track, len(tr.tracks))
	for i, t := range tr.tracks {
		out[i] = t.Track
	}
	return out
}

// IoU returns the intersection over union of two boxes given as x1, y1,
// x2, y2 (0 when either is empty).
func IoU(a, b [4]float32) float32 {
	iw := min(a[2], b[2]) - max(a[0], b[0])
	ih := min(a[3], b[3]) - max(a[1], b[1])
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	ua := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
	if ua <= 0 {
		return 0
	}
	return inter / ua
}
