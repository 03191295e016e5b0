package video

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"os/exec"
	"testing"
)

// needFFmpeg returns the path of ffmpeg, skipping the test when it is not
// installed (failing under CI=true, where .ci/run installs it).
func needFFmpeg(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		msg := "ffmpeg not installed (apt-get install ffmpeg); skipping the ffmpeg interoperability test"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func ffmpeg(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(needFFmpeg(t), append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, args...)...)
	if stdin != nil {
		cmd.Args = append(cmd.Args[:4], cmd.Args[5:]...) // drop -nostdin
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, errb.String())
	}
	return out.Bytes()
}

// ffmpeg's y4m (every layout, odd sizes) reads as the planes ffmpeg gives
// as raw video, and what Y4MWriter writes ffmpeg reads back unchanged.
func TestY4MFFmpegInterop(t *testing.T) {
	needFFmpeg(t)
	for _, tc := range []struct {
		pixFmt string
		csp    Colorspace
		strict bool
	}{
		{"yuv420p", C420jpeg, false},
		{"yuv422p", C422, false},
		{"yuv444p", C444, false},
		{"gray", CMono, true},
	} {
		for _, size := range []string{"33x17", "64x48"} {
			t.Run(tc.pixFmt+"/"+size, func(t *testing.T) {
				src := []string{"-f", "lavfi", "-i", "testsrc=size=" + size + ":rate=5", "-frames:v", "3", "-pix_fmt", tc.pixFmt}
				var y4mArgs []string
				y4mArgs = append(y4mArgs, src...)
				if tc.strict {
					y4mArgs = append(y4mArgs, "-strict", "-1")
				}
				y4m := ffmpeg(t, nil, append(y4mArgs, "-f", "yuv4mpegpipe", "-")...)
				raw := ffmpeg(t, nil, append(src, "-f", "rawvideo", "-")...)
				r, err := NewY4MReader(bytes.NewReader(y4m), Limits{})
				if err != nil {
					t.Fatal(err)
				}
				h := r.Header()
				if h.FPSNum != 5 || h.FPSDen != 1 {
					t.Errorf("frame rate %d:%d, want 5:1", h.FPSNum, h.FPSDen)
				}
				if tc.csp == CMono && h.Colorspace != CMono {
					t.Errorf("colorspace %q, want mono", h.Colorspace)
				}
				frames, err := readAllFrames(r)
				if err != nil || len(frames) != 3 {
					t.Fatalf("%d frames, %v", len(frames), err)
				}
				var got bytes.Buffer
				for _, f := range frames {
					switch m := f.Image.(type) {
					case *image.YCbCr:
						got.Write(m.Y)
						got.Write(m.Cb)
						got.Write(m.Cr)
					case *image.Gray:
						got.Write(m.Pix)
					default:
						t.Fatalf("frame is %T", m)
					}
				}
				if !bytes.Equal(got.Bytes(), raw) {
					t.Fatalf("planes differ from ffmpeg's raw video (%d vs %d bytes)", got.Len(), len(raw))
				}
				// And back: our writer's stream, decoded by ffmpeg.
				var out bytes.Buffer
				w, err := NewY4MWriter(&out, h)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range frames {
					if err := w.Write(f.Image); err != nil {
						t.Fatal(err)
					}
				}
				w.Flush()
				back := ffmpeg(t, out.Bytes(), "-f", "yuv4mpegpipe", "-i", "-", "-f", "rawvideo", "-pix_fmt", tc.pixFmt, "-")
				if !bytes.Equal(back, raw) {
					t.Fatalf("ffmpeg reads our stream differently (%d vs %d bytes)", len(back), len(raw))
				}
			})
		}
	}
}

// ffmpeg's -f mjpeg output splits into the frames ffmpeg encoded.
func TestMJPEGFFmpeg(t *testing.T) {
	needFFmpeg(t)
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := ffmpeg(t, nil, "-f", "lavfi", "-i", "testsrc=size=65x33:rate=5", "-frames:v", fmt.Sprint(n), "-q:v", "3", "-f", "mjpeg", "-")
			m := NewMJPEGReader(bytes.NewReader(data), Limits{})
			m.FPS = 5
			frames, err := readAllFrames(m)
			if err != nil || len(frames) != n {
				t.Fatalf("%d frames, %v; want %d", len(frames), err, n)
			}
			for i, f := range frames {
				if f.Image.Bounds() != image.Rect(0, 0, 65, 33) || f.Time != float64(i)/5 {
					t.Errorf("frame %d: %v at %v", i, f.Image.Bounds(), f.Time)
				}
			}
		})
	}
}
