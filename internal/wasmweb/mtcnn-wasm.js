// mtcnn-wasm.js: MTCNN face detection in the browser, with the detector
// compiled to WebAssembly (cmd/mtcnn-wasm) and run in a Web Worker so the
// page stays responsive. Serve this file next to mtcnn.wasm and Go's
// wasm_exec.js (the release puts all three in dist/web/wasm/), load it with
// a plain <script src=".../mtcnn-wasm.js">, then:
//
//   if (await mtcnnWasm.available()) {
//     await mtcnnWasm.load();                      // optional: warm up
//     const r = await mtcnnWasm.detect(file, {min_size: 20, factor: 0.709,
//                                              thresholds: [0.6, 0.7, 0.7]});
//     // r = {width, height, faces: [{box, score, landmarks}], timing_ms}
//   }
//
// detect takes a Blob/File, an ArrayBuffer or a Uint8Array holding an
// encoded image (JPEG, PNG, GIF, BMP, TIFF, WebP); the image never leaves
// the browser. The same file is the worker's script.
"use strict";

(() => {
  const inWorker = typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope;

  if (inWorker) {
    // Worker side: instantiate the wasm once, then answer requests.
    const base = self.location.href;
    let started = null;
    const start = () => {
      if (started) return started;
      started = (async () => {
        importScripts(new URL("wasm_exec.js", base).href);
        const go = new Go();
        const url = new URL("mtcnn.wasm", base).href;
        let inst;
        try {
          inst = (await WebAssembly.instantiateStreaming(fetch(url), go.importObject)).instance;
        } catch (e) {
          // Served without Content-Type application/wasm: compile from bytes.
          const resp = await fetch(url);
          if (!resp.ok) throw new Error(`fetching ${url}: ${resp.status} ${resp.statusText}`);
          inst = (await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject)).instance;
        }
        // main registers mtcnnDetect and then blocks, so run returns to us
        // with the function in place; the promise settles only on exit.
        go.run(inst).then(() => { started = null; });
        if (typeof self.mtcnnDetect !== "function") {
          throw new Error("mtcnn.wasm did not register mtcnnDetect");
        }
      })();
      started.catch(() => { started = null; });
      return started;
    };
    self.onmessage = async (ev) => {
      const { id, type, bytes, options } = ev.data;
      try {
        await start();
        if (type === "load") {
          self.postMessage({ id, ok: true });
          return;
        }
        const json = await self.mtcnnDetect(new Uint8Array(bytes), options || {});
        self.postMessage({ id, ok: true, json });
      } catch (e) {
        self.postMessage({ id, ok: false, error: String((e && e.message) || e) });
      }
    };
    return;
  }

  // Page side: a worker running this same file, and promises over it.
  const scriptURL = (document.currentScript && document.currentScript.src) ||
    new URL("wasm/mtcnn-wasm.js", location.href).href;
  let worker = null;
  let seq = 0;
  const pending = new Map();

  const failAll = (err) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    if (worker) worker.terminate();
    worker = null;
  };

  const call = (msg, transfer) => {
    if (!worker) {
      worker = new Worker(scriptURL);
      worker.onmessage = (ev) => {
        const p = pending.get(ev.data.id);
        if (!p) return;
        pending.delete(ev.data.id);
        if (ev.data.ok) p.resolve(ev.data);
        else p.reject(new Error(ev.data.error));
      };
      worker.onerror = (ev) => failAll(new Error(`mtcnn worker: ${ev.message || "failed"}`));
    }
    const id = ++seq;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id }, transfer || []);
    });
  };

  const toBuffer = async (input) => {
    if (input instanceof Blob) return input.arrayBuffer();
    if (input instanceof ArrayBuffer) return input.slice(0);
    if (ArrayBuffer.isView(input)) {
      return input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength);
    }
    throw new TypeError("mtcnnWasm.detect: want a Blob, ArrayBuffer or Uint8Array");
  };

  window.mtcnnWasm = {
    // available resolves to whether the server has the wasm build.
    async available() {
      try {
        const resp = await fetch(new URL("mtcnn.wasm", scriptURL), { method: "HEAD" });
        return resp.ok;
      } catch (e) {
        return false;
      }
    },
    // load starts the worker and instantiates the wasm.
    async load() {
      await call({ type: "load" });
    },
    // detect resolves to the faces in the encoded image input.
    async detect(input, options) {
      const buf = await toBuffer(input);
      const r = await call({ type: "detect", bytes: buf, options: options || {} }, [buf]);
      return JSON.parse(r.json);
    },
    // unload stops the worker; the next call starts a new one.
    unload() {
      failAll(new Error("mtcnn worker unloaded"));
    },
  };
})();
