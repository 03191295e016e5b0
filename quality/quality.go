// Package quality describes detected faces: head pose (yaw, pitch, roll)
// estimated from the five landmarks, sharpness, brightness and size
// measured in the face box, and filters that keep the faces a caller
// wants (the largest, the best N, a minimum score, a maximum yaw).
//
// # Pose
//
// The five landmarks are fitted to a rigid five-point 3D face (MeanFace:
// the ArcFace template's frontal layout, with the eyes and mouth corners
// set back from the nose tip by typical human depths) under an affine
// camera: the 2x3 linear map that best sends the centred 3D points onto
// the centred landmarks (least squares) has rows that are, up to scale,
// the first two rows of the head's rotation. They are normalised and
// completed to a rotation matrix R = Rz(roll) Ry(yaw) Rx(-pitch), whose
// angles are returned in degrees:
//
//   - yaw > 0: the face turns towards the image's right (its nose moves
//     right); ±90 is a profile;
//   - pitch > 0: the face tilts up (chin up, nose moving towards the eyes);
//   - roll > 0: the face leans counterclockwise as seen in the image (its
//     right-hand eye, in the image, is higher).
//
// Roll is essentially the angle of the eye line. Yaw and pitch rest on
// where the nose tip falls between the eyes and the mouth, which the
// landmark regressor of MTCNN places less reliably on turned faces: expect
// a few degrees on frontal faces and yaw under-estimated beyond about 45
// degrees (MTCNN's landmarks on a profile collapse towards the visible
// side). The README gives the measured error on the shared photos.
//
// Functions keep no state and are safe for concurrent use.
package quality

