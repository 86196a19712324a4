#!/usr/bin/python3
"""Prints the slimming curves (benchmarks/RESULTS.md) from the OUT.slim.json files curve.sh wrote."""
import glob
import json
import os
import sys

NAMES = {"ocr": "PaddleOCR v4 det", "rfb": "version-RFB-320", "retinanet": "retinanet_mbv2_gn_op13"}

runs = sys.argv[1] if len(sys.argv) > 1 else "/tmp/modelbridge-slim/runs"
rows = []
for path in glob.glob(os.path.join(runs, "*.slim.json")):
    name, fit, f = os.path.basename(path)[: -len(".slim.json")].rsplit("-", 2)
    r = json.load(open(path))
    m, h = r["model"], r["heldOut"]
    outs = h["outputs"]
    worst = max(outs, key=lambda o: o["normalizedRmsError"] or 0)
    task = h["tasks"][0] if h["tasks"] else None
    slimmed = [l for l in r["layers"] if l["method"] != "kept"]
    methods = {}
    for l in slimmed:
        methods[l["method"]] = methods.get(l["method"], 0) + 1
    timing = path.replace(".slim.json", ".time")
    seconds = open(timing).read().strip().replace(" KB", " KB peak") if os.path.exists(timing) else "?"
    rows.append((NAMES.get(name, name), fit, float(f), m["macsAfter"] / 1e6, m["macsFraction"], m["parametersAfter"], m["parametersBefore"],
                 worst["normalizedRmsError"], worst["output"] if len(outs) > 1 else "", max(o["relativeToMax"] for o in outs),
                 task, len(slimmed), len(r["layers"]), methods, seconds, r["macsBefore"] if "macsBefore" in r else m["macsBefore"]))

rows.sort(key=lambda x: (x[0], x[1], -x[2]))
print("| model | fit | F | MACs after (M) | fraction | params after | held-out NRMSE (worst output) | held-out rel-to-max | task agreement mean (worst) | layers slimmed (channel/spatial/separable) | convert (wall, peak RSS) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (model, fit, f, macs, frac, pa, pb, nrmse, out, rel, task, n, total, methods, secs, _) in rows:
    t = f"{task['mean']:.3f} ({task['min']:.3f})" if task else "-"
    mix = "/".join(str(methods.get(k, 0)) for k in ("channel", "spatial", "separable"))
    o = f" ({out})" if out else ""
    print(f"| {model} | {fit} | {f:g} | {macs:.1f} | {frac:.3f} | {pa:,} of {pb:,} | {nrmse:.4f}{o} | {rel:.3f} | {t} | {n} of {total} ({mix}) | {secs} |")
