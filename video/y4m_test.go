package video

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"runtime"
	"strings"
	"testing"
)

// planeBytes returns n bytes of a pattern that differs per plane and frame.
func planeBytes(n, plane, frame int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + plane*50 + frame*13)
	}
	return b
}

// handY4M builds a y4m stream by hand (not with Y4MWriter): the header
// line, then per frame "FRAME\n" and the planes of sizes sizes.
func handY4M(header string, sizes []int, frames int) []byte {
	var b bytes.Buffer
	b.WriteString(header + "\n")
	for f := range frames {
		b.WriteString("FRAME\n")
		for p, n := range sizes {
			b.Write(planeBytes(n, p, f))
		}
	}
	return b.Bytes()
}

// readAll reads every frame of a y4m stream, returning the frames read
// and the error that ended them (nil at a clean end).
func readAllFrames(src Source) ([]*Frame, error) {
	var out []*Frame
	for {
		f, err := src.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
}

func TestY4MLayouts(t *testing.T) {
	for _, tc := range []struct {
		csp        string // C parameter, "" for none
		ratio      image.YCbCrSubsampleRatio
		mono       bool
		cw, ch     func(w, h int) (int, int)
		wantHeader Colorspace
	}{
		{csp: "", ratio: image.YCbCrSubsampleRatio420, wantHeader: C420jpeg},
		{csp: "420jpeg", ratio: image.YCbCrSubsampleRatio420, wantHeader: C420jpeg},
		{csp: "420paldv", ratio: image.YCbCrSubsampleRatio420, wantHeader: C420paldv},
		{csp: "420mpeg2", ratio: image.YCbCrSubsampleRatio420, wantHeader: C420mpeg2},
		{csp: "420", ratio: image.YCbCrSubsampleRatio420, wantHeader: C420},
		{csp: "422", ratio: image.YCbCrSubsampleRatio422, wantHeader: C422},
		{csp: "444", ratio: image.YCbCrSubsampleRatio444, wantHeader: C444},
		{csp: "mono", mono: true, wantHeader: CMono},
	} {
		for _, size := range [][2]int{{1, 1}, {7, 5}, {8, 6}, {33, 17}, {64, 3}} {
			w, h := size[0], size[1]
			name := fmt.Sprintf("C%s/%dx%d", tc.csp, w, h)
			t.Run(name, func(t *testing.T) {
				cw, ch := (w+1)/2, (h+1)/2
				switch tc.ratio {
				case image.YCbCrSubsampleRatio422:
					ch = h
				case image.YCbCrSubsampleRatio444:
					cw, ch = w, h
				}
				sizes := []int{w * h, cw * ch, cw * ch}
				if tc.mono {
					sizes = sizes[:1]
				}
				hdr := fmt.Sprintf("YUV4MPEG2 W%d H%d F30000:1001 Ip A1:1", w, h)
				if tc.csp != "" {
					hdr += " C" + tc.csp
				}
				hdr += " XYSCSS=420JPEG"
				data := handY4M(hdr, sizes, 3)
				r, err := NewY4MReader(bytes.NewReader(data), Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if got := r.Header().Colorspace; got != tc.wantHeader {
					t.Errorf("colorspace %q, want %q", got, tc.wantHeader)
				}
				if got := r.Header().FrameSize(); got != int64(sizes[0]+len(sizes[1:])*cw*ch) {
					t.Errorf("FrameSize %d", got)
				}
				frames, err := readAllFrames(r)
				if err != nil {
					t.Fatal(err)
				}
				if len(frames) != 3 {
					t.Fatalf("%d frames, want 3", len(frames))
				}
				for i, f := range frames {
					if f.Index != i {
						t.Errorf("frame %d has index %d", i, f.Index)
					}
					if want := float64(i) * 1001 / 30000; f.Time != want {
						t.Errorf("frame %d time %v, want %v", i, f.Time, want)
					}
					checkPlanes(t, f.Image, tc.mono, tc.ratio, w, h, sizes, i)
				}
				// Writing the frames back gives the same bytes, except
				// that the header is normalised (I and C always given).
				var out bytes.Buffer
				wr, err := NewY4MWriter(&out, r.Header())
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range frames {
					if err := wr.Write(f.Image); err != nil {
						t.Fatal(err)
					}
				}
				if err := wr.Flush(); err != nil {
					t.Fatal(err)
				}
				_, body, _ := bytes.Cut(data, []byte("\n"))
				gotHdr, gotBody, _ := bytes.Cut(out.Bytes(), []byte("\n"))
				if !bytes.Equal(gotBody, body) {
					t.Errorf("written frames differ from the input's")
				}
				if want := fmt.Sprintf("YUV4MPEG2 W%d H%d F30000:1001 Ip A1:1 C%s XYSCSS=420JPEG", w, h, tc.wantHeader); string(gotHdr) != want {
					t.Errorf("header %q, want %q", gotHdr, want)
				}
			})
		}
	}
}

func checkPlanes(t *testing.T, img image.Image, mono bool, ratio image.YCbCrSubsampleRatio, w, h int, sizes []int, frame int) {
	t.Helper()
	if b := img.Bounds(); b != image.Rect(0, 0, w, h) {
		t.Fatalf("bounds %v", b)
	}
	if mono {
		g, ok := img.(*image.Gray)
		if !ok {
			t.Fatalf("mono frame is %T", img)
		}
		if !bytes.Equal(g.Pix, planeBytes(sizes[0], 0, frame)) {
			t.Errorf("frame %d: Y plane differs", frame)
		}
		return
	}
	m, ok := img.(*image.YCbCr)
	if !ok {
		t.Fatalf("frame is %T", img)
	}
	if m.SubsampleRatio != ratio {
		t.Fatalf("ratio %v, want %v", m.SubsampleRatio, ratio)
	}
	if m.YStride != w || len(m.Y) != sizes[0] || len(m.Cb) != sizes[1] {
		t.Fatalf("plane layout: stride %d, %d/%d bytes", m.YStride, len(m.Y), len(m.Cb))
	}
	for p, pl := range [][]byte{m.Y, m.Cb, m.Cr} {
		if !bytes.Equal(pl, planeBytes(sizes[p], p, frame)) {
			t.Errorf("frame %d: plane %d differs", frame, p)
		}
	}
}

func TestY4MTruncatedLastFrame(t *testing.T) {
	data := handY4M("YUV4MPEG2 W7 H5 F25:1 C420jpeg", []int{35, 12, 12}, 3)
	for _, cut := range []int{1, 10, 30, 58, 59, len("FRAME\n") + 59 - 1} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			r, err := NewY4MReader(bytes.NewReader(data[:len(data)-cut]), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			frames, err := readAllFrames(r)
			if len(frames) != 2 {
				t.Errorf("%d frames before the cut, want 2", len(frames))
			}
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("error %v, want ErrTruncated", err)
			}
			if !strings.Contains(err.Error(), "frame 2") {
				t.Errorf("error %q does not name frame 2", err)
			}
			if _, again := r.Next(); !errors.Is(again, ErrTruncated) {
				t.Errorf("Next after the error: %v", again)
			}
		})
	}
}

