#!/usr/bin/env python3
"""Cross-check align's box crops against facenet-pytorch's extract_face on
PIL images (not run by CI; Debian: apt-get install python3-pil).

Usage:

    mtcnn detect -json -crop box -crop-size S -crop-margin M -crops GODIR IMAGE > faces.json
    python3 crosscheck_pil.py IMAGE faces.json GODIR S M [REFDIR]

The crop is extract_face's: the box grown by margin*(x2-x1)/(S-margin)
(likewise vertically), clipped, truncated with int(), then
img.crop(box).resize((S, S), Image.BILINEAR). It prints the mean absolute
grey-level difference with GODIR/<stem>_<i>.png over the whole crop, per
face and the worst, and exits 1 if any exceeds 2. With REFDIR it also
writes PIL's crops there as <stem>_<i>_pil<S>m<M>.png (how testdata/pil/
was made, for TestBoxCropMatchesPIL).
"""
import json
import os
import sys

from PIL import Image


def grey(px):
    return [0.299 * r + 0.587 * g + 0.114 * b for r, g, b in px]


def main():
    image, faces_json, godir, size, margin = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    img = Image.open(image).convert("RGB")
    stem = os.path.splitext(os.path.basename(image))[0]
    with open(faces_json) as f:
        faces = json.loads(f.readline())["faces"]
    worst = 0.0
    for i, face in enumerate(faces):
        box = face["box"]
        m = [margin * (box[2] - box[0]) / (size - margin), margin * (box[3] - box[1]) / (size - margin)]
        box = [int(max(box[0] - m[0] / 2, 0)), int(max(box[1] - m[1] / 2, 0)),
               int(min(box[2] + m[0] / 2, img.size[0])), int(min(box[3] + m[1] / 2, img.size[1]))]
        ref = img.crop(box).copy().resize((size, size), Image.BILINEAR)
        if len(sys.argv) > 6:
            ref.save(os.path.join(sys.argv[6], "%s_%d_pil%dm%g.png" % (stem, i, size, margin)))
        got = Image.open(os.path.join(godir, "%s_%d.png" % (stem, i))).convert("RGB")
        a, b = grey(list(got.getdata())), grey(list(ref.getdata()))
        mad = sum(abs(x - y) for x, y in zip(a, b)) / len(a)
        worst = max(worst, mad)
        print("face %d: box %s, mean absolute difference %.4f grey levels" % (i, box, mad))
    print("%d faces, size %d, margin %g: worst %.4f grey levels (limit 2)" % (len(faces), size, margin, worst))
    sys.exit(1 if worst > 2 else 0)


if __name__ == "__main__":
    main()
