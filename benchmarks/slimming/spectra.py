#!/usr/bin/python3
"""Weight spectra behind the slimming curves: how much of each conv weight's energy its leading singular
values hold (channel decomposition's SVD, W as C_out x C_in*K*K, BatchNorm folded in where a BN follows).

For every standard conv carrying at least 0.5 % of the model's MACs (the layers slimming considers) it
prints the share of ||W||_F^2 in the top 25 % and 50 % of the singular values, the relative weight error
left at half rank (sqrt of the rest), and their MAC-weighted means per model.
Usage: /usr/bin/python3 benchmarks/slimming/spectra.py
"""
import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

MODELS = [
    ("PaddleOCR v4 det", "fixtures/real/ch_PP-OCRv4_det_infer/model.onnx", (192, 384)),
    ("version-RFB-320", "fixtures/real/version-RFB-320/model.onnx", None),
    ("retinanet_mbv2_gn_op13", "fixtures/retinanet_mbv2_gn_op13/model.onnx", None),
]


def load(path, hw):
    m = onnx.load(path)
    if hw:
        d = m.graph.input[0].type.tensor_type.shape.dim
        for i, v in enumerate((1, 3) + hw):
            d[i].Clear()
            d[i].dim_value = v
        for o in m.graph.output:
            for d in o.type.tensor_type.shape.dim:
                d.Clear()
    return shape_inference.infer_shapes(m)


for name, path, hw in MODELS:
    m = load(path, hw)
    consts = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    for n in m.graph.node:  # shared weights behind Identity
        if n.op_type == "Identity" and n.input[0] in consts:
            consts[n.output[0]] = consts[n.input[0]]
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in list(m.graph.value_info) + list(m.graph.output)}
    bn = {n.input[0]: n for n in m.graph.node if n.op_type == "BatchNormalization"}
    rows, total = [], 0
    for n in m.graph.node:
        if n.op_type == "ConvTranspose" or n.op_type == "Conv":
            w = consts[n.input[1]]
            y = shapes.get(n.output[0]) if n.op_type == "Conv" else shapes.get(n.input[0])
            macs = int(np.prod(y)) * int(np.prod(w.shape[1:])) if y else 0
            total += macs
            group = next((a.i for a in n.attribute if a.name == "group"), 1)
            if n.op_type == "Conv" and group == 1:
                if n.output[0] in bn:  # fold the BN scale into the output channels
                    b = bn[n.output[0]]
                    gamma, var = consts[b.input[1]], consts[b.input[4]]
                    eps = next((a.f for a in b.attribute if a.name == "epsilon"), 1e-5)
                    w = w * (gamma / np.sqrt(var + eps))[:, None, None, None]
                rows.append((n.name or n.output[0], w.reshape(w.shape[0], -1).astype(np.float64), macs))
    keep = [(r, mat, macs) for r, mat, macs in rows if macs >= 0.005 * total]
    share25 = share50 = err50 = weight = 0.0
    for _, mat, macs in keep:
        s = np.linalg.svd(mat, compute_uv=False) ** 2
        k25, k50 = max(1, len(s) // 4), max(1, len(s) // 2)
        share25 += macs * s[:k25].sum() / s.sum()
        share50 += macs * s[:k50].sum() / s.sum()
        err50 += macs * np.sqrt(s[k50:].sum() / s.sum())
        weight += macs
    print(f"{name}: {len(keep)} convs; energy in the top 25% of singular values {share25 / weight:.3f}, "
          f"top 50% {share50 / weight:.3f}; weight error at half rank {err50 / weight:.3f} (MAC-weighted)")
