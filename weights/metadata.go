package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"maps"
)

// The optional metadata section: a trained model records where it came
// from (base model, data, seed, epochs) in a section appended after the
// weights, so that a file without one (the embedded model, every file
// "mtcnn convert" writes) keeps exactly its bytes, and the weights part of
// a file with one is such a file. The section is
//
//	JSON object of string values | uint32 its length | uint32 its CRC-32 | MetaMagic
//
// read from the end: a file ending in MetaMagic has one.

// MetaMagic ends a weights file that carries a metadata section.
const MetaMagic = "MTCNNM\x00\x01"

// maxMeta bounds the metadata section.
const maxMeta = 1 << 20

// Metadata returns a copy of the model's metadata (nil when it has none).
func (m *Model) Metadata() map[string]string { return maps.Clone(m.meta) }

// WithMetadata returns a model with m's weights (shared, not copied) and
// the given metadata, which MarshalBinary writes in the optional metadata
// section. Nil or empty metadata gives a model written without one.
func (m *Model) WithMetadata(meta map[string]string) *Model {
	out := &Model{tensors: m.tensors}
	if len(meta) > 0 {
		out.meta = maps.Clone(meta)
	}
	return out
}

// appendMeta appends the metadata section of meta to b (nothing when meta
// is empty).
func appendMeta(b []byte, meta map[string]string) ([]byte, error) {
	if len(meta) == 0 {
		return b, nil
	}
	js, err := json.Marshal(meta) // keys sorted: the bytes depend only on the content
	if err != nil {
		return nil, err
	}
	if len(js) > maxMeta {
		return nil, fmt.Errorf("%w: metadata of %d bytes, at most %d", ErrFormat, len(js), maxMeta)
	}
	b = append(b, js...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(js)))
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(js))
	return append(b, MetaMagic...), nil
}

// splitMeta splits a file into its weights part and its metadata.
func splitMeta(data []byte) ([]byte, map[string]string, error) {
	if !bytes.HasSuffix(data, []byte(MetaMagic)) {
		return data, nil, nil
	}
	rest := data[:len(data)-len(MetaMagic)]
	if len(rest) < 8 {
		return nil, nil, fmt.Errorf("%w: truncated metadata section", ErrFormat)
	}
	n := binary.LittleEndian.Uint32(rest[len(rest)-8:])
	sum := binary.LittleEndian.Uint32(rest[len(rest)-4:])
	rest = rest[:len(rest)-8]
	if n > maxMeta || int(n) > len(rest) {
		return nil, nil, fmt.Errorf("%w: metadata section of %d bytes in %d", ErrFormat, n, len(rest))
	}
	js := rest[len(rest)-int(n):]
	if crc32.ChecksumIEEE(js) != sum {
		return nil, nil, fmt.Errorf("%w: metadata checksum mismatch", ErrFormat)
	}
	var meta map[string]string
	if err := json.Unmarshal(js, &meta); err != nil {
		return nil, nil, fmt.Errorf("%w: metadata: %w", ErrFormat, err)
	}
	return rest[:len(rest)-int(n)], meta, nil
}