func TestY4MBadFrameMarker(t *testing.T) {
	data := handY4M("YUV4MPEG2 W4 H2 C444", []int{8, 8, 8}, 2)
	data = append(data, "GARBAGE\n"...)
	r, err := NewY4MReader(bytes.NewReader(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	frames, err := readAllFrames(r)
	if len(frames) != 2 || !errors.Is(err, ErrFormat) {
		t.Fatalf("%d frames, error %v; want 2 and ErrFormat", len(frames), err)
	}
}

func TestY4MBadHeaders(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
		msg  string
	}{
		{"", ErrFormat, "empty"},
		{"\x89PNG\r\n\x1a\n", ErrFormat, "not a YUV4MPEG2"},
		{"YUV4MPEG2 W10\n", ErrFormat, "without W and H"},
		{"YUV4MPEG2 W0 H10\n", ErrFormat, "width"},
		{"YUV4MPEG2 W-4 H10\n", ErrFormat, "width"},
		{"YUV4MPEG2 Wx H10\n", ErrFormat, "width"},
		{"YUV4MPEG2 W10 H10 F0:0\n", ErrFormat, "frame rate"},
		{"YUV4MPEG2 W10 H10 A1\n", ErrFormat, "aspect"},
		{"YUV4MPEG2 W10 H10 It\n", ErrInterlaced, "interlaced"},
		{"YUV4MPEG2 W10 H10 Ib\n", ErrInterlaced, "deinterlace"},
		{"YUV4MPEG2 W10 H10 Im\n", ErrInterlaced, "interlaced"},
		{"YUV4MPEG2 W10 H10 Iz\n", ErrFormat, "interlacing"},
		{"YUV4MPEG2 W10 H10 C411\n", ErrUnsupported, "colorspace \"411\""},
		{"YUV4MPEG2 W10 H10 C420p10\n", ErrUnsupported, "420p10"},
		{"YUV4MPEG2 W100000 H100000\n", ErrTooLarge, "100000x100000"},
		{"YUV4MPEG2 W10 H10", ErrFormat, "header"},
		{"YUV4MPEG2 W10 H10 X" + strings.Repeat("a", 5000) + "\n", ErrFormat, "longer than"},
	} {
		_, err := NewY4MReader(strings.NewReader(tc.in), Limits{})
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%.30q: error %v, want %v mentioning %q", tc.in, err, tc.want, tc.msg)
		}
	}
}

