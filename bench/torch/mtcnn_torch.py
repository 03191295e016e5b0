#!/usr/bin/env python3
"""The MTCNN cascade in PyTorch, for the speed comparison in bench/compare.

The three nets are built from this project's converted weights file (the
format of weights/model.go: magic, count, then per tensor name, rank, dims
and little-endian float32 data, then a CRC-32), as Conv2d/PReLU/MaxPool2d
in channels_last layout, TensorFlow's SAME pooling as ceil mode where that
gives the same windows (R-Net's 22x22 and O-Net's 46x46 maps), else as
explicit bottom/right padding, and a channel softmax. The cascade follows
the shared docs/REFERENCE.md step by step in float32: pyramid with TF1
legacy resize_bilinear, NMS with TensorFlow's semantics (strict >, float32
IoU, equal scores by index), regression, squaring, crop_and_resize and
landmarks.

The image is raw 8-bit RGB rows (width*height*3 bytes), so no decoder is
needed. One shot:

    python3 mtcnn_torch.py -weights W -image X.rgb -width 960 -height 661 \
        [-min-size 20] [-runs 7] [-warmup 1] [-threads 2]

prints {"median_ms": ..., "ms": [...], "faces": [...]} (faces as the Go
command's -json: box x1,y1,x2,y2, score, landmarks [[x,y] x5]). With
-serve it reads one JSON request per line on stdin,
{"image": ..., "width": ..., "height": ..., "min_size": ..., "runs": N},
and answers each with one such JSON line (images are read once and cached;
reading is not timed).

Needs Debian's python3-torch and python3-numpy (torchvision is not used).
"""

import argparse
import json
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F

F32 = np.float32
MAGIC = b"MTCNNW\x00\x01"


def load_weights(path):
    """Reads a converted weights file into {name: float32 array (HWIO)}."""
    with open(path, "rb") as f:
        data = f.read()
    if data[: len(MAGIC)] != MAGIC:
        raise ValueError(f"{path}: not an MTCNN weights file")
    body, (crc,) = data[:-4], struct.unpack("<I", data[-4:])
    if zlib.crc32(body) & 0xFFFFFFFF != crc:
        raise ValueError(f"{path}: checksum mismatch")
    off = len(MAGIC)
    (count,) = struct.unpack_from("<I", body, off)
    off += 4
    out = {}
    for _ in range(count):
        (n,) = struct.unpack_from("<H", body, off)
        off += 2
        name = body[off : off + n].decode()
        off += n
        rank = body[off]
        off += 1
        dims = struct.unpack_from(f"<{rank}I", body, off)
        off += 4 * rank
        size = int(np.prod(dims)) if dims else 1
        out[name] = np.frombuffer(body, dtype="<f4", count=size, offset=off).reshape(dims).astype(F32)
        off += 4 * size
    if off != len(body):
        raise ValueError(f"{path}: {len(body) - off} trailing bytes")
    return out


class Conv(torch.nn.Module):
    """VALID convolution from an HWIO kernel, optionally with PReLU."""

    def __init__(self, w, prefix, conv, prelu=None):
        super().__init__()
        k = w[f"{prefix}/{conv}/weights"]
        kh, kw, cin, cout = k.shape
        self.conv = torch.nn.Conv2d(cin, cout, (kh, kw))
        self.conv.weight.data = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
        self.conv.bias.data = torch.from_numpy(w[f"{prefix}/{conv}/biases"].copy())
        self.prelu = None
        if prelu:
            self.prelu = torch.nn.PReLU(cout)
            self.prelu.weight.data = torch.from_numpy(w[f"{prefix}/{prelu}/weights"].copy())

    def forward(self, x):
        x = self.conv(x)
        return self.prelu(x) if self.prelu is not None else x


