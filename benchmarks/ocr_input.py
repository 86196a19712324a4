#!/usr/bin/python3
"""A 1x3x640x640 input for the PaddleOCR v4 detector (dynamic N, H, W), never committed.

skimage's page.png (a scanned text page, shipped by Debian's python3-skimage) as RGB, resized to
640x640 and normalised with ImageNet mean/std as PaddleOCR's DetResizeForTest/NormalizeImage do.

    /usr/bin/python3 benchmarks/ocr_input.py [OUT_DIR]   # default benchmarks/data

writes OUT_DIR/ppocr_det_640/test_data_set_0/input_0.pb (TensorProto named "x").
"""

import os
import sys

import numpy as np
from onnx import numpy_helper
from skimage import data, transform

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    out_root = os.path.abspath(argv[0]) if argv else os.path.join(HERE, "data")
    out_dir = os.path.join(out_root, "ppocr_det_640", "test_data_set_0")
    path = os.path.join(out_dir, "input_0.pb")
    if os.path.exists(path):
        print(f"{path} exists")
        return
    os.makedirs(out_dir, exist_ok=True)
    page = data.page().astype(np.float32) / 255.0  # grey, 191x384
    rgb = np.stack([page] * 3, axis=-1)
    img = transform.resize(rgb, (640, 640), order=1, anti_aliasing=False).astype(np.float32)
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    x = ((img - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(x), "x").SerializeToString())
    print(f"{path}: {x.shape}")


if __name__ == "__main__":
    main(sys.argv[1:])
