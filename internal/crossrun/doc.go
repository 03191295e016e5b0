// Package crossrun holds only tests: they build the release binaries
// (through internal/release, with the release's flags) for other
// platforms and run them on a reference image, comparing the detections
// with the reference outputs within the golden tolerances:
//
//   - linux/arm64, linux/arm (GOARM=7) and linux/riscv64 under qemu user
//     emulation (Debian's qemu-user-static or qemu-user);
//   - wasip1/wasm under the pure-Go wazero runtime;
//   - js/wasm in headless Chromium, through internal/wasmweb's glue;
//   - the container image built by ko onto an empty base served by an
//     in-process registry on loopback, checked for both platforms.
//
// A missing tool (qemu, Chromium, ko) skips its test with a message,
// except under CI=true, where it is a failure. The shared ground truth is
// found through internal/testenv.
package crossrun
