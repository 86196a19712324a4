#!/usr/bin/env bash
# Slimming curves (issue 15): MACs against held-out output error and task agreement, for the trained
# PaddleOCR v4 text detector and version-RFB-320 face detector (fixtures/real) and the untrained
# GroupNorm RetinaNet fixture, each with data-aware fitting (--calibration) and fitted to the weights
# alone. Writes OUT/runs/<model>-<fit>-<F>.{onnx,map.json,manifest.json,slim.json,log} and prints the
# table of benchmarks/RESULTS.md ("Slimming"). Usage: benchmarks/slimming/curve.sh [F ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/modelbridge-slim}
FS=("${@:-0.9 0.8 0.7 0.6 0.5}")
FS=(${FS[@]})

/usr/bin/python3 fixtures/real/make_calibration.py "$OUT"
dotnet build -c Release src/ModelBridge.Cli/ModelBridge.Cli.csproj -v q -nologo
MB=src/ModelBridge.Cli/bin/Release/net10.0/linux-x64/ModelBridge.Cli
mkdir -p "$OUT/runs"

OCR=fixtures/real/ch_PP-OCRv4_det_infer
RFB=fixtures/real/version-RFB-320
RET=fixtures/retinanet_mbv2_gn_op13

run() { # name fit F args...
  local name=$1 fit=$2 f=$3; shift 3
  local base="$OUT/runs/$name-$fit-$f"
  /usr/bin/time -f "%e s, %M KB" -o "$base.time" "$MB" convert "$@" -t ort-nnapi -o "$base.onnx" --slim --target-macs "$f" > "$base.log" 2>&1 \
    || { echo "failed: $base (see $base.log)"; return 0; }
  echo "$base: $(cat "$base.time")"
}

for F in "${FS[@]}"; do
  run ocr data "$F" "$OCR/model.onnx" --input-shape x=1,3,192,384 --calibration "$OCR/calibration" \
    --holdout "$OUT/ch_PP-OCRv4_det_infer/holdout" --preprocess "$OCR/preprocess.json" --task binary-iou:sigmoid_0.tmp_0:0.3
  run ocr weights "$F" "$OCR/model.onnx" --input-shape x=1,3,192,384 \
    --holdout "$OUT/ch_PP-OCRv4_det_infer/holdout" --preprocess "$OCR/preprocess.json" --task binary-iou:sigmoid_0.tmp_0:0.3
  run rfb data "$F" "$RFB/model.onnx" --calibration "$OUT/version-RFB-320/calibration" \
    --holdout "$OUT/version-RFB-320/holdout" --preprocess "$RFB/preprocess.json" --task topk-overlap:scores:10:1
  run rfb weights "$F" "$RFB/model.onnx" \
    --holdout "$OUT/version-RFB-320/holdout" --preprocess "$RFB/preprocess.json" --task topk-overlap:scores:10:1
  run retinanet data "$F" "$RET/model.onnx" --calibration "$OUT/retinanet_mbv2_gn_op13/calibration" \
    --holdout "$OUT/retinanet_mbv2_gn_op13/holdout"
  run retinanet weights "$F" "$RET/model.onnx" --holdout "$OUT/retinanet_mbv2_gn_op13/holdout"
done
/usr/bin/python3 benchmarks/slimming/table.py "$OUT/runs"
