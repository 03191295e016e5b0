package testenv

import "encoding/binary"

// JPEGWithMetadata returns jpg with, after its SOI marker, an EXIF block
// (orientation 6, that is turned 90 degrees clockwise, and a GPS IFD
// with GPSLatitudeRef "N"), an XMP packet holding "secret-xmp" and a
// comment "secret-comment": what tests of metadata removal look for.
func JPEGWithMetadata(jpg []byte) []byte {
	seg := func(marker byte, body []byte) []byte {
		b := []byte{0xFF, marker, 0, 0}
		binary.BigEndian.PutUint16(b[2:], uint16(len(body)+2))
		return append(b, body...)
	}
	// Big-endian TIFF: IFD0 at 8 with Orientation=6 and GPSInfo -> 38;
	// GPS IFD with GPSLatitudeRef "N".
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08")
	tiff = append(tiff, 0, 2,
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0,
		0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 30,
		0, 0, 0, 0)
	tiff = append(tiff, 0, 1, 0, 1, 0, 2, 0, 0, 0, 2, 'N', 0, 0, 0, 0, 0, 0, 0)
	out := append([]byte(nil), jpg[:2]...)
	out = append(out, seg(0xE1, append([]byte("Exif\x00\x00"), tiff...))...)
	out = append(out, seg(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>secret-xmp</x:xmpmeta>"))...)
	out = append(out, seg(0xFE, []byte("secret-comment"))...)
	return append(out, jpg[2:]...)
}
