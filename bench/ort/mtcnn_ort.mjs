// mtcnn_ort.mjs: the MTCNN cascade in JavaScript with the three nets in ONNX
// Runtime (npm onnxruntime-node), for the speed comparison in bench/compare.
//
// The nets are the ONNX files this project exports (mtcnn export-onnx -o DIR,
// or onnxmodel.WriteDir): pnet.onnx, rnet.onnx, onet.onnx, input "input"
// [N, 3, H, W] (NCHW, BGR, (pixel-127.5)/128), outputs "prob", "reg" and, for
// O-Net, "landmarks". The cascade follows the shared docs/REFERENCE.md step
// by step, rounding every step to float32 (Math.fround): pyramid with
// TF1 legacy resize_bilinear, TensorFlow NMS (strict >, float32 IoU, equal
// scores by index), regression, squaring, crop_and_resize, landmarks.
//
// The image is raw 8-bit RGB rows (width*height*3 bytes). One shot:
//
//   node mtcnn_ort.mjs -models DIR -image X.rgb -width 960 -height 661 \
//       [-min-size 20] [-runs 7] [-warmup 1] [-threads 2]
//
// prints {"median_ms": ..., "ms": [...], "faces": [...]} (faces as the Go
// command's -json). With -serve it reads one JSON request per line on stdin,
// {"image": ..., "width": ..., "height": ..., "min_size": ..., "runs": N},
// and answers each with one such JSON line (images are read once and cached;
// reading is not timed).
//
// Install: npm ci --ignore-scripts (in this folder; node >= 20).

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';

const f = Math.fround;

// (v - 127.5) / 128 for every byte value.
const NORMALISED = new Float32Array(256).map((_, i) => (i - 127.5) / 128);

const lerp = (a, b, t) => f(a + f(f(b - a) * t));

// TF1 resize_bilinear weights along one axis (align_corners=false).
function legacyWeights(outSize, inSize) {
  const scale = f(inSize / outSize);
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const v = f(i * scale);
    const fl = Math.floor(v);
    lo[i] = Math.max(fl, 0);
    hi[i] = Math.min(Math.ceil(v), inSize - 1);
    frac[i] = f(v - fl);
  }
  return { lo, hi, frac };
}

// img: { w, h, planes: Float32Array [3 * h * w] } normalised BGR, planar.
function toPlanes(rgb, w, h) {
  const n = w * h;
  const planes = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    planes[i] = NORMALISED[rgb[3 * i + 2]];
    planes[n + i] = NORMALISED[rgb[3 * i + 1]];
    planes[2 * n + i] = NORMALISED[rgb[3 * i]];
  }
  return { w, h, planes };
}

// resize returns the image resized to hs x ws, NCHW (batch of one).
function resize(img, hs, ws) {
  const ys = legacyWeights(hs, img.h);
  const xs = legacyWeights(ws, img.w);
  const out = new Float32Array(3 * hs * ws);
  for (let c = 0; c < 3; c++) {
    const src = img.planes.subarray(c * img.h * img.w, (c + 1) * img.h * img.w);
    const dst = out.subarray(c * hs * ws, (c + 1) * hs * ws);
    for (let y = 0; y < hs; y++) {
      const top = ys.lo[y] * img.w;
      const bot = ys.hi[y] * img.w;
      const fy = ys.frac[y];
      for (let x = 0; x < ws; x++) {
        const l = xs.lo[x];
        const r = xs.hi[x];
        const fx = xs.frac[x];
        const t = lerp(src[top + l], src[top + r], fx);
        const b = lerp(src[bot + l], src[bot + r], fx);
        dst[y * ws + x] = lerp(t, b, fy);
      }
    }
  }
  return out;
}

// cropAndResize samples every box (y1, x1, y2, x2 pixels) onto a size x size
// grid with TensorFlow's CropAndResize; outside samples are 0. NCHW batch.
function cropAndResize(img, boxes, size) {
  const { w, h, planes } = img;
  const hm1 = f(h - 1);
  const wm1 = f(w - 1);
  const den = f(size - 1);
  const per = 3 * size * size;
  const out = new Float32Array(boxes.length * per);
  const inX = new Float32Array(size);
  for (let n = 0; n < boxes.length; n++) {
    const [by1, bx1, by2, bx2] = boxes[n];
    const y1n = f(by1 / h);
    const x1n = f(bx1 / w);
    const y2n = f(by2 / h);
    const x2n = f(bx2 / w);
    const hScale = f(f(f(y2n - y1n) * hm1) / den);
    const wScale = f(f(f(x2n - x1n) * wm1) / den);
    const y0 = f(y1n * hm1);
    const x0 = f(x1n * wm1);
    for (let x = 0; x < size; x++) inX[x] = f(x0 + f(x * wScale));
    for (let y = 0; y < size; y++) {
      const inY = f(y0 + f(y * hScale));
      if (!(inY >= 0 && inY <= hm1)) continue; // stays 0
      const top = Math.floor(inY);
      const bot = Math.ceil(inY);
      const fy = f(inY - top);
      for (let x = 0; x < size; x++) {
        const ix = inX[x];
        if (!(ix >= 0 && ix <= wm1)) continue;
        const l = Math.floor(ix);
        const r = Math.ceil(ix);
        const fx = f(ix - l);
        for (let c = 0; c < 3; c++) {
          const p = c * h * w;
          const t = lerp(planes[p + top * w + l], planes[p + top * w + r], fx);
          const b = lerp(planes[p + bot * w + l], planes[p + bot * w + r], fx);
          out[n * per + (c * size + y) * size + x] = lerp(t, b, fy);
        }
      }
    }
  }
  return out;
}

