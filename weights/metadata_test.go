package weights

import (
	"bytes"
	"errors"
	"maps"
	"testing"
)

// TestMetadataRoundTrip checks that metadata survives a round trip, that
// a model without any writes exactly the embedded bytes, and that the
// weights part of a file with metadata is the file without it.
func TestMetadataRoundTrip(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain, Embedded()) {
		t.Fatal("the default model, re-encoded, differs from the embedded bytes")
	}
	if m.Metadata() != nil {
		t.Errorf("embedded model has metadata %v", m.Metadata())
	}
	meta := map[string]string{"base": "embedded", "seed": "1", "data": "x \u00e9\n\"quoted\""}
	withMeta := m.WithMetadata(meta)
	data, err := withMeta.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, plain) || !bytes.HasSuffix(data, []byte(MetaMagic)) {
		t.Fatal("metadata file does not start with the plain file and end with MetaMagic")
	}
	back, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(back.Metadata(), meta) {
		t.Errorf("metadata %v, want %v", back.Metadata(), meta)
	}
	if back.Tensor("onet/conv6-3/biases").Data[3] != m.Tensor("onet/conv6-3/biases").Data[3] {
		t.Error("weights changed")
	}
	if again, _ := back.MarshalBinary(); !bytes.Equal(again, data) {
		t.Error("re-encoding a decoded file with metadata changes its bytes")
	}
	// Every truncation, and a flipped byte in the section, is an error.
	for n := len(plain) + 1; n < len(data); n++ {
		if _, err := Decode(data[:n]); err == nil {
			t.Fatalf("prefix of %d bytes decoded", n)
		}
	}
	bad := bytes.Clone(data)
	bad[len(plain)+2] ^= 1
	if _, err := Decode(bad); !errors.Is(err, ErrFormat) {
		t.Errorf("corrupt metadata: %v, want ErrFormat", err)
	}
}
