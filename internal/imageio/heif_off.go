//go:build noheif || wasm

package imageio

import (
	"fmt"
	"image"
	"io"
)

// With -tags noheif the HEIC and AVIF decoders (and their WebAssembly
// modules, 4.2 MB of a stripped linux/amd64 binary) are left out. Their files are still
// recognised by content, so they fail with one clear error, wrapping
// ErrNotBuilt and ErrUnsupported, instead of "unknown format".
//
// WebAssembly builds (GOARCH=wasm) always leave them out: there the
// decoders' own WebAssembly would run in wazero's interpreter inside the
// module, and linking wazero makes the modules 6 MB larger and slower to
// start (about 60 ms more CPU per run of the lean WASI module under Node).

func init() {
	for _, brand := range []string{"heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs", "mif1", "msf1", "avif", "avis"} {
		image.RegisterFormat("heif", "????ftyp"+brand, heifNotBuilt, heifConfigNotBuilt)
	}
}

func heifNotBuilt(io.Reader) (image.Image, error) {
	return nil, fmt.Errorf("HEIC/AVIF: %w (built with -tags noheif, or for WebAssembly)", ErrNotBuilt)
}

func heifConfigNotBuilt(io.Reader) (image.Config, error) {
	return image.Config{}, fmt.Errorf("HEIC/AVIF: %w (built with -tags noheif, or for WebAssembly)", ErrNotBuilt)
}
