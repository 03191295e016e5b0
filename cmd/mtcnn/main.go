// Command mtcnn detects faces with the MTCNN cascade, in pure Go, using the
// model embedded in the binary (or one you bring).
//
// Usage:
//
//	mtcnn detect [flags] IMAGE...   print faces (table or -json), draw them (-o DIR)
//	mtcnn anonymize [flags] IMAGE.. hide the faces (blur, pixelate, fill)
//	mtcnn serve [flags]             HTTP API and web page
//	mtcnn video [flags] INPUT       faces and track ids per video frame (y4m, MJPEG, camera URL)
//	mtcnn convert FROZEN.pb -o FILE convert a TensorFlow frozen graph's weights
//	mtcnn export-onnx -o DIR        write the nets as ONNX (pnet/rnet/onet.onnx)
//	mtcnn inspect FROZEN.pb         list a frozen graph's Const nodes
//	mtcnn train -labels PATH -o FILE fine-tune the nets on labelled photos
//	mtcnn version [-model FILE]     print the version (and a model's provenance)
//
// Run "mtcnn COMMAND -h" for a command's flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if ok, code := cgiMain(); ok { // started as a CGI program or WAGI module: see cgi.go
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `mtcnn: pure-Go MTCNN face detector

Usage:
  mtcnn detect [flags] IMAGE...     detect faces; -json for JSON lines, -o DIR to draw them
  mtcnn anonymize [flags] IMAGE...  blur, pixelate or fill the faces; writes copies without metadata
  mtcnn serve [flags]               serve the HTTP API and web page (default :8080)
  mtcnn video [flags] INPUT         faces with track ids per frame of a y4m/MJPEG video, - or camera URL
  mtcnn convert FROZEN.pb -o FILE   convert a TensorFlow frozen graph into a weights file
  mtcnn inspect FROZEN.pb           list the Const nodes of a frozen graph
  mtcnn export-onnx -o DIR          write the three networks as ONNX models
  mtcnn train -labels PATH -o FILE  fine-tune the nets on your labelled photos
  mtcnn version [-model FILE]       print version information (and a model's provenance)
  (GATEWAY_INTERFACE set)           CGI/WAGI: serve one request on stdin/stdout, as serve would

Run 'mtcnn COMMAND -h' for the flags of a command.
`

// run executes one mtcnn command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "detect":
		return runDetect(ctx, rest, stdout, stderr)
	case "anonymize":
		return runAnonymize(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "video":
		return runVideo(ctx, rest, stdout, stderr)
	case "convert":
		return runConvert(rest, stdout, stderr)
	case "inspect":
		return runInspect(rest, stdout, stderr)
	case "export-onnx":
		return runExportONNX(rest, stdout, stderr)
	case "train":
		return runTrain(ctx, rest, stdout, stderr)
	case "version", "-version", "--version":
		return runVersionCmd(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "mtcnn: unknown command %q\n\n%s", cmd, usage)
	return 2
}
