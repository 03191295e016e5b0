//go:build !noheif && !wasm

package imageio

import (
	"encoding/binary"
	"image"
)

// This file reads what orientation needs from ISOBMFF (HEIF, AVIF)
// containers: the ftyp brands, the primary item (pitm) and the
// transformative properties (irot, imir) associated with it (iprp: ipco
// and ipma). Every read is bounds-checked; malformed input gives "no
// transform", never a panic.

// box is one ISOBMFF box: its type and payload.
type box struct {
	typ  string
	body []byte
}

// boxes splits data into consecutive boxes, stopping at the first
// malformed one.
func boxes(data []byte) []box {
	var out []box
	for len(data) >= 8 {
		size := uint64(binary.BigEndian.Uint32(data))
		typ := string(data[4:8])
		hdr := uint64(8)
		switch size {
		case 0: // to the end
			size = uint64(len(data))
		case 1: // 64-bit size
			if len(data) < 16 {
				return out
			}
			size, hdr = binary.BigEndian.Uint64(data[8:]), 16
		}
		if size < hdr || size > uint64(len(data)) {
			return out
		}
		out = append(out, box{typ: typ, body: data[hdr:size]})
		data = data[size:]
	}
	return out
}

// child returns the first box of type typ among data's boxes.
func child(data []byte, typ string) ([]byte, bool) {
	for _, b := range boxes(data) {
		if b.typ == typ {
			return b.body, true
		}
	}
	return nil, false
}

// ftypBrands returns the major and compatible brands of the leading ftyp
// box.
func ftypBrands(data []byte) []string {
	bs := boxes(data)
	if len(bs) == 0 || bs[0].typ != "ftyp" || len(bs[0].body) < 8 {
		return nil
	}
	b := bs[0].body
	brands := []string{string(b[:4])}
	for i := 8; i+4 <= len(b); i += 4 {
		brands = append(brands, string(b[i:i+4]))
	}
	return brands
}

// transform is one transformative property: an irot angle (quarter turns
// anticlockwise) or an imir mirror.
type transform struct {
	rotate int  // irot: 0-3
	mirror int  // imir: 0 top-to-bottom (about a horizontal axis), 1 left-to-right
	isRot  bool // irot rather than imir
}

// primaryTransforms returns the irot and imir properties of the primary
// item of an ISOBMFF file, in their association order (the order they
// apply in).
func primaryTransforms(data []byte) []transform {
	var meta []byte
	for _, b := range boxes(data) {
		if b.typ == "meta" {
			meta = b.body
			break
		}
	}
	if len(meta) < 4 {
		return nil
	}
	meta = meta[4:] // FullBox version and flags
	pitm, ok := child(meta, "pitm")
	if !ok || len(pitm) < 6 {
		return nil
	}
	var primary uint32
	if pitm[0] == 0 {
		primary = uint32(binary.BigEndian.Uint16(pitm[4:]))
	} else {
		if len(pitm) < 8 {
			return nil
		}
		primary = binary.BigEndian.Uint32(pitm[4:])
	}
	iprp, ok := child(meta, "iprp")
	if !ok {
		return nil
	}
	ipcoBody, ok := child(iprp, "ipco")
	if !ok {
		return nil
	}
	props := boxes(ipcoBody)
	ipma, ok := child(iprp, "ipma")
	if !ok || len(ipma) < 8 {
		return nil
	}
	version, flags := ipma[0], ipma[3]
	n := binary.BigEndian.Uint32(ipma[4:])
	p := ipma[8:]
	for range n {
		var id uint32
		if version < 1 {
			if len(p) < 2 {
				return nil
			}
			id, p = uint32(binary.BigEndian.Uint16(p)), p[2:]
		} else {
			if len(p) < 4 {
				return nil
			}
			id, p = binary.BigEndian.Uint32(p), p[4:]
		}
		if len(p) < 1 {
			return nil
		}
		count := int(p[0])
		p = p[1:]
		var ts []transform
		for range count {
			var idx int
			if flags&1 != 0 {
				if len(p) < 2 {
					return nil
				}
				idx, p = int(binary.BigEndian.Uint16(p)&0x7fff), p[2:]
			} else {
				if len(p) < 1 {
					return nil
				}
				idx, p = int(p[0]&0x7f), p[1:]
			}
			if id != primary || idx < 1 || idx > len(props) {
				continue // 0 means no property
			}
			switch pr := props[idx-1]; pr.typ {
			case "irot":
				if len(pr.body) >= 1 {
					ts = append(ts, transform{rotate: int(pr.body[0] & 3), isRot: true})
				}
			case "imir":
				if len(pr.body) >= 1 {
					ts = append(ts, transform{mirror: int(pr.body[0] & 1)})
				}
			}
		}
		if id == primary {
			return ts
		}
	}
	return nil
}

// orientISOBMFF applies the primary item's irot and imir to img, as the
// HEIF standard orders: each in its association order.
func orientISOBMFF(data []byte, img image.Image) image.Image {
	for _, t := range primaryTransforms(data) {
		img = Orient(img, t.exif())
	}
	return img
}

// exif is the EXIF orientation value that performs the transform.
func (t transform) exif() int {
	if t.isRot {
		// irot turns anticlockwise; EXIF names the clockwise turn that
		// displays the image upright.
		return [4]int{1, 8, 3, 6}[t.rotate]
	}
	if t.mirror == 0 {
		return 4 // top-to-bottom: flip vertically
	}
	return 2 // left-to-right: flip horizontally
}
