package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Face is one labelled face: its box, x1, y1, x2, y2 in pixels (the
// top-left and bottom-right corners, as cascade.Face.Box), and optionally
// the five landmarks (left eye, right eye, nose, left and right mouth
// corners, x and y each).
type Face struct {
	Box       [4]float32
	Landmarks *[5][2]float32
}

// Image is one labelled photo: the path of its file and its faces. An
// image with no faces gives negative samples only.
type Image struct {
	Path  string
	Faces []Face
}

// Labels is what a label file holds, after the faces no photo can have
// were dropped.
type Labels struct {
	Images []Image
	// ZeroSize counts the boxes dropped because they have no area (or
	// non-finite coordinates).
	ZeroSize int
	// OtherClass counts the VOC objects whose class is not one of the
	// classes asked for.
	OtherClass int
}

// Format names a label file format.
type Format string

// The label formats ReadLabels reads.
const (
	// JSONL is the JSON lines "mtcnn detect -json" prints, one image per
	// line: {"image":PATH,"faces":[{"box":[x1,y1,x2,y2],"landmarks":[[x,y],...]}]};
	// "landmarks" may be absent or null, other fields are ignored. Detect,
	// correct the boxes by hand, and train on them.
	JSONL Format = "jsonl"
	// WIDER is WIDER FACE's wider_face_{train,val}_bbx_gt.txt: per image a
	// path line, a face count, and that many "x y w h blur expression
	// illumination invalid occlusion pose" lines (one all-zero line when
	// the count is 0). Faces marked invalid are dropped.
	WIDER Format = "wider"
	// VOC is a directory of Pascal VOC XML annotation files (one per
	// image; "filename" names the image, "object" elements with "name"
	// and "bndbox" the boxes), what most public masked-face sets ship.
	VOC Format = "voc"
)

// ErrLabels is wrapped by errors about a label file that cannot be read:
// missing, empty, or not in its format.
var ErrLabels = errors.New("bad label file")

// maxLine bounds a label line (a JSON line with hundreds of faces fits).
const maxLine = 4 << 20

// maxFaces bounds the faces of one image in a label file.
const maxFaces = 100_000

// ReadLabels reads the label file (or, for VOC, directory) at path in the
// given format. Image paths in it that are not absolute are taken relative
// to imagesDir. classes lists the VOC object classes that are faces
// (empty: every object); other formats ignore it. An empty file, or one
// with no image, is an error wrapping ErrLabels.
func ReadLabels(format Format, path, imagesDir string, classes []string) (*Labels, error) {
	var l *Labels
	var err error
	switch format {
	case JSONL, WIDER:
		var f *os.File
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLabels, err)
		}
		defer f.Close()
		if format == JSONL {
			l, err = ParseJSONL(f)
		} else {
			l, err = ParseWIDER(f)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case VOC:
		if l, err = readVOCDir(path, classes); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: unknown format %q (want jsonl, wider or voc)", ErrLabels, format)
	}
	if len(l.Images) == 0 {
		return nil, fmt.Errorf("%s: %w: no images", path, ErrLabels)
	}
	for i := range l.Images {
		if p := l.Images[i].Path; !filepath.IsAbs(p) && imagesDir != "" {
			l.Images[i].Path = filepath.Join(imagesDir, p)
		}
	}
	return l, nil
}

// addFace appends f to faces unless its box has no area or is not finite,
// counting it in l then.
func (l *Labels) addFace(faces []Face, f Face) []Face {
	for _, v := range f.Box {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			l.ZeroSize++
			return faces
		}
	}
	if !(f.Box[2] > f.Box[0] && f.Box[3] > f.Box[1]) {
		l.ZeroSize++
		return faces
	}
	if f.Landmarks != nil {
		for _, p := range f.Landmarks {
			if math.IsNaN(float64(p[0])) || math.IsInf(float64(p[0]), 0) || math.IsNaN(float64(p[1])) || math.IsInf(float64(p[1]), 0) {
				f.Landmarks = nil
				break
			}
		}
	}
	return append(faces, f)
}

// ParseJSONL parses JSON lines as "mtcnn detect -json" prints them (see
// JSONL). Blank lines are skipped.
func ParseJSONL(r io.Reader) (*Labels, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	l := &Labels{}
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var rec struct {
			Image string `json:"image"`
			Faces []struct {
				Box       []float32   `json:"box"`
				Landmarks [][]float32 `json:"landmarks"`
			} `json:"faces"`
		}
		if err := json.Unmarshal(text, &rec); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrLabels, line, err)
		}
		if rec.Image == "" {
			return nil, fmt.Errorf("%w: line %d: no \"image\"", ErrLabels, line)
		}
		if len(rec.Faces) > maxFaces {
			return nil, fmt.Errorf("%w: line %d: %d faces, at most %d", ErrLabels, line, len(rec.Faces), maxFaces)
		}
		img := Image{Path: rec.Image}
		for i, f := range rec.Faces {
			if len(f.Box) != 4 {
				return nil, fmt.Errorf("%w: line %d: face %d: \"box\" must be [x1,y1,x2,y2]", ErrLabels, line, i)
			}
			face := Face{Box: [4]float32(f.Box)}
			if f.Landmarks != nil {
				var lm [5][2]float32
				if len(f.Landmarks) != 5 {
					return nil, fmt.Errorf("%w: line %d: face %d: \"landmarks\" must be five [x,y] points", ErrLabels, line, i)
				}
				for p, xy := range f.Landmarks {
					if len(xy) != 2 {
						return nil, fmt.Errorf("%w: line %d: face %d: \"landmarks\" must be five [x,y] points", ErrLabels, line, i)
					}
					lm[p] = [2]float32(xy)
				}
				face.Landmarks = &lm
			}
			img.Faces = l.addFace(img.Faces, face)
		}
		l.Images = append(l.Images, img)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %w", ErrLabels, line+1, err)
	}
	return l, nil
}