class Pool(torch.nn.Module):
    """Max pool; same=True is TensorFlow's SAME (padding at the bottom/right
    only when the total is odd), else VALID (PyTorch's floor mode)."""

    def __init__(self, k, s, same):
        super().__init__()
        self.k, self.s, self.same = k, s, same

    def forward(self, x):
        if not self.same:
            return F.max_pool2d(x, self.k, self.s)
        pads, ceil_ok = [], True
        for n in (x.shape[3], x.shape[2]):  # F.pad order: W then H
            out = -(-n // self.s)
            total = max((out - 1) * self.s + self.k - n, 0)
            pads += [total // 2, total - total // 2]
            # With no padding before, ceil mode gives the same windows (the
            # last one clipped at the edge) without copying the input.
            ceil_ok = ceil_ok and total // 2 == 0 and -(-(n - self.k) // self.s) + 1 == out
        if ceil_ok:
            return F.max_pool2d(x, self.k, self.s, ceil_mode=True)
        return F.max_pool2d(F.pad(x, pads, value=float("-inf")), self.k, self.s)


class Net(torch.nn.Module):
    def __init__(self, trunk, heads):
        super().__init__()
        self.trunk = torch.nn.Sequential(*trunk)
        self.heads = torch.nn.ModuleList(heads)

    def forward(self, x):
        x = self.trunk(x)
        outs = [h(x) for h in self.heads]
        outs[0] = F.softmax(outs[0], dim=1)
        return outs


def build_nets(w):
    pnet = Net(
        [Conv(w, "pnet", "conv1", "PReLU1"), Pool(2, 2, False), Conv(w, "pnet", "conv2", "PReLU2"),
         Conv(w, "pnet", "conv3", "PReLU3")],
        [Conv(w, "pnet", "conv4-1"), Conv(w, "pnet", "conv4-2")],
    )
    rnet = Net(
        [Conv(w, "rnet", "conv1", "prelu1"), Pool(3, 2, True), Conv(w, "rnet", "conv2", "prelu2"),
         Pool(3, 2, False), Conv(w, "rnet", "conv3", "prelu3"), Conv(w, "rnet", "conv4", "prelu4")],
        [Conv(w, "rnet", "conv5-1"), Conv(w, "rnet", "conv5-2")],
    )
    onet = Net(
        [Conv(w, "onet", "conv1", "prelu1"), Pool(3, 2, True), Conv(w, "onet", "conv2", "prelu2"),
         Pool(3, 2, False), Conv(w, "onet", "conv3", "prelu3"), Pool(2, 2, False),
         Conv(w, "onet", "conv4", "prelu4"), Conv(w, "onet", "conv5", "prelu5")],
        [Conv(w, "onet", "conv6-1"), Conv(w, "onet", "conv6-2"), Conv(w, "onet", "conv6-3")],
    )
    return [n.eval() for n in (pnet, rnet, onet)]


# (v - 127.5) / 128 for every byte value: both steps exact in float32.
NORMALISED = ((np.arange(256, dtype=F32) - F32(127.5)) / F32(128)).astype(F32)


def legacy_weights(out_size, in_size):
    """TF1 resize_bilinear weights along one axis (align_corners=False)."""
    scale = F32(in_size) / F32(out_size)
    v = np.arange(out_size, dtype=F32) * scale
    f = np.floor(v)
    lo = np.maximum(f.astype(np.int64), 0)
    hi = np.minimum(np.ceil(v).astype(np.int64), in_size - 1)
    return torch.from_numpy(lo), torch.from_numpy(hi), torch.from_numpy((v - f).astype(F32))


def resize(img, h, w):
    """img [H, W, 3] normalised -> [1, 3, h, w] in channels_last layout."""
    ylo, yhi, yf = legacy_weights(h, img.shape[0])
    xlo, xhi, xf = legacy_weights(w, img.shape[1])
    xf = xf[:, None]
    top, bot = img[ylo], img[yhi]
    t = top[:, xlo] + (top[:, xhi] - top[:, xlo]) * xf
    b = bot[:, xlo] + (bot[:, xhi] - bot[:, xlo]) * xf
    return (t + (b - t) * yf[:, None, None]).permute(2, 0, 1).unsqueeze(0)


def crop_and_resize(flat, H, W, boxes, size):
    """TF crop_and_resize of the normalised image (flat [H*W, 3]) at boxes
    (y1, x1, y2, x2 pixels) onto size x size; outside samples are 0.
    Returns [N, 3, size, size] in channels_last layout."""
    hm1, wm1 = F32(H - 1), F32(W - 1)
    y1n, x1n = boxes[:, 0] / F32(H), boxes[:, 1] / F32(W)
    y2n, x2n = boxes[:, 2] / F32(H), boxes[:, 3] / F32(W)
    den = F32(size - 1)
    hs = ((y2n - y1n) * hm1) / den
    ws = ((x2n - x1n) * wm1) / den
    i = np.arange(size, dtype=F32)
    iny = (y1n * hm1)[:, None] + i[None, :] * hs[:, None]
    inx = (x1n * wm1)[:, None] + i[None, :] * ws[:, None]
    vy = (iny >= 0) & (iny <= hm1)
    vx = (inx >= 0) & (inx <= wm1)
    ty, tx = np.floor(iny), np.floor(inx)
    fy, fx = torch.from_numpy((iny - ty).astype(F32)), torch.from_numpy((inx - tx).astype(F32))
    top = np.clip(ty, 0, H - 1).astype(np.int64)
    bot = np.clip(np.ceil(iny), 0, H - 1).astype(np.int64)
    lft = np.clip(tx, 0, W - 1).astype(np.int64)
    rgt = np.clip(np.ceil(inx), 0, W - 1).astype(np.int64)

    def at(r, c):
        return flat[torch.from_numpy(r[:, :, None] * W + c[:, None, :])]  # [N, s, s, 3]

    tl, tr, bl, br = at(top, lft), at(top, rgt), at(bot, lft), at(bot, rgt)
    fx = fx[:, None, :, None]
    t = tl + (tr - tl) * fx
    b = bl + (br - bl) * fx
    out = t + (b - t) * fy[:, :, None, None]
    mask = torch.from_numpy(vy[:, :, None, None] & vx[:, None, :, None])
    out = torch.where(mask, out, torch.zeros((), dtype=out.dtype))
    return out.permute(0, 3, 1, 2)


def nms(boxes, scores, thr, max_out=1000):
    """TensorFlow NonMaxSuppressionV2: greedy by descending score (equal
    scores by index), drop when float32 IoU with a kept box is > thr."""
    if len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    y1, y2 = np.minimum(boxes[:, 0], boxes[:, 2]), np.maximum(boxes[:, 0], boxes[:, 2])
    x1, x2 = np.minimum(boxes[:, 1], boxes[:, 3]), np.maximum(boxes[:, 1], boxes[:, 3])
    area = (y2 - y1) * (x2 - x1)
    rem = np.argsort(-scores, kind="stable")
    keep = []
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        while rem.size and len(keep) < max_out:
            i, rest = rem[0], rem[1:]
            keep.append(i)
            ih = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), F32(0))
            iw = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), F32(0))
            inter = ih * iw
            iou = inter / ((area[i] + area[rest]) - inter)
            if not area[i] > 0:
                iou[:] = 0
            iou[~(area[rest] > 0)] = 0
            rem = rest[~(iou > thr)]
    return np.asarray(keep, dtype=np.int64)