import (
	"cmp"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// Pose is a head's orientation in degrees (see the package doc).
type Pose struct {
	Yaw   float64 `json:"yaw"`
	Pitch float64 `json:"pitch"`
	Roll  float64 `json:"roll"`
}

// MeanFace is the 3D face EstimatePose fits: left eye, right eye, nose
// tip, left and right mouth corners; x right, y up, z towards the camera,
// in units of the 112-pixel ArcFace template (about 1.8 mm). x and the
// eye-to-mouth distance are ArcFace's template made symmetric; the nose
// tip's height is calibrated on the shared level frontal portraits
// (astronaut, hopper_gray, closeup_2048, ivan), where MTCNN puts it 0.6 of
// the way from the eye line down to the mouth line (ArcFace's template
// has 0.5); z sets the eyes 13 and the mouth corners 14 units (24 and
// 25 mm) behind the nose tip, typical human depths.
var MeanFace = [5][3]float64{
	{-17.62, 24.41, -13},
	{17.62, 24.41, -13},
	{0, 0, 0},
	{-14.59, -16.27, -14},
	{14.59, -16.27, -14},
}

// meanFaceFit is (P^T P)^-1 P^T for the centred MeanFace P (5x3): the
// least-squares solver for the affine camera's rows.
var meanFaceFit = func() [3][5]float64 {
	var c [3]float64
	for _, p := range MeanFace {
		for k := range 3 {
			c[k] += p[k] / 5
		}
	}
	var P [5][3]float64
	for i, p := range MeanFace {
		for k := range 3 {
			P[i][k] = p[k] - c[k]
		}
	}
	var ata [3][3]float64
	for i := range 5 {
		for r := range 3 {
			for s := range 3 {
				ata[r][s] += P[i][r] * P[i][s]
			}
		}
	}
	inv := invert3(ata)
	var out [3][5]float64
	for r := range 3 {
		for i := range 5 {
			for s := range 3 {
				out[r][i] += inv[r][s] * P[i][s]
			}
		}
	}
	return out
}()

func invert3(m [3][3]float64) [3][3]float64 {
	det := m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	var r [3][3]float64
	r[0][0] = (m[1][1]*m[2][2] - m[1][2]*m[2][1]) / det
	r[0][1] = (m[0][2]*m[2][1] - m[0][1]*m[2][2]) / det
	r[0][2] = (m[0][1]*m[1][2] - m[0][2]*m[1][1]) / det
	r[1][0] = (m[1][2]*m[2][0] - m[1][0]*m[2][2]) / det
	r[1][1] = (m[0][0]*m[2][2] - m[0][2]*m[2][0]) / det
	r[1][2] = (m[0][2]*m[1][0] - m[0][0]*m[1][2]) / det
	r[2][0] = (m[1][0]*m[2][1] - m[1][1]*m[2][0]) / det
	r[2][1] = (m[0][1]*m[2][0] - m[0][0]*m[2][1]) / det
	r[2][2] = (m[0][0]*m[1][1] - m[0][1]*m[1][0]) / det
	return r
}

// EstimatePose returns the head pose of face from its landmarks (see the
// package doc). Landmarks that are not finite or coincide give a zero
// Pose and ok false.
func EstimatePose(face cascade.Face) (p Pose, ok bool) {
	// Centred landmarks with y up.
	var x, y [5]float64
	var cx, cy float64
	for i, l := range face.Landmarks {
		x[i], y[i] = float64(l[0]), -float64(l[1])
		cx += x[i] / 5
		cy += y[i] / 5
	}
	var r1, r2 [3]float64
	for k := range 3 {
		for i := range 5 {
			r1[k] += meanFaceFit[k][i] * (x[i] - cx)
			r2[k] += meanFaceFit[k][i] * (y[i] - cy)
		}
	}
	n1, n2 := norm(r1), norm(r2)
	if !(n1 > 0 && n2 > 0) || math.IsInf(n1, 0) || math.IsInf(n2, 0) {
		return Pose{}, false
	}
	for k := range 3 {
		r1[k] /= n1
		r2[k] /= n2
	}
	// Orthonormalise symmetrically: split the rows' non-orthogonality
	// between them, then complete with the cross product.
	d := dot(r1, r2)
	a, b := r1, r2
	for k := range 3 {
		a[k] = r1[k] - d/2*r2[k]
		b[k] = r2[k] - d/2*r1[k]
	}
	na, nb := norm(a), norm(b)
	for k := range 3 {
		a[k] /= na
		b[k] /= nb
	}
	c := cross(a, b)
	// R rows: a (image x), b (image y, up), c (towards the camera).
	// R = Rz(roll) Ry(yaw) Rx(beta): R[2][0] = -sin(yaw), R[2][1] =
	// cos(yaw) sin(beta), R[2][2] = cos(yaw) cos(beta), R[1][0] =
	// sin(roll) cos(yaw), R[0][0] = cos(roll) cos(yaw).
	yaw := math.Asin(max(-1, min(1, -c[0])))
	beta := math.Atan2(c[1], c[2])
	roll := math.Atan2(b[0], a[0])
	const deg = 180 / math.Pi
	// Ry(yaw) with yaw > 0 moves the nose right; Rx(beta) with beta > 0
	// moves it down, so pitch (chin up) is -beta.
	return Pose{Yaw: yaw * deg, Pitch: -beta * deg, Roll: roll * deg}, true
}

func norm(v [3]float64) float64   { return math.Sqrt(dot(v, v)) }
func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// Quality holds measurements of the pixels in a face box.
type Quality struct {
	// Sharpness is the variance of the Laplacian (the 3x3 kernel 0 1 0,
	// 1 -4 1, 0 1 0, as OpenCV's Laplacian with ksize 1) of the grey
	// levels over the box's interior pixels; higher is sharper. Blurred
	// faces score below about 50 on 8-bit images, sharp ones in the
	// hundreds.
	Sharpness float64 `json:"sharpness"`
	// Brightness is the mean grey level (BT.601 luma, 0-255) in the box.
	Brightness float64 `json:"brightness"`
	// Size is the box's geometric mean side, sqrt(width*height), in
	// pixels.
	Size float64 `json:"size"`
}

// Measure returns the quality of face in img; the box is clipped to the
// image and rounded to whole pixels. A box with no pixel in the image (or
// not finite) gives zero sharpness and brightness.
func Measure(img image.Image, face cascade.Face) Quality {
	x1, y1, x2, y2 := float64(face.Box[0]), float64(face.Box[1]), float64(face.Box[2]), float64(face.Box[3])
	q := Quality{Size: math.Sqrt(math.Abs((x2 - x1) * (y2 - y1)))}
	if math.IsNaN(q.Size) || math.IsInf(q.Size, 0) {
		return Quality{}
	}
	b := img.Bounds()
	clip := func(v float64, hi int) int { return int(math.Round(max(0, min(v, float64(hi))))) }
	r := image.Rect(clip(x1, b.Dx()), clip(y1, b.Dy()), clip(x2, b.Dx()), clip(y2, b.Dy()))
	w, h := r.Dx(), r.Dy()
	if w == 0 || h == 0 {
		return q
	}
	if pix, stride, ok := lumaPlane(img, r.Add(b.Min)); ok {
		q.Brightness, q.Sharpness = measurePlane(pix, stride, w, h)
		return q
	}
	g := make([]float64, w*h)
	lumaRows(img, r.Add(b.Min), g)
	var sum float64
	for _, v := range g {
		sum += v
	}
	q.Brightness = sum / float64(len(g))
	if w < 3 || h < 3 {
		return q
	}
	var s, ss float64
	n := 0
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			l := g[i-1] + g[i+1] + g[i-w] + g[i+w] - 4*g[i]
			s += l
			ss += l * l
			n++
		}
	}
	mean := s / float64(n)
	q.Sharpness = ss/float64(n) - mean*mean
	return q
}