function iou(a, b) {
  const ay1 = Math.min(a[0], a[2]);
  const ay2 = Math.max(a[0], a[2]);
  const ax1 = Math.min(a[1], a[3]);
  const ax2 = Math.max(a[1], a[3]);
  const by1 = Math.min(b[0], b[2]);
  const by2 = Math.max(b[0], b[2]);
  const bx1 = Math.min(b[1], b[3]);
  const bx2 = Math.max(b[1], b[3]);
  const areaA = f(f(ay2 - ay1) * f(ax2 - ax1));
  const areaB = f(f(by2 - by1) * f(bx2 - bx1));
  if (!(areaA > 0) || !(areaB > 0)) return 0;
  const ih = Math.max(f(Math.min(ay2, by2) - Math.max(ay1, by1)), 0);
  const iw = Math.max(f(Math.min(ax2, bx2) - Math.max(ax1, bx1)), 0);
  const inter = f(ih * iw);
  return f(inter / f(f(areaA + areaB) - inter));
}

// nms is TensorFlow's NonMaxSuppressionV2: greedy by descending score
// (equal scores by index; Array.prototype.sort is stable), a candidate is
// dropped when its IoU with a selected box is > thr.
function nms(boxes, scores, thr, maxOut = 1000) {
  const order = Array.from(scores.keys()).sort((i, j) => scores[j] - scores[i]);
  const sel = [];
  for (const i of order) {
    let keep = true;
    for (const j of sel) {
      if (iou(boxes[i], boxes[j]) > thr) {
        keep = false;
        break;
      }
    }
    if (keep) {
      sel.push(i);
      if (sel.length === maxOut) break;
    }
  }
  return sel;
}

function regress(b, r) {
  const h = f(b[2] - b[0]);
  const w = f(b[3] - b[1]);
  return [f(b[0] + f(h * r[0])), f(b[1] + f(w * r[1])), f(b[2] + f(h * r[2])), f(b[3] + f(w * r[3]))];
}

function square(b) {
  const h = f(f(b[2] - b[0]) + 1);
  const w = f(f(b[3] - b[1]) + 1);
  const side = Math.max(h, w);
  const dh = f(h - side);
  const dw = f(w - side);
  return [f(b[0] + f(dh * 0.5)), f(b[1] + f(dw * 0.5)), f(b[2] + f(dh * -0.5)), f(b[3] + f(dw * -0.5))];
}

