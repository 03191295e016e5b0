//go:build !noheif && !wasm

package imageio

import (
	"bytes"
	"image"
	"io"

	"github.com/gen2brain/avif"
	"github.com/gen2brain/heic"
)

// HEIC (HEVC in HEIF, phones' photos) and AVIF (AV1 in HEIF) are decoded by
// libheif/libde265 and libavif/dav1d compiled to WebAssembly and run by
// wazero inside the process: no cgo. The packages register "heic" (brand
// heic) and "avif" (brands avif, avis) with image.Decode themselves; this
// file adds the other brands phones and encoders write, and the
// orientation that AVIF decoding leaves to the caller.
//
// Cost when no HEIF file is decoded: the decoders compile their
// WebAssembly module on first use only (sync.Once inside the packages),
// so a run over JPEGs pays nothing but the binary size. Build with
// -tags noheif to leave them out (heif_off.go). Release builds use
// -tags nodynamic (internal/release.BuildTags) so that the packages never
// dlopen a system libheif/libavif and the binary stays static.
//
// Orientation: HEIF stores it as irot (rotation) and imir (mirror) item
// properties, which take precedence over any EXIF orientation in the file
// (the HEIF standard says to ignore EXIF's). libheif applies them while
// decoding; libavif does not, so orientISOBMFF applies them to AVIF
// images.

func init() {
	// HEVC brands (ISO/IEC 23008-12): images, image sequences, multi-layer.
	for _, brand := range []string{"heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"} {
		image.RegisterFormat("heic", "????ftyp"+brand, heic.Decode, heic.DecodeConfig)
	}
	// The generic brands name no codec: the compatible brands decide.
	for _, brand := range []string{"mif1", "msf1"} {
		image.RegisterFormat("heif", "????ftyp"+brand, decodeHEIF, decodeHEIFConfig)
	}
	orienters["avif"] = orientISOBMFF
	orienters["heif"] = func(data []byte, img image.Image) image.Image {
		if isAVIF(data) {
			return orientISOBMFF(data, img)
		}
		return img
	}
}

// isAVIF reports whether an ISOBMFF file's ftyp box lists the avif or
// avis brand (major or compatible).
func isAVIF(data []byte) bool {
	for _, b := range ftypBrands(data) {
		if b == "avif" || b == "avis" {
			return true
		}
	}
	return false
}

// decodeHEIF decodes a file of a generic HEIF brand with the AVIF decoder
// when it lists an AVIF brand, else with the HEIC one.
func decodeHEIF(r io.Reader) (image.Image, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if isAVIF(data) {
		return avif.Decode(bytes.NewReader(data))
	}
	return heic.Decode(bytes.NewReader(data))
}

func decodeHEIFConfig(r io.Reader) (image.Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return image.Config{}, err
	}
	if isAVIF(data) {
		return avif.DecodeConfig(bytes.NewReader(data))
	}
	return heic.DecodeConfig(bytes.NewReader(data))
}