// lumaPlane returns the 8-bit luma plane of img from r.Min (absolute
// coordinates) on, and its stride, when img stores one: YCbCr's Y and
// Gray's pixels, which lumaRows copies unchanged.
func lumaPlane(img image.Image, r image.Rectangle) (pix []uint8, stride int, ok bool) {
	switch m := img.(type) {
	case *image.YCbCr:
		return m.Y[m.YOffset(r.Min.X, r.Min.Y):], m.YStride, true
	case *image.Gray:
		return m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride, true
	}
	return nil, 0, false
}

// measurePlane is Measure's arithmetic read straight from an 8-bit
// plane (w x h pixels, rows stride apart) instead of a float64 copy: the
// same sums in the same order, and each Laplacian, an integer, is exact
// either way, so the results are the same bit for bit, without a copy
// of 8 bytes per pixel of the box.
func measurePlane(pix []uint8, stride, w, h int) (brightness, sharpness float64) {
	var sum float64
	for y := range h {
		for _, v := range pix[y*stride:][:w] {
			sum += float64(v)
		}
	}
	brightness = sum / float64(w*h)
	if w < 3 || h < 3 {
		return brightness, 0
	}
	var s, ss float64
	n := 0
	for y := 1; y < h-1; y++ {
		up, mid, down := pix[(y-1)*stride:][:w], pix[y*stride:][:w], pix[(y+1)*stride:][:w]
		for x := 1; x < w-1; x++ {
			l := float64(int(mid[x-1]) + int(mid[x+1]) + int(up[x]) + int(down[x]) - 4*int(mid[x]))
			s += l
			ss += l * l
			n++
		}
	}
	mean := s / float64(n)
	return brightness, ss/float64(n) - mean*mean
}

// lumaRows writes the BT.601 luma of r's pixels (absolute coordinates)
// into g, row by row.
func lumaRows(img image.Image, r image.Rectangle, g []float64) {
	luma := func(R, G, B uint8) float64 { return 0.299*float64(R) + 0.587*float64(G) + 0.114*float64(B) }
	i := 0
	switch m := img.(type) {
	case *image.NRGBA:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			p := m.Pix[m.PixOffset(r.Min.X, y):]
			for x := 0; x < r.Dx(); x++ {
				g[i] = luma(p[4*x], p[4*x+1], p[4*x+2])
				i++
			}
		}
	case *image.RGBA:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			p := m.Pix[m.PixOffset(r.Min.X, y):]
			for x := 0; x < r.Dx(); x++ {
				g[i] = luma(p[4*x], p[4*x+1], p[4*x+2])
				i++
			}
		}
	case *image.Gray:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			p := m.Pix[m.PixOffset(r.Min.X, y):]
			for x := 0; x < r.Dx(); x++ {
				g[i] = float64(p[x])
				i++
			}
		}
	case *image.YCbCr:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				g[i] = float64(m.Y[m.YOffset(x, y)])
				i++
			}
		}
	default:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				g[i] = luma(c.R, c.G, c.B)
				i++
			}
		}
	}
}

