package video_test

import (
	"bytes"
	"fmt"
	"image"

	"github.com/mtcnn-go/mtcnn/video"
)

func ExampleNewY4MReader() {
	// A 4x2 4:2:0 stream of two frames, as "ffmpeg -f yuv4mpegpipe" writes.
	var b bytes.Buffer
	b.WriteString("YUV4MPEG2 W4 H2 F25:1 Ip A1:1 C420jpeg\n")
	for range 2 {
		b.WriteString("FRAME\n")
		b.Write(make([]byte, 4*2+2*2*1)) // Y, then Cb and Cr at half size
	}
	r, err := video.NewY4MReader(&b, video.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		f, err := r.Next()
		if err != nil {
			fmt.Println(err) // io.EOF after the last frame
			return
		}
		m := f.Image.(*image.YCbCr)
		fmt.Println(f.Index, f.Time, m.Bounds(), m.SubsampleRatio)
	}
	// Output:
	// 0 0 (0,0)-(4,2) YCbCrSubsampleRatio420
	// 1 0.04 (0,0)-(4,2) YCbCrSubsampleRatio420
	// EOF
}