def regress(b, r):
    h, w = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    return np.stack([b[:, 0] + h * r[:, 0], b[:, 1] + w * r[:, 1], b[:, 2] + h * r[:, 2], b[:, 3] + w * r[:, 3]], 1)


def square(b):
    h = (b[:, 2] - b[:, 0]) + F32(1)
    w = (b[:, 3] - b[:, 1]) + F32(1)
    side = np.maximum(h, w)
    dh, dw = h - side, w - side
    return np.stack([b[:, 0] + dh * F32(0.5), b[:, 1] + dw * F32(0.5),
                     b[:, 2] + dh * F32(-0.5), b[:, 3] + dw * F32(-0.5)], 1)


class Detector:
    def __init__(self, weights_path):
        # channels_last (NHWC) runs the convolutions, PReLU and pooling
        # faster than NCHW in this build.
        self.pnet, self.rnet, self.onet = (n.to(memory_format=torch.channels_last)
                                           for n in build_nets(load_weights(weights_path)))

    @torch.inference_mode()
    def detect(self, rgb, min_size=20.0, thresholds=(0.6, 0.7, 0.7), factor=0.709):
        """rgb: uint8 [H, W, 3]. Returns faces like the Go command's JSON."""
        H, W = rgb.shape[:2]
        t1, t2, t3 = (F32(t) for t in thresholds)
        factor = F32(factor)
        img = torch.from_numpy(NORMALISED[rgb[:, :, ::-1]])  # [H, W, 3] BGR
        flat = img.reshape(H * W, 3)

        # Stage one: the pyramid through P-Net.
        boxes, scores, regs = [], [], []
        side = F32(min(H, W))
        scale = F32(12) / F32(min_size)
        while F32(side * scale) > 12:
            hs, ws = int(F32(F32(H) * scale)), int(F32(F32(W) * scale))
            prob, reg = self.pnet(resize(img, hs, ws))
            p = prob[0, 1].numpy()
            r, c = np.nonzero(p > t1)
            if r.size:
                b = np.stack([(2 * r + 1).astype(F32) / scale, (2 * c + 1).astype(F32) / scale,
                              (2 * r + 12).astype(F32) / scale, (2 * c + 12).astype(F32) / scale], 1)
                s = p[r, c]
                g = reg[0].numpy()[:, r, c].T
                k = nms(b, s, F32(0.5))
                boxes.append(b[k]), scores.append(s[k]), regs.append(g[k])
            scale = F32(scale * factor)
        if not boxes:
            return []
        b, s, g = np.concatenate(boxes), np.concatenate(scores), np.concatenate(regs)
        k = nms(b, s, F32(0.7))
        b = square(regress(b[k], g[k]))

        # Stage two: R-Net.
        prob, reg = self.rnet(crop_and_resize(flat, H, W, b, 24))
        s, g = prob[:, 1, 0, 0].numpy(), reg[:, :, 0, 0].numpy()
        k = np.nonzero(s > t2)[0]
        if not k.size:
            return []
        b, s, g = b[k], s[k], g[k]
        k = nms(b, s, F32(0.7))
        b = square(regress(b[k], g[k]))

        # Stage three: O-Net, landmarks from the unregressed box.
        prob, reg, lm = self.onet(crop_and_resize(flat, H, W, b, 48))
        s, g, lm = prob[:, 1, 0, 0].numpy(), reg[:, :, 0, 0].numpy(), lm[:, :, 0, 0].numpy()
        k = np.nonzero(s > t3)[0]
        if not k.size:
            return []
        b, s, g, lm = b[k], s[k], g[k], lm[k]
        h, w = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        ly = b[:, 0:1] + h[:, None] * lm[:, :5]
        lx = b[:, 1:2] + w[:, None] * lm[:, 5:]
        b = regress(b, g)
        k = nms(b, s, F32(0.6))
        return [{"box": [float(b[i, 1]), float(b[i, 0]), float(b[i, 3]), float(b[i, 2])],
                 "score": float(s[i]),
                 "landmarks": [[float(lx[i, p]), float(ly[i, p])] for p in range(5)]} for i in k]


