package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/track"
	"github.com/mtcnn-go/mtcnn/video"
)

const videoUsage = `Usage: mtcnn video [flags] INPUT

Detects and tracks the faces in every frame of a video and prints one JSON
object per frame per line, in frame order:

  {"frame":N,"time":SECONDS,"faces":[{"box":[x1,y1,x2,y2],"score":S,
    "landmarks":[[x,y],...],"track":ID}]}

INPUT is a file, - for standard input, or an http:// URL of a camera's
MJPEG stream (multipart/x-mixed-replace). Formats, recognised by content:
YUV4MPEG2 (ffmpeg -f yuv4mpegpipe; 4:2:0, 4:2:2, 4:4:4, mono; progressive)
and MJPEG (concatenated JPEGs, ffmpeg -f mjpeg). Anything ffmpeg reads
works through a pipe:

  ffmpeg -i in.mp4 -f yuv4mpegpipe - | mtcnn video -min-size 40 -

A face keeps its track id while it stays in view: boxes are matched between
frames by overlap, and a track is kept through up to -track-misses frames
without its face. Detection options are those of "mtcnn detect"; every
frame gets the full, bit-exact detection unless -every is given. A stream
that breaks off or turns bad prints the frames before the break, then a
one-line error, and exits 1.

Flags:
`

// videoLine is one frame's JSON line.
type videoLine struct {
	Frame int                 `json:"frame"`
	Time  float64             `json:"time"`
	Faces []video.TrackedFace `json:"faces"`
}

func runVideo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("video", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, videoUsage); fs.PrintDefaults() }
	def := cascade.DefaultOptions()
	minSize := fs.Float64("min-size", 20, "smallest face side in pixels")
	factor := fs.Float64("factor", 0.709, "pyramid scale step, in (0, 1)")
	th := thresholdsFlag(def.Thresholds)
	fs.Var(&th, "thresholds", "P-Net, R-Net, O-Net score thresholds `a,b,c`")
	fma := fs.Bool("fma", false, "use fused multiply-add where the CPU has it: faster, results within rounding of the reference instead of bit-exact")
	maxPixels := fs.Int64("max-pixels", imageio.DefaultMaxPixels, "refuse frames with more pixels than this (checked from the header before allocating)")
	modelPath := fs.String("model", "", "model to use instead of the embedded one (see mtcnn detect -h)")
	of := addONNXFlags(fs)
	every := fs.Int("every", 1, "run the full detector on every `N`th frame only, and R-Net/O-Net on the tracked faces between: faster, but faces entering the view are found at the next full frame")
	workers := fs.Int("workers", 0, "frames detected at once (0: one per CPU)")
	fps := fs.Float64("fps", 0, "frame rate giving MJPEG frame times (0: 25 for files and stdin, arrival time for cameras); y4m carries its own")
	timeout := fs.Duration("timeout", video.DefaultCameraTimeout, "camera URL: give up when connecting, or waiting for data, takes longer than this")
	trackIoU := fs.Float64("track-iou", float64(track.DefaultOptions().MinIoU), "least box overlap (IoU) for a face to continue a track")
	trackMisses := fs.Int("track-misses", track.DefaultOptions().MaxMisses, "frames a track is kept without its face")
	trackMotion := fs.Bool("track-motion", false, "predict tracked boxes by their velocity (for fast motion or low frame rates)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "mtcnn video: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	switch {
	case len(pos) != 1:
		return usageErr("want one INPUT (a file, - for stdin, or an http:// camera URL), got %d", len(pos))
	case *every < 1:
		return usageErr("-every must be at least 1")
	case *workers < 0:
		return usageErr("-workers must be 0 or more")
	case *fps < 0:
		return usageErr("-fps must be 0 or more")
	case *timeout <= 0:
		return usageErr("-timeout must be positive")
	case *trackIoU <= 0 || *trackIoU > 1:
		return usageErr("-track-iou must be in (0, 1]")
	case *trackMisses < 0:
		return usageErr("-track-misses must be 0 or more")
	}
	opts := video.FacesOptions{
		Detect:  cascade.Options{MinSize: float32(*minSize), Factor: float32(*factor), Thresholds: th, FMA: *fma},
		Track:   track.Options{MinIoU: float32(*trackIoU), MaxMisses: *trackMisses, Motion: *trackMotion},
		Every:   *every,
		Process: video.ProcessOptions{Workers: *workers},
	}
	if *trackMisses == 0 {
		opts.Track.MaxMisses = -1 // the flag's 0 means none; the option's 0 means the default
	}
	if err := opts.Detect.Validate(); err != nil {
		fmt.Fprintf(stderr, "mtcnn video: %v\n", err)
		return 2
	}
	input := pos[0]
	src, closeSrc, live, err := openVideo(ctx, input, video.Limits{MaxPixels: *maxPixels}, *fps, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn video: %s: %s\n", input, oneLine(err))
		return 1
	}
	defer closeSrc()

	model, err := loadModelOpts(*modelPath, of.options(), stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn video: %v\n", err)
		return 1
	}
	det, err := cascade.New(model)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn video: %v\n", err)
		return 1
	}
	out := bufio.NewWriterSize(stdout, 1<<16)
	enc := json.NewEncoder(out)
	err = video.Faces(ctx, src, det, opts, func(f *video.Frame, r video.Result) error {
		if err := enc.Encode(videoLine{Frame: f.Index, Time: f.Time, Faces: r.Faces}); err != nil {
			return err
		}
		if live { // a camera's lines go out as they come
			return out.Flush()
		}
		return nil
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn video: %s: %s\n", input, oneLine(err))
		return 1
	}
	return 0
}

// openVideo opens a video input: "-" (stdin), an http(s) camera URL, or a
// file. live reports a camera.
func openVideo(ctx context.Context, input string, lim video.Limits, fps float64, timeout time.Duration) (src video.Source, closeFn func(), live bool, err error) {
	if strings.HasPrefix(input, "http://") || strings.HasPrefix(input, "https://") {
		cam, err := video.OpenCamera(ctx, input, timeout, lim)
		if err != nil {
			return nil, nil, false, err
		}
		cam.FPS = fps
		return cam, func() { cam.Close() }, true, nil
	}
	if fps == 0 {
		fps = 25
	}
	var r io.Reader = os.Stdin
	closeFn = func() {}
	if input != "-" {
		f, err := os.Open(input)
		if err != nil {
			return nil, nil, false, err
		}
		r, closeFn = f, func() { f.Close() }
	}
	s, err := video.Open(r, lim, fps)
	if err != nil {
		closeFn()
		return nil, nil, false, err
	}
	return s, closeFn, false, nil
}
