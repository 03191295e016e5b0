package video

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// readBounded reads every frame of src, checking the invariants every
// stream must keep: consecutive indices and an error that ends it.
func readBounded(t *testing.T, src Source) {
	for i := 0; ; i++ {
		f, err := src.Next()
		if err != nil {
			if _, again := src.Next(); !errors.Is(again, err) && !(errors.Is(err, io.EOF) && errors.Is(again, io.EOF)) {
				t.Fatalf("Next after %v gave %v", err, again)
			}
			return
		}
		if f.Index != i || f.Image == nil {
			t.Fatalf("frame %d: index %d, image %v", i, f.Index, f.Image)
		}
		if b := f.Image.Bounds(); int64(b.Dx())*int64(b.Dy()) > 1<<16 {
			t.Fatalf("frame %v over the limit", b)
		}
	}
}

func FuzzY4M(f *testing.F) {
	f.Add(handY4M("YUV4MPEG2 W3 H3 F25:1 C420jpeg", []int{9, 4, 4}, 2))
	f.Add(handY4M("YUV4MPEG2 W4 H2 C422", []int{8, 4, 4}, 1))
	f.Add(handY4M("YUV4MPEG2 W2 H2 Cmono", []int{4}, 3))
	f.Add(handY4M("YUV4MPEG2 W1 H1 C444 Ip A1:1 XFOO", []int{1, 1, 1}, 1))
	f.Add([]byte("YUV4MPEG2 W100000 H100000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewY4MReader(bytes.NewReader(data), Limits{MaxPixels: 1 << 16})
		if err != nil {
			return
		}
		readBounded(t, r)
	})
}

func FuzzMJPEG(f *testing.F) {
	a, b := testJPEG(f, 8, 8, 0), testJPEG(f, 12, 4, 1)
	f.Add(append(append([]byte{}, a...), b...))
	f.Add(multipartBody([][]byte{a, b}, "--x"))
	f.Add(a[:len(a)/2])
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0x00, 0xFF, 0xD0, 0xFF, 0xD9})
	f.Fuzz(func(t *testing.T, data []byte) {
		readBounded(t, NewMJPEGReader(bytes.NewReader(data), Limits{MaxPixels: 1 << 16, MaxFrameBytes: 1 << 16}))
	})
}
