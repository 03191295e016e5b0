package imageio

import (
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
)

// JPEGQuality is the quality Encode writes JPEG at.
const JPEGQuality = 95

// OutputFormat returns the format Encode writes for an input decoded as
// format: "jpeg" for JPEG, "png" for everything else (Go has no GIF
// encoder without palette loss, nor a WebP encoder).
func OutputFormat(format string) string {
	if format == "jpeg" {
		return "jpeg"
	}
	return "png"
}

// Encode writes img to w in OutputFormat(format) and returns that format.
// Go's encoders write pixels only, so the output carries no metadata at
// all: no EXIF (nor its GPS block or orientation, which Decode has
// already applied to the pixels), XMP, ICC profile, comments or text
// chunks.
func Encode(w io.Writer, img image.Image, format string) (string, error) {
	out := OutputFormat(format)
	var err error
	if out == "jpeg" {
		err = jpeg.Encode(w, img, &jpeg.Options{Quality: JPEGQuality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(w, img)
	}
	if err != nil {
		return "", fmt.Errorf("imageio: encoding %s: %w", out, err)
	}
	return out, nil
}
