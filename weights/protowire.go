package weights

import (
	"errors"
	"fmt"
	"math"
)

// errTruncated reports a protobuf message that ends inside a field.
var errTruncated = errors.New("truncated protobuf data")

// wireType is the 3-bit protobuf wire type of a field key.
type wireType uint8

const (
	wireVarint  wireType = 0
	wireFixed64 wireType = 1
	wireBytes   wireType = 2
	wireFixed32 wireType = 5
)

// protoReader walks the fields of one protobuf message. It never slices past
// the end of its buffer: every length is checked before use, so a corrupt or
// hostile file yields an error rather than a panic.
type protoReader struct {
	buf []byte
	off int
}

// field is one decoded field: its number, wire type and payload. For varint
// and fixed fields the value is in u; for length-delimited fields in b.
type field struct {
	num  int
	typ  wireType
	u    uint64
	data []byte
}

func (r *protoReader) done() bool { return r.off >= len(r.buf) }

func (r *protoReader) varint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.off >= len(r.buf) {
			return 0, errTruncated
		}
		c := r.buf[r.off]
		r.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("varint overflows 64 bits")
}

// next decodes the next field of the message.
func (r *protoReader) next() (field, error) {
	key, err := r.varint()
	if err != nil {
		return field{}, err
	}
	f := field{num: int(key >> 3), typ: wireType(key & 7)}
	if key>>3 == 0 || key>>3 > math.MaxInt32 {
		return field{}, fmt.Errorf("invalid protobuf field number %d", key>>3)
	}
	switch f.typ {
	case wireVarint:
		f.u, err = r.varint()
		return f, err
	case wireFixed64:
		if len(r.buf)-r.off < 8 {
			return field{}, errTruncated
		}
		b := r.buf[r.off:]
		f.u = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		r.off += 8
		return f, nil
	case wireFixed32:
		if len(r.buf)-r.off < 4 {
			return field{}, errTruncated
		}
		b := r.buf[r.off:]
		f.u = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24
		r.off += 4
		return f, nil
	case wireBytes:
		n, err := r.varint()
		if err != nil {
			return field{}, err
		}
		if n > uint64(len(r.buf)-r.off) {
			return field{}, errTruncated
		}
		f.data = r.buf[r.off : r.off+int(n)]
		r.off += int(n)
		return f, nil
	default:
		return field{}, fmt.Errorf("unsupported protobuf wire type %d (field %d)", f.typ, f.num)
	}
}

// eachField calls fn for every field of msg, stopping at the first error.
func eachField(msg []byte, fn func(f field) error) error {
	r := protoReader{buf: msg}
	for !r.done() {
		f, err := r.next()
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}
