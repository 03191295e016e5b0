package orient_test

import (
	"context"
	"image"
	"image/draw"
	"testing"

	"github.com/mtcnn-go/mtcnn/align"
	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/orient"
	"github.com/mtcnn-go/mtcnn/quality"
)

// BenchmarkFaces measures the face-level tools on solvay.png beside a
// plain detection in the same run, for the README's ratios: "detect" is
// the plain detection, "rotate-auto" the four-rotation sweep, "crop" one
// aligned 112x112 crop, "crops" all 29, "anonymize" hiding all 29 faces
// (blur, in place, on a fresh copy), "describe" pose and quality of all.
func BenchmarkFaces(b *testing.B) {
	img := photo(b, "solvay.png")
	d := detector(b)
	ctx := context.Background()
	faces, err := d.Detect(ctx, img, cascade.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	bounds := img.Bounds()
	src := image.NewNRGBA(bounds)
	draw.Draw(src, bounds, img, bounds.Min, draw.Src)
	work := image.NewNRGBA(bounds)
	b.Run("detect", func(b *testing.B) {
		for range b.N {
			if _, err := d.Detect(ctx, img, cascade.DefaultOptions()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rotate-auto", func(b *testing.B) {
		for range b.N {
			if _, _, _, err := orient.Detect(ctx, d, img, cascade.DefaultOptions(), orient.Auto); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crop", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := align.Crop(src, faces[0], align.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crops", func(b *testing.B) {
		for range b.N {
			if _, err := align.Crops(src, faces, align.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("anonymize", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			copy(work.Pix, src.Pix)
			if err := anonymize.Apply(work, faces, anonymize.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("describe", func(b *testing.B) {
		for range b.N {
			quality.Describe(src, faces, nil)
		}
	})
}
