#!/usr/bin/env python3
"""Cross-check align's ArcFace crops against OpenCV (not run by CI).

Usage (Debian: apt-get install python3-opencv):

    mtcnn detect -json -crop-size 112 -crops GODIR IMAGE > faces.json
    python3 crosscheck_opencv.py IMAGE faces.json GODIR 112 [REFDIR]

For each face, the similarity is Umeyama's least-squares estimate (as
skimage's SimilarityTransform.estimate, which InsightFace uses) from the
five landmarks onto the ArcFace template scaled by size/112, and the crop
is cv2.warpAffine(INTER_LINEAR, BORDER_CONSTANT 0). It prints the mean
absolute grey-level difference with GODIR/<stem>_<i>.png inside an 8-pixel
border, per face and the worst, and exits 1 if any exceeds 2. With
REFDIR it also writes OpenCV's crops there as <stem>_<i>_opencv<size>.png
(how testdata/opencv/ was made, for TestArcFaceMatchesOpenCV).
"""
import json
import os
import sys

import cv2
import numpy as np

TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]])


def umeyama(src, dst):
    """Umeyama (1991) similarity, as skimage's _umeyama with scaling."""
    n, m = src.shape
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    sd, dd = src - src_mean, dst - dst_mean
    a = dd.T @ sd / n
    d = np.ones(m)
    if np.linalg.det(a) < 0:
        d[m - 1] = -1
    t = np.eye(m + 1)
    u, s, vt = np.linalg.svd(a)
    t[:m, :m] = u @ np.diag(d) @ vt
    scale = 1.0 / sd.var(0).sum() * (s @ d)
    t[:m, m] = dst_mean - scale * (t[:m, :m] @ src_mean)
    t[:m, :m] *= scale
    return t[:2]


def grey(bgr):
    bgr = bgr.astype(np.float64)
    return 0.299 * bgr[..., 2] + 0.587 * bgr[..., 1] + 0.114 * bgr[..., 0]


def main():
    image, faces_json, godir, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    img = cv2.imread(image, cv2.IMREAD_COLOR)
    stem = os.path.splitext(os.path.basename(image))[0]
    with open(faces_json) as f:
        faces = json.loads(f.readline())["faces"]
    tpl = TEMPLATE * size / 112.0
    worst = 0.0
    for i, face in enumerate(faces):
        m = umeyama(np.array(face["landmarks"], dtype=np.float64), tpl)
        ref = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if len(sys.argv) > 5:
            cv2.imwrite(os.path.join(sys.argv[5], "%s_%d_opencv%d.png" % (stem, i, size)), ref)
        got = cv2.imread(os.path.join(godir, "%s_%d.png" % (stem, i)), cv2.IMREAD_COLOR)
        b = 8
        mad = np.abs(grey(got)[b:-b, b:-b] - grey(ref)[b:-b, b:-b]).mean()
        worst = max(worst, mad)
        print("face %d: mean absolute difference %.4f grey levels" % (i, mad))
    print("%d faces, size %d: worst %.4f grey levels (limit 2)" % (len(faces), size, worst))
    sys.exit(1 if worst > 2 else 0)


if __name__ == "__main__":
    main()