def read_rgb(path, width, height):
    data = np.fromfile(path, dtype=np.uint8)
    if data.size != width * height * 3:
        raise ValueError(f"{path}: {data.size} bytes, want {width}x{height}x3")
    return data.reshape(height, width, 3)


def timed(det, rgb, runs, min_size, thresholds, factor):
    ms, faces = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        faces = det.detect(rgb, min_size, thresholds, factor)
        ms.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": float(np.median(ms)) if ms else 0.0, "ms": ms, "faces": faces}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-weights", required=True, help="converted weights file (mtcnn.weights)")
    ap.add_argument("-threads", type=int, default=2)
    ap.add_argument("-serve", action="store_true", help="answer JSON requests on stdin, one per line")
    ap.add_argument("-image", help="raw 8-bit RGB file")
    ap.add_argument("-width", type=int)
    ap.add_argument("-height", type=int)
    ap.add_argument("-min-size", type=float, default=20)
    ap.add_argument("-factor", type=float, default=0.709)
    ap.add_argument("-thresholds", default="0.6,0.7,0.7")
    ap.add_argument("-runs", type=int, default=7)
    ap.add_argument("-warmup", type=int, default=1)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    det = Detector(a.weights)
    thresholds = tuple(float(t) for t in a.thresholds.split(","))

    if not a.serve:
        rgb = read_rgb(a.image, a.width, a.height)
        timed(det, rgb, a.warmup, a.min_size, thresholds, a.factor)
        print(json.dumps(timed(det, rgb, a.runs, a.min_size, thresholds, a.factor)))
        return

    images = {}
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        key = req["image"]
        if key not in images:
            images[key] = read_rgb(key, req["width"], req["height"])
        res = timed(det, images[key], req.get("runs", 1), req.get("min_size", 20),
                    tuple(req.get("thresholds", thresholds)), req.get("factor", a.factor))
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
