package video

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/track"
)

// Detector is what Faces needs of a face detector; *cascade.Detector is
// one.
type Detector interface {
	Detect(ctx context.Context, img image.Image, opts cascade.Options) ([]cascade.Face, error)
	DetectNear(ctx context.Context, img image.Image, boxes [][4]float32, opts cascade.Options) ([]cascade.Face, error)
}

// FacesOptions configure Faces. The zero value means full detection on
// every frame with the default cascade, tracker and pipeline options.
type FacesOptions struct {
	// Detect are the cascade's options for every frame.
	Detect cascade.Options
	// Track are the tracker's options.
	Track track.Options
	// Every runs the full detector (the P-Net pyramid and all) on every
	// Every-th frame only, from frame 0; the frames between run R-Net and
	// O-Net only, on the boxes of the live tracks (DetectNear). Much
	// faster, but a face entering the view is found at the next full
	// frame only, and a face lost between full frames stays lost until
	// the next one. 0 and 1 mean every frame: each frame's faces are then
	// exactly what Detect gives for it alone.
	Every int
	// Process tunes the pipeline.
	Process ProcessOptions
}

// TrackedFace is a face with its track id. Its JSON form is the face's
// with a "track" field added.
type TrackedFace struct {
	cascade.Face
	// Track identifies the face across frames (see package track).
	Track int `json:"track"`
}

// Result is one frame's faces.
type Result struct {
	// Faces are the faces found in the frame, in the detector's order.
	Faces []TrackedFace
	// Coasting are tracks with no face in this frame that are still kept
	// (missed for at most Track.MaxMisses frames), at their expected
	// place: what an anonymiser should hide too, so a face the detector
	// misses for a frame is not shown.
	Coasting []TrackedFace
}

// Faces detects and tracks the faces of src's frames and calls emit with
// each frame's result, in frame order. Full detections run on several
// frames at once (opts.Process); tracking, the R-Net/O-Net passes of
// opts.Every and emit run in order on the calling goroutine. Errors are
// Process's: a frame's error ends the run after the frames before it.
func Faces(ctx context.Context, src Source, det Detector, opts FacesOptions,
	emit func(*Frame, Result) error) error {
	if err := opts.Detect.Validate(); err != nil {
		return err
	}
	every := max(opts.Every, 1)
	tr := track.New(opts.Track)
	work := func(ctx context.Context, f *Frame) ([]cascade.Face, error) {
		if f.Index%every != 0 {
			return nil, nil
		}
		return det.Detect(ctx, f.Image, opts.Detect)
	}
	return Process(ctx, src, opts.Process, work, func(f *Frame, faces []cascade.Face) error {
		if f.Index%every != 0 {
			var err error
			if faces, err = detectNear(ctx, det, f.Image, nearBoxes(tr.Tracks()), opts.Detect); err != nil {
				return fmt.Errorf("frame %d: %w", f.Index, err)
			}
		}
		ids := tr.Update(faces)
		res := Result{Faces: make([]TrackedFace, len(faces))}
		for i, face := range faces {
			res.Faces[i] = TrackedFace{Face: face, Track: ids[i]}
		}
		for _, t := range tr.Tracks() {
			if t.Misses > 0 {
				res.Coasting = append(res.Coasting, TrackedFace{Face: t.Face, Track: t.ID})
			}
		}
		return emit(f, res)
	})
}

// detectNear runs det.DetectNear on the part of img the boxes cover (with
// a margin for the crops' bilinear sampling), so that only that part is
// converted for the networks: the frame's faces usually cover a small part
// of it. Boxes and faces are in img's coordinates.
func detectNear(ctx context.Context, det Detector, img image.Image, boxes [][4]float32, opts cascade.Options) ([]cascade.Face, error) {
	if len(boxes) == 0 {
		return []cascade.Face{}, nil
	}
	b := img.Bounds()
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return det.DetectNear(ctx, img, boxes, opts)
	}
	var r image.Rectangle
	for _, bx := range boxes {
		r = r.Union(image.Rect(int(math.Floor(float64(bx[0])))-2, int(math.Floor(float64(bx[1])))-2,
			int(math.Ceil(float64(bx[2])))+3, int(math.Ceil(float64(bx[3])))+3))
	}
	r = r.Add(b.Min).Intersect(b)
	if r.Empty() {
		return []cascade.Face{}, nil
	}
	// Coordinates relative to the part's corner.
	dx, dy := float32(r.Min.X-b.Min.X), float32(r.Min.Y-b.Min.Y)
	local := make([][4]float32, len(boxes))
	for i, bx := range boxes {
		local[i] = [4]float32{bx[0] - dx, bx[1] - dy, bx[2] - dx, bx[3] - dy}
	}
	faces, err := det.DetectNear(ctx, sub.SubImage(r), local, opts)
	for i := range faces {
		f := &faces[i]
		f.Box = [4]float32{f.Box[0] + dx, f.Box[1] + dy, f.Box[2] + dx, f.Box[3] + dy}
		for p := range f.Landmarks {
			f.Landmarks[p][0] += dx
			f.Landmarks[p][1] += dy
		}
	}
	return faces, err
}

// nearBoxes returns the square boxes R-Net looks at for the live tracks:
// each track's expected box squared about its centre to its longer side.
func nearBoxes(ts []track.Track) [][4]float32 {
	out := make([][4]float32, 0, len(ts))
	for _, t := range ts {
		b := t.Next
		cx, cy := (b[0]+b[2])/2, (b[1]+b[3])/2
		s := max(b[2]-b[0], b[3]-b[1]) / 2
		if s <= 0 {
			continue
		}
		out = append(out, [4]float32{cx - s, cy - s, cx + s, cy + s})
	}
	return out
}
