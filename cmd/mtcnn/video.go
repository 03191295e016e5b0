package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mtcnn-go/mtcnn/anonymize"
	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/cliflag"
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

With -anonymize, the faces are hidden (blurred, pixelated or filled, as
"mtcnn anonymize" does) and the video is written to -o: y4m in the input's
layout, or MJPEG when the file name ends in .mjpeg or .mjpg. Every frame is
written, with the faces found in it and, for a few frames, those of tracks
that lost their face (so a face the detector misses for a frame stays
hidden). The JSON lines then go to -json FILE, or to stdout when the video
does not. Sound is kept by letting ffmpeg take it from the original:

  ffmpeg -i in.mp4 -f yuv4mpegpipe - | mtcnn video -anonymize blur -o - - |
    ffmpeg -f yuv4mpegpipe -i - -i in.mp4 -map 0:v -map 1:a -c:a copy out.mp4

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
	optFlags := cliflag.AddOptions(fs)
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
	anonMode := fs.String("anonymize", "", "hide the faces: blur, pixelate or fill (black); needs -o")
	outPath := fs.String("o", "", "with -anonymize: write the video to `FILE` (- for stdout): y4m, or MJPEG for a .mjpeg or .mjpg name")
	jsonPath := fs.String("json", "", "write the JSON lines to `FILE` (default stdout, unless the video goes there)")
	maskScale := fs.Float64("mask-scale", anonymize.DefaultMaskScale, "with -anonymize: grow each face box by this factor around its centre")
	maskBoxes := fs.Bool("boxes", false, "with -anonymize: hide whole (grown) boxes instead of ellipses")
	quality := fs.Int("quality", 90, "MJPEG output quality, 1-100")
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
	case (*anonMode == "") != (*outPath == ""):
		return usageErr("-anonymize and -o go together: -anonymize blur|pixelate|fill -o FILE (or -o - for stdout)")
	case *quality < 1 || *quality > 100:
		return usageErr("-quality must be in [1, 100]")
	}
	detOpts, err := optFlags.Options()
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn video: %v\n", err)
		return 2
	}
	detOpts.FMA = *fma
	var aopts anonymize.Options
	if *anonMode != "" {
		m, err := anonymize.ParseMode(*anonMode)
		if err != nil {
			return usageErr("%v", err)
		}
		aopts = anonymize.Options{Mode: m, MaskScale: *maskScale, Box: *maskBoxes}
		if *maskScale <= 0 {
			aopts.MaskScale = -1 // refused by Validate: 0 would mean the default
		}
		if err := aopts.Validate(); err != nil {
			return usageErr("%v", err)
		}
	}
	opts := video.FacesOptions{
		Detect:  detOpts,
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
	in, err := openVideo(ctx, input, video.Limits{MaxPixels: *maxPixels}, *fps, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn video: %s: %s\n", input, oneLine(err))
		return 1
	}
	defer in.close()

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
	// Where the JSON lines and the video go.
	var jsonOut io.Writer = stdout
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	create := func(path string) (io.Writer, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		return f, nil
	}
	var videoOut io.Writer
	switch *outPath {
	case "":
	case "-":
		videoOut, jsonOut = stdout, nil
	default:
		if videoOut, err = create(*outPath); err != nil {
			fmt.Fprintf(stderr, "mtcnn video: %v\n", err)
			return 1
		}
	}
	if *jsonPath != "" {
		if jsonOut, err = create(*jsonPath); err != nil {
			fmt.Fprintf(stderr, "mtcnn video: %v\n", err)
			return 1
		}
	}
	var out *bufio.Writer
	var enc *json.Encoder
	if jsonOut != nil {
		out = bufio.NewWriterSize(jsonOut, 1<<16)
		enc = json.NewEncoder(out)
	}
	var vw video.Writer
	var hide []cascade.Face
	err = video.Faces(ctx, in.src, det, opts, func(f *video.Frame, r video.Result) error {
		if enc != nil {
			if err := enc.Encode(videoLine{Frame: f.Index, Time: f.Time, Faces: r.Faces}); err != nil {
				return err
			}
			if in.live { // a camera's lines go out as they come
				if err := out.Flush(); err != nil {
					return err
				}
			}
		}
		if videoOut == nil {
			return nil
		}
		// Hide the faces found and those of tracks that just lost theirs.
		hide = hide[:0]
		for _, tf := range r.Faces {
			hide = append(hide, tf.Face)
		}
		for _, tf := range r.Coasting {
			hide = append(hide, tf.Face)
		}
		img := anonymize.Writable(f.Image)
		if err := anonymize.Apply(img, hide, aopts); err != nil {
			return fmt.Errorf("frame %d: %w", f.Index, err)
		}
		if vw == nil {
			if vw, err = newVideoWriter(videoOut, *outPath, in, img, *fps, *quality); err != nil {
				return err
			}
		}
		return vw.Write(img)
	})
	if vw != nil {
		// The frames before an error are kept.
		if ferr := vw.Flush(); err == nil {
			err = ferr
		}
	}
	if out != nil {
		if ferr := out.Flush(); err == nil {
			err = ferr
		}
	}
	for _, f := range files {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	files = nil
	if err != nil {
		fmt.Fprintf(stderr, "mtcnn video: %s: %s\n", input, oneLine(err))
		return 1
	}
	return 0
}

// newVideoWriter returns the writer of the anonymised video: MJPEG for a
// .mjpeg or .mjpg path, else y4m with the input's header (or, for MJPEG
// input, the first frame's size at fps, 4:2:0 or mono).
func newVideoWriter(w io.Writer, path string, in *videoInput, first image.Image, fps float64, quality int) (video.Writer, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mjpeg", ".mjpg":
		return video.NewMJPEGWriter(w, quality), nil
	}
	h := in.y4m
	if h.Width == 0 {
		b := first.Bounds()
		h = video.Header{Width: b.Dx(), Height: b.Dy(), Colorspace: video.C420jpeg}
		if _, gray := first.(*image.Gray); gray {
			h.Colorspace = video.CMono
		}
		if fps <= 0 {
			fps = 25
		}
		h.FPSNum, h.FPSDen = int(math.Round(fps*1000)), 1000
	}
	return video.NewY4MWriter(w, h)
}

// videoInput is an opened video input.
type videoInput struct {
	src   video.Source
	y4m   video.Header // the y4m header; zero for MJPEG
	live  bool         // a camera
	close func()
}

// openVideo opens a video input: "-" (stdin), an http(s) camera URL, or a
// file.
func openVideo(ctx context.Context, input string, lim video.Limits, fps float64, timeout time.Duration) (*videoInput, error) {
	if strings.HasPrefix(input, "http://") || strings.HasPrefix(input, "https://") {
		cam, err := video.OpenCamera(ctx, input, timeout, lim)
		if err != nil {
			return nil, err
		}
		cam.FPS = fps
		return &videoInput{src: cam, live: true, close: func() { cam.Close() }}, nil
	}
	if fps == 0 {
		fps = 25
	}
	var r io.Reader = os.Stdin
	closeFn := func() {}
	if input != "-" {
		f, err := os.Open(input)
		if err != nil {
			return nil, err
		}
		r, closeFn = f, func() { f.Close() }
	}
	s, err := video.Open(r, lim, fps)
	if err != nil {
		closeFn()
		return nil, err
	}
	return &videoInput{src: s, y4m: s.Y4M, close: closeFn}, nil
}
