#!/usr/bin/python3
"""Real-size benchmark input (issue 17): a full-size GroupNorm RetinaNet, never committed.

torchvision's ResNet-50 + FPN (P3-P5 from C3-C5, P6/P7 from C5 as in the RetinaNet paper,
``LastLevelP6P7(2048, 256)``), and RetinaNet heads whose four conv towers use GroupNorm(32, 256)
as in torchvision's ``retinanet_resnet50_fpn_v2``; 9 anchors, 91 classes, 320x320 input.
About 38 M parameters, so a ~153 MB ONNX file. The heads return the raw per-level maps
(cls_p3..cls_p7, box_p3..box_p7) like the fixtures' detectors.

Everything else is fixtures/generate.py's: the same seeding, norm randomisation, deterministic
single-thread export with torch 1.13 (``torch.onnx.export``, opset 13, eval mode), the same
checker and test_data_set_0 writer (PyTorch's outputs are the reference).

    /usr/bin/python3 benchmarks/generate_retinanet.py [OUT_DIR]   # default benchmarks/data

writes OUT_DIR/retinanet_r50_gn_320/model.onnx and its test_data_set_0/. Deterministic: a
second run gives the same bytes. Skips the work when the model already exists (delete it to
regenerate).
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))

import generate as fx  # noqa: E402  (fixtures/generate.py: seeding, export settings, writers)
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision  # noqa: E402
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor  # noqa: E402
from torchvision.ops.feature_pyramid_network import LastLevelP6P7  # noqa: E402

NAME = "retinanet_r50_gn_320"
INPUT = (1, 3, 320, 320)  # P3..P7: 40x40, 20x20, 10x10, 5x5, 3x3
NUM_ANCHORS = 9
NUM_CLASSES = 91  # COCO, as torchvision's detection models
CHANNELS = 256
HEAD_CONVS = 4
GN_GROUPS = 32  # torchvision retinanet_resnet50_fpn_v2: partial(nn.GroupNorm, 32)
SEED = 1701


class Backbone(nn.Module):
    """torchvision's BackboneWithFPN, returning the five pyramid levels as a list."""

    def __init__(self):
        super().__init__()
        resnet = torchvision.models.resnet50(weights=None)
        self.body = _resnet_fpn_extractor(resnet, trainable_layers=5, returned_layers=[2, 3, 4],
                                          extra_blocks=LastLevelP6P7(2048, CHANNELS))

    def forward(self, x):
        return list(self.body(x).values())


def tower():
    layers = []
    for _ in range(HEAD_CONVS):
        layers += [nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1), nn.GroupNorm(GN_GROUPS, CHANNELS), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class Head(nn.Module):
    """RetinaNet classification and box subnets (GroupNorm towers), shared across levels."""

    def __init__(self):
        super().__init__()
        self.cls_subnet = tower()
        self.cls_score = nn.Conv2d(CHANNELS, NUM_ANCHORS * NUM_CLASSES, 3, padding=1)
        self.bbox_subnet = tower()
        self.bbox_pred = nn.Conv2d(CHANNELS, NUM_ANCHORS * 4, 3, padding=1)

    def forward(self, feats):
        cls = [self.cls_score(self.cls_subnet(f)) for f in feats]
        box = [self.bbox_pred(self.bbox_subnet(f)) for f in feats]
        return cls, box


class Model(nn.Module):
    """backbone (ResNet-50 + FPN) -> head; flat tuple of per-level outputs (fixtures' Detector)."""

    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.head = Head()

    def forward(self, x):
        cls, box = self.head(self.backbone(x))
        return tuple(cls) + tuple(box)


def main(argv):
    out_root = os.path.abspath(argv[0]) if argv else os.path.join(HERE, "data")
    out_dir = os.path.join(out_root, NAME)
    model_path = os.path.join(out_dir, "model.onnx")
    if os.path.exists(model_path) and os.path.exists(os.path.join(out_dir, "test_data_set_0", "input_0.pb")):
        print(f"{model_path} exists ({os.path.getsize(model_path) / 1e6:.1f} MB)")
        return
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    torch.manual_seed(SEED)
    model = Model()
    fx.randomize_norm_layers(model)
    fx.randomize_zero_biases(model)
    model.eval()
    inputs = [torch.rand(*INPUT)]
    with torch.no_grad():
        outputs = list(model(*inputs))
    assert all(torch.isfinite(t).all() for t in outputs)
    tmp = model_path + ".tmp"
    torch.onnx.export(model, tuple(inputs), tmp, opset_version=13, input_names=["input"],
                      output_names=fx.det_output_names("cls", "box"), training=torch.onnx.TrainingMode.EVAL)
    os.replace(tmp, model_path)
    m = fx.check_and_write(NAME, model_path, inputs, outputs)
    print(f"{model_path}: {len(m.graph.node)} nodes, {os.path.getsize(model_path) / 1e6:.1f} MB, "
          f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