// ParseWIDER parses WIDER FACE's ground-truth text format (see WIDER).
func ParseWIDER(r io.Reader) (*Labels, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	l := &Labels{}
	line := 0
	next := func() (string, bool) {
		for sc.Scan() {
			line++
			if t := strings.TrimSpace(sc.Text()); t != "" {
				return t, true
			}
		}
		return "", false
	}
	for {
		name, ok := next()
		if !ok {
			break
		}
		countLine, ok := next()
		if !ok {
			return nil, fmt.Errorf("%w: line %d: %q has no face count", ErrLabels, line, name)
		}
		n, err := strconv.Atoi(countLine)
		if err != nil || n < 0 || n > maxFaces {
			return nil, fmt.Errorf("%w: line %d: face count %q", ErrLabels, line, countLine)
		}
		rows := max(n, 1) // a count of 0 is followed by one all-zero row
		img := Image{Path: name}
		for i := 0; i < rows; i++ {
			row, ok := next()
			if !ok {
				return nil, fmt.Errorf("%w: line %d: %q lists %d faces, file ends after %d", ErrLabels, line, name, n, i)
			}
			fields := strings.Fields(row)
			if len(fields) < 4 {
				return nil, fmt.Errorf("%w: line %d: %q is not \"x y w h ...\"", ErrLabels, line, row)
			}
			var v [4]float32
			for j := range v {
				f, err := strconv.ParseFloat(fields[j], 32)
				if err != nil {
					return nil, fmt.Errorf("%w: line %d: %q is not a number", ErrLabels, line, fields[j])
				}
				v[j] = float32(f)
			}
			if n == 0 {
				continue
			}
			if len(fields) >= 8 && fields[7] == "1" { // marked invalid
				l.ZeroSize++
				continue
			}
			img.Faces = l.addFace(img.Faces, Face{Box: [4]float32{v[0], v[1], v[0] + v[2], v[1] + v[3]}})
		}
		l.Images = append(l.Images, img)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %w", ErrLabels, line+1, err)
	}
	return l, nil
}

// vocAnnotation is the part of a Pascal VOC annotation file read here.
type vocAnnotation struct {
	Filename string `xml:"filename"`
	Objects  []struct {
		Name   string `xml:"name"`
		BndBox struct {
			XMin string `xml:"xmin"`
			YMin string `xml:"ymin"`
			XMax string `xml:"xmax"`
			YMax string `xml:"ymax"`
		} `xml:"bndbox"`
	} `xml:"object"`
}

// ParseVOC parses one Pascal VOC annotation file, keeping the objects of
// the given classes (all when classes is empty; compared without regard to
// case) as faces, and adds its image to l. VOC pixel coordinates are
// 1-based and inclusive; they are used as given.
func (l *Labels) ParseVOC(r io.Reader, classes []string) error {
	var a vocAnnotation
	d := xml.NewDecoder(io.LimitReader(r, maxLine))
	if err := d.Decode(&a); err != nil {
		return fmt.Errorf("%w: %w", ErrLabels, err)
	}
	if strings.TrimSpace(a.Filename) == "" {
		return fmt.Errorf("%w: no <filename>", ErrLabels)
	}
	img := Image{Path: strings.TrimSpace(a.Filename)}
	for _, o := range a.Objects {
		if len(classes) > 0 && !slices.ContainsFunc(classes, func(c string) bool { return strings.EqualFold(c, strings.TrimSpace(o.Name)) }) {
			l.OtherClass++
			continue
		}
		var v [4]float32
		for j, s := range []string{o.BndBox.XMin, o.BndBox.YMin, o.BndBox.XMax, o.BndBox.YMax} {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
			if err != nil {
				return fmt.Errorf("%w: object %q: coordinate %q is not a number", ErrLabels, o.Name, s)
			}
			v[j] = float32(f)
		}
		if len(img.Faces) >= maxFaces {
			return fmt.Errorf("%w: more than %d objects", ErrLabels, maxFaces)
		}
		img.Faces = l.addFace(img.Faces, Face{Box: v})
	}
	l.Images = append(l.Images, img)
	return nil
}

// readVOCDir reads every .xml file of dir, in name order.
func readVOCDir(dir string, classes []string) (*Labels, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLabels, err)
	}
	l := &Labels{}
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".xml") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLabels, err)
		}
		err = l.ParseVOC(f, classes)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return l, nil
}
