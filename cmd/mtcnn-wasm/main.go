//go:build js && wasm

// Command mtcnn-wasm is the detector for the browser: built with
// GOOS=js GOARCH=wasm (the release writes it to dist/web/wasm/mtcnn.wasm),
// run by Go's wasm_exec.js, it registers one JavaScript function,
//
//	mtcnnDetect(imageBytes: Uint8Array, options?: object) -> Promise<string>
//
// which decodes the encoded image and detects the faces in it, resolving
// to the JSON of internal/wasmweb.Result (shaped like the answer of the
// server's POST /v1/detect) or rejecting with an Error. options holds
// min_size, factor and thresholds ([a, b, c]); absent ones mean the
// defaults. The model is the one embedded in the binary. The page-side
// glue, internal/wasmweb's mtcnn-wasm.js, runs this in a Web Worker.
package main

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/mtcnn-go/mtcnn/cascade"
	"github.com/mtcnn-go/mtcnn/internal/imageio"
	"github.com/mtcnn-go/mtcnn/internal/wasmweb"
)

func main() {
	det, initErr := cascade.NewDefault()
	if initErr != nil {
		initErr = fmt.Errorf("mtcnn-wasm: loading the embedded model: %w", initErr)
	}
	detect := js.FuncOf(func(_ js.Value, args []js.Value) any {
		data, opts, argErr := readArgs(args)
		return newPromise(func() (string, error) {
			if initErr != nil {
				return "", initErr
			}
			if argErr != nil {
				return "", argErr
			}
			out, err := wasmweb.DetectJSON(context.Background(), det, data, opts, imageio.Limits{})
			return string(out), err
		})
	})
	js.Global().Set("mtcnnDetect", detect)
	select {} // keep the function alive
}

// readArgs copies the image bytes out of JavaScript and turns the options
// object into JSON. It must run in the calling callback, before the
// caller may reuse the array.
func readArgs(args []js.Value) (data, opts []byte, err error) {
	if len(args) < 1 {
		return nil, nil, fmt.Errorf("mtcnnDetect: want (Uint8Array, options?), got %d arguments", len(args))
	}
	u8 := js.Global().Get("Uint8Array")
	if !args[0].InstanceOf(u8) {
		return nil, nil, fmt.Errorf("mtcnnDetect: the image must be a Uint8Array")
	}
	data = make([]byte, args[0].Get("length").Int())
	js.CopyBytesToGo(data, args[0])
	if len(args) > 1 && args[1].Truthy() {
		opts = []byte(js.Global().Get("JSON").Call("stringify", args[1]).String())
	}
	return data, opts, nil
}

// newPromise returns a JavaScript Promise settled by work, which runs on
// its own goroutine: a js.FuncOf callback must not block.
func newPromise(work func() (string, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, pa []js.Value) any {
		resolve, reject := pa[0], pa[1]
		go func() {
			defer executor.Release()
			out, err := work()
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(out)
		}()
		return nil
	})
	return js.Global().Get("Promise").New(executor)
}