// A header announcing a huge frame is refused before anything that size is
// allocated.
func TestY4MHugeHeaderAllocatesNothing(t *testing.T) {
	in := "YUV4MPEG2 W100000 H100000 F25:1 C444\nFRAME\n" + strings.Repeat("x", 100)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := NewY4MReader(strings.NewReader(in), Limits{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("allocated %d bytes refusing the header", d)
	}
	// A smaller limit applies too.
	if _, err := NewY4MReader(strings.NewReader("YUV4MPEG2 W640 H480\n"), Limits{MaxPixels: 1000}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxPixels 1000: %v", err)
	}
}

func TestY4MWriterConverts(t *testing.T) {
	// An RGBA frame written to a 4:2:0 stream reads back with the
	// colours image/color gives it.
	src := image.NewNRGBA(image.Rect(10, 10, 13, 12))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 37)
	}
	for _, csp := range []Colorspace{C420mpeg2, C422, C444, CMono} {
		var b bytes.Buffer
		w, err := NewY4MWriter(&b, Header{Width: 3, Height: 2, Colorspace: csp})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(src); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(image.NewGray(image.Rect(0, 0, 4, 2))); err == nil {
			t.Errorf("%s: a frame of the wrong size was written", csp)
		}
		w.Flush()
		r, err := NewY4MReader(&b, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		frames, err := readAllFrames(r)
		if err != nil || len(frames) != 1 {
			t.Fatalf("%s: %d frames, %v", csp, len(frames), err)
		}
		img := frames[0].Image
		for y := 0; y < 2; y++ {
			for x := 0; x < 3; x++ {
				sr, sg, sb, _ := src.At(10+x, 10+y).RGBA()
				if csp == CMono {
					want := image.NewGray(image.Rect(0, 0, 1, 1)).ColorModel().Convert(src.At(10+x, 10+y))
					if got := img.At(x, y); got != want {
						t.Errorf("%s (%d,%d): %v, want %v", csp, x, y, got, want)
					}
					continue
				}
				if csp == C444 {
					gr, gg, gb, _ := img.At(x, y).RGBA()
					if diff(sr, gr) > 3*257 || diff(sg, gg) > 3*257 || diff(sb, gb) > 3*257 {
						t.Errorf("%s (%d,%d): %v, want about %v", csp, x, y, img.At(x, y), src.At(10+x, 10+y))
					}
				}
			}
		}
	}
}

func diff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// Frame headers may carry parameters ("FRAME Ixyz"); they are skipped.
func TestY4MFrameParameters(t *testing.T) {
	data := []byte("YUV4MPEG2 W2 H2 C444\nFRAME Ip XFOO=1\n000000000000FRAME\n111111111111")
	r, err := NewY4MReader(bytes.NewReader(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	frames, err := readAllFrames(r)
	if err != nil || len(frames) != 2 {
		t.Fatalf("%d frames, %v", len(frames), err)
	}
	if m := frames[1].Image.(*image.YCbCr); m.Y[0] != '1' || m.Cr[3] != '1' {
		t.Errorf("frame 1 planes %q %q", m.Y, m.Cr)
	}
	if _, err := readAllFrames(mustY4M(t, "YUV4MPEG2 W2 H2 C444\nFRAMEX\n000000000000")); !errors.Is(err, ErrFormat) {
		t.Errorf("FRAMEX: %v", err)
	}
}

func mustY4M(t *testing.T, s string) *Y4MReader {
	t.Helper()
	r, err := NewY4MReader(strings.NewReader(s), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestY4MEmptyStreamHeaderOnly(t *testing.T) {
	r, err := NewY4MReader(strings.NewReader("YUV4MPEG2 W2 H2\n"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("header-only stream: %v, want io.EOF", err)
	}
}