export class Detector {
  static async create(modelDir, threads) {
    const opts = {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    const d = new Detector();
    d.pnet = await ort.InferenceSession.create(path.join(modelDir, 'pnet.onnx'), opts);
    d.rnet = await ort.InferenceSession.create(path.join(modelDir, 'rnet.onnx'), opts);
    d.onet = await ort.InferenceSession.create(path.join(modelDir, 'onet.onnx'), opts);
    return d;
  }

  // detect returns the faces in rgb (Uint8Array, w*h*3) like the Go command's JSON.
  async detect(rgb, w, h, minSize = 20, thresholds = [0.6, 0.7, 0.7], factor = 0.709) {
    const [t1, t2, t3] = thresholds.map(f);
    const fac = f(factor);
    const img = toPlanes(rgb, w, h);

    // Stage one: the pyramid through P-Net.
    let boxes = [];
    let scores = [];
    let regs = [];
    const side = Math.min(w, h);
    for (let scale = f(12 / f(minSize)); f(side * scale) > 12; scale = f(scale * fac)) {
      const hs = Math.trunc(f(h * scale));
      const ws = Math.trunc(f(w * scale));
      const out = await this.pnet.run({ input: new ort.Tensor('float32', resize(img, hs, ws), [1, 3, hs, ws]) });
      const [, , oh, ow] = out.prob.dims;
      const n = oh * ow;
      const prob = out.prob.data;
      const reg = out.reg.data;
      const b = [];
      const s = [];
      const g = [];
      for (let r = 0; r < oh; r++) {
        for (let c = 0; c < ow; c++) {
          const i = r * ow + c;
          if (!(prob[n + i] > t1)) continue;
          b.push([f((2 * r + 1) / scale), f((2 * c + 1) / scale), f((2 * r + 12) / scale), f((2 * c + 12) / scale)]);
          s.push(prob[n + i]);
          g.push([reg[i], reg[n + i], reg[2 * n + i], reg[3 * n + i]]);
        }
      }
      for (const k of nms(b, s, f(0.5))) {
        boxes.push(b[k]);
        scores.push(s[k]);
        regs.push(g[k]);
      }
    }
    if (boxes.length === 0) return [];
    let keep = nms(boxes, scores, f(0.7));
    boxes = keep.map((k) => square(regress(boxes[k], regs[k])));

    // Stage two: R-Net.
    let out = await this.rnet.run({
      input: new ort.Tensor('float32', cropAndResize(img, boxes, 24), [boxes.length, 3, 24, 24]),
    });
    let b = [];
    let s = [];
    let g = [];
    for (let i = 0; i < boxes.length; i++) {
      const p = out.prob.data[2 * i + 1];
      if (p > t2) {
        b.push(boxes[i]);
        s.push(p);
        g.push(Array.from(out.reg.data.subarray(4 * i, 4 * i + 4)));
      }
    }
    if (b.length === 0) return [];
    keep = nms(b, s, f(0.7));
    boxes = keep.map((k) => square(regress(b[k], g[k])));

    // Stage three: O-Net; landmarks from the unregressed box.
    out = await this.onet.run({
      input: new ort.Tensor('float32', cropAndResize(img, boxes, 48), [boxes.length, 3, 48, 48]),
    });
    b = [];
    s = [];
    const lms = [];
    for (let i = 0; i < boxes.length; i++) {
      const p = out.prob.data[2 * i + 1];
      if (!(p > t3)) continue;
      const bx = boxes[i];
      const bh = f(bx[2] - bx[0]);
      const bw = f(bx[3] - bx[1]);
      const lm = out.landmarks.data.subarray(10 * i, 10 * i + 10);
      const pts = [];
      for (let q = 0; q < 5; q++) pts.push([f(bx[1] + f(bw * lm[5 + q])), f(bx[0] + f(bh * lm[q]))]);
      lms.push(pts);
      b.push(regress(bx, out.reg.data.subarray(4 * i, 4 * i + 4)));
      s.push(p);
    }
    return nms(b, s, f(0.6)).map((k) => ({
      box: [b[k][1], b[k][0], b[k][3], b[k][2]],
      score: s[k],
      landmarks: lms[k],
    }));
  }
}

function readRGB(file, w, h) {
  const data = fs.readFileSync(file);
  if (data.length !== w * h * 3) throw new Error(`${file}: ${data.length} bytes, want ${w}x${h}x3`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

function median(v) {
  if (v.length === 0) return 0;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timed(det, rgb, w, h, runs, minSize, thresholds, factor) {
  const ms = [];
  let faces = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    faces = await det.detect(rgb, w, h, minSize, thresholds, factor);
    ms.push(performance.now() - t0);
  }
  return { median_ms: median(ms), ms, faces };
}

function parseArgs(argv) {
  const a = { threads: 2, minSize: 20, factor: 0.709, thresholds: [0.6, 0.7, 0.7], runs: 7, warmup: 1, serve: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--?/, '');
    const v = () => argv[++i];
    switch (k) {
      case 'models': a.models = v(); break;
      case 'image': a.image = v(); break;
      case 'width': a.width = Number(v()); break;
      case 'height': a.height = Number(v()); break;
      case 'min-size': a.minSize = Number(v()); break;
      case 'factor': a.factor = Number(v()); break;
      case 'thresholds': a.thresholds = v().split(',').map(Number); break;
      case 'runs': a.runs = Number(v()); break;
      case 'warmup': a.warmup = Number(v()); break;
      case 'threads': a.threads = Number(v()); break;
      case 'serve': a.serve = true; break;
      default: throw new Error(`unknown flag ${argv[i]}`);
    }
  }
  if (!a.models) throw new Error('-models DIR is required');
  return a;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const det = await Detector.create(a.models, a.threads);
  if (!a.serve) {
    const rgb = readRGB(a.image, a.width, a.height);
    await timed(det, rgb, a.width, a.height, a.warmup, a.minSize, a.thresholds, a.factor);
    const res = await timed(det, rgb, a.width, a.height, a.runs, a.minSize, a.thresholds, a.factor);
    process.stdout.write(JSON.stringify(res) + '\n');
    return;
  }
  const images = new Map();
  const ortVersion = JSON.parse(
    fs.readFileSync(new URL('./node_modules/onnxruntime-node/package.json', import.meta.url), 'utf8'),
  ).version;
  process.stdout.write(JSON.stringify({ ready: true, ort: ortVersion, threads: a.threads }) + '\n');
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const req = JSON.parse(line);
    if (!images.has(req.image)) images.set(req.image, readRGB(req.image, req.width, req.height));
    const res = await timed(det, images.get(req.image), req.width, req.height, req.runs ?? 1,
      req.min_size ?? a.minSize, req.thresholds ?? a.thresholds, req.factor ?? a.factor);
    process.stdout.write(JSON.stringify(res) + '\n');
  }
}

main().catch((err) => {
  process.stderr.write(`mtcnn_ort: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