// Record is a face with what the face-level tools know about it: its
// JSON form is the detector's {"box","score","landmarks"} followed by
// "rotation" (degrees the image was turned clockwise to find it; 0 without
// a rotation sweep), "pose" and "quality".
type Record struct {
	cascade.Face
	Rotation float64 `json:"rotation"`
	Pose     Pose    `json:"pose"`
	Quality  Quality `json:"quality"`
}

// Describe returns the records of faces in img, in order; rotations (nil
// for none) gives each face's rotation. A face whose pose cannot be
// estimated gets a zero Pose.
func Describe(img image.Image, faces []cascade.Face, rotations []float64) []Record {
	out := make([]Record, len(faces))
	for i, f := range faces {
		out[i].Face = f
		if i < len(rotations) {
			out[i].Rotation = rotations[i]
		}
		out[i].Pose, _ = EstimatePose(f)
		out[i].Pose = Pose{Yaw: round2(out[i].Pose.Yaw), Pitch: round2(out[i].Pose.Pitch), Roll: round2(out[i].Pose.Roll)}
		out[i].Quality = Measure(img, f)
		q := &out[i].Quality
		q.Sharpness, q.Brightness, q.Size = round2(q.Sharpness), round2(q.Brightness), round2(q.Size)
	}
	return out
}

// round2 keeps two decimals, which is all the measurements mean, so that
// the JSON stays short.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Filter selects faces. The zero value keeps every face in its order.
type Filter struct {
	// MinScore drops faces scoring below it.
	MinScore float32
	// MaxYaw, when positive, drops faces whose |yaw| (EstimatePose)
	// exceeds it, in degrees, and faces whose pose cannot be estimated.
	MaxYaw float64
	// Top, when positive, keeps the Top best-scoring faces, best first
	// (ties keep detection order).
	Top int
	// Largest keeps only the face with the largest box area (the first
	// such), as facenet-pytorch's select_largest does for one face.
	// It applies after MinScore and MaxYaw, and before Top.
	Largest bool
}

// Validate reports a filter out of range.
func (f Filter) Validate() error {
	switch {
	case f.MinScore != f.MinScore || f.MinScore < 0 || f.MinScore > 1:
		return fmt.Errorf("quality: min score %v is outside [0, 1]", f.MinScore)
	case !(f.MaxYaw >= 0 && f.MaxYaw <= 180):
		return fmt.Errorf("quality: max yaw %v is outside [0, 180]", f.MaxYaw)
	case f.Top < 0:
		return fmt.Errorf("quality: top %d is negative", f.Top)
	}
	return nil
}

// IsZero reports whether f keeps every face.
func (f Filter) IsZero() bool { return f == Filter{} }

// Select returns the indices of the faces f keeps, in output order.
func (f Filter) Select(faces []cascade.Face) []int {
	idx := make([]int, 0, len(faces))
	for i, fc := range faces {
		if fc.Score < f.MinScore {
			continue
		}
		if f.MaxYaw > 0 {
			p, ok := EstimatePose(fc)
			if !ok || math.Abs(p.Yaw) > f.MaxYaw {
				continue
			}
		}
		idx = append(idx, i)
	}
	if f.Largest && len(idx) > 0 {
		area := func(i int) float64 {
			b := faces[i].Box
			return float64(b[2]-b[0]) * float64(b[3]-b[1])
		}
		best := idx[0]
		for _, i := range idx[1:] {
			if area(i) > area(best) {
				best = i
			}
		}
		idx = []int{best}
	}
	if f.Top > 0 {
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(faces[b].Score, faces[a].Score) })
		if len(idx) > f.Top {
			idx = idx[:f.Top]
		}
	}
	return idx
}
