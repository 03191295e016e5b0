// wasi.mjs runs a wasip1 module under Node's WASI with the host's root
// mounted at / and the working directory and environment passed on:
//
//	node bench/wasm/wasi.mjs module.wasm args...
//
// Before compiling the module it sets two V8 flags, as a Node host of Go
// modules should (the same as giving them on node's command line):
// --no-concurrent-marking keeps Node 20's V8 from crashing in its garbage
// collector while the module's memory grows (see bench/wasm/main.go: 3 of
// 12 runs of the lean module crashed without it, 0 of 12 with it);
// --wasm-tiering-budget=20000000 makes Go modules run faster (fewer
// functions recompiled by TurboFan; README, WebAssembly speed and sizes).
// It serves as "go test -exec" for GOOS=wasip1 (see bench/wasm/exec-node)
// and as the Node runtime of the wasm benchmark.
import { readFile } from 'node:fs/promises';
import v8 from 'node:v8';

v8.setFlagsFromString('--no-concurrent-marking');
v8.setFlagsFromString('--wasm-tiering-budget=20000000');
import { WASI } from 'node:wasi';
import process from 'node:process';

const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({
  version: 'preview1',
  args: [file, ...args],
  env: { ...process.env, PWD: process.cwd() },
  preopens: { '/': '/' },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
