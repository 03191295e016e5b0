package video

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/png"
	"io"
	"os"
	"testing"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// sliceSource yields the same frames again and again, n in all.
type sliceSource struct {
	frames []image.Image
	i, n   int
}

func (s *sliceSource) Next() (*Frame, error) {
	if s.i == s.n {
		return nil, io.EOF
	}
	f := &Frame{Index: s.i, Image: s.frames[s.i%len(s.frames)]}
	s.i++
	return f, nil
}

// benchFrames returns 640x480 4:2:0 frames of the astronaut panning.
func benchFrames(b *testing.B) []image.Image {
	f, err := os.Open("../testdata/astronaut.png")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	astro, _, err := image.Decode(f)
	if err != nil {
		b.Fatal(err)
	}
	var out []image.Image
	for i := range 8 {
		m := image.NewNRGBA(image.Rect(0, 0, 640, 480))
		draw.Draw(m, m.Bounds(), image.NewUniform(color.Gray{Y: 100}), image.Point{}, draw.Src)
		draw.Draw(m, image.Rect(8*i, 0, 8*i+512, 480), astro, image.Pt(0, 16), draw.Src)
		out = append(out, toYCbCr(m, image.YCbCrSubsampleRatio420))
	}
	return out
}

// BenchmarkFaces runs the whole pipeline (full detection at min size 40 on
// every 640x480 frame, tracking) with 1 to 3 frames at once; one op is one
// frame.
func BenchmarkFaces(b *testing.B) {
	det, err := cascade.NewDefault()
	if err != nil {
		b.Fatal(err)
	}
	frames := benchFrames(b)
	for _, workers := range []int{1, 2, 3} {
		for _, every := range []int{1, 5} {
			b.Run(fmt.Sprintf("workers=%d/every=%d", workers, every), func(b *testing.B) {
				b.ReportAllocs()
				src := &sliceSource{frames: frames, n: b.N}
				err := Faces(context.Background(), src, det, FacesOptions{
					Detect: cascade.Options{MinSize: 40}, Every: every, Process: ProcessOptions{Workers: workers},
				}, func(*Frame, Result) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
