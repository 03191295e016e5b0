// run.js runs ONNX models in ONNX Runtime for the Go tests of package
// onnxmodel. Usage: node run.js JOB.json
//
// JOB.json: {"runs": [{"model": "pnet.onnx",
//                      "inputs": {"input": {"dims": [1, 3, 12, 12], "file": "x.f32"}},
//                      "prefix": "out0"}]}
// Input files hold little-endian float32 values. For every run, each output
// is written to PREFIX.NAME.f32 and a JSON summary goes to stdout:
// [{"NAME": {"dims": [...], "file": "PREFIX.NAME.f32"}}, ...].
'use strict';

const fs = require('node:fs');
const ort = require('onnxruntime-node');

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const sessions = new Map();
  const results = [];
  for (const run of job.runs) {
    let session = sessions.get(run.model);
    if (!session) {
      session = await ort.InferenceSession.create(run.model, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'disabled',
        intraOpNumThreads: 1,
      });
      sessions.set(run.model, session);
    }
    const feeds = {};
    for (const [name, spec] of Object.entries(run.inputs)) {
      const buf = fs.readFileSync(spec.file);
      const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      feeds[name] = new ort.Tensor('float32', data, spec.dims);
    }
    const out = await session.run(feeds);
    const summary = {};
    for (const [name, t] of Object.entries(out)) {
      const file = `${run.prefix}.${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.f32`;
      const d = t.data;
      fs.writeFileSync(file, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
      summary[name] = { dims: t.dims.map(Number), file };
    }
    results.push(summary);
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(`run.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
