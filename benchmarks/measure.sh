#!/usr/bin/env bash
# Whole-process figures (issue 17): each ModelBridge command beside its floor, measured with
# /usr/bin/time -f '%e %M' (wall seconds, peak RSS KiB), RUNS rounds interleaved (command, floor,
# command, floor, ...), medians reported. Prints a markdown table and writes it to OUT (default
# benchmarks/data/whole-process.md).
#
#   benchmarks/measure.sh [RUNS]        RUNS defaults to 3
#
# Inputs are generated on first use into benchmarks/data (git-ignored, never committed):
#   retinanet_r50_gn_320  full-size GroupNorm RetinaNet, ResNet50-FPN, 320x320, ~153 MB (generate_retinanet.py)
#   ppocr_det_640         a 640x640 page for ../shared/real-models/ch_PP-OCRv4_det_infer.onnx (ocr_input.py)
# Needs /usr/bin/time (Debian package 'time'), /usr/bin/python3 with torch, torchvision, onnx, skimage.
set -euo pipefail
runs="${1:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
data="$root/benchmarks/data"
out="${OUT:-$data/whole-process.md}"
ocr_model="${OCR_MODEL:-$root/../../shared/real-models/ch_PP-OCRv4_det_infer.onnx}"
[ -f "$ocr_model" ] || ocr_model=/work/shared/real-models/ch_PP-OCRv4_det_infer.onnx
[ -x /usr/bin/time ] || { echo "measure.sh: /usr/bin/time missing (apt-get install -y time)" >&2; exit 2; }

/usr/bin/python3 "$root/benchmarks/generate_retinanet.py" "$data" >&2
/usr/bin/python3 "$root/benchmarks/ocr_input.py" "$data" >&2

echo "publishing Release (the tool as packed: ReadyToRun) ..." >&2
rm -rf "$data/bin"
dotnet publish -c Release "$root/src/ModelBridge.Cli" -o "$data/bin/cli" -v q -nologo >/dev/null
dotnet build -c Release "$root/benchmarks/ModelBridge.Benchmarks" -v q -nologo >/dev/null
mb="$data/bin/cli/ModelBridge.Cli"
floor="$root/benchmarks/ModelBridge.Benchmarks/bin/Release/net10.0/linux-x64/ModelBridge.Benchmarks"

retina="$data/retinanet_r50_gn_320/model.onnx"
retina_inputs="$data/retinanet_r50_gn_320/test_data_set_0"
ocr_inputs="$data/ppocr_det_640/test_data_set_0"
tiny="$root/fixtures/groupnorm_noaffine/model.onnx"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
file_mb=$(awk -v b="$(stat -c %s "$retina")" 'BEGIN { printf "%.1f", b / 1048576 }')

# The converted models verify compares against (made once, outside the timings).
"$mb" convert "$retina" --target ort-nnapi -o "$work/retina.onnx" >/dev/null
"$mb" convert "$ocr_model" --target ort-nnapi -o "$work/ocr.onnx" >/dev/null

declare -A names
order=()
# measure KEY LABEL CMD...: one timed run; records "wall rss exit cpu" (cpu = user + sys seconds).
measure() {
  local key="$1" label="$2"
  shift 2
  if [ -z "${names[$key]:-}" ]; then names[$key]="$label"; order+=("$key"); fi
  local rc=0
  /usr/bin/time -f '%e %M %U %S' -o "$work/t" "$@" >"$work/$key.out" 2>&1 || rc=$?
  tail -1 "$work/t" | awk -v rc="$rc" '{ print $1, $2, rc, $3 + $4 }' >>"$work/$key.txt"
}

for ((r = 1; r <= runs; r++)); do
  echo "round $r/$runs ..." >&2
  measure convert "modelbridge convert --target ort-nnapi (${file_mb} MiB)" \
    "$mb" convert "$retina" --target ort-nnapi -o "$work/out.onnx" --force
  measure py_floor "floor: python3 onnx.save(onnx.load(m))" \
    /usr/bin/python3 -c "import onnx, sys; onnx.save(onnx.load(sys.argv[1]), sys.argv[2])" "$retina" "$work/py.onnx"
  measure verify "modelbridge verify --map --inputs (default budget)" \
    "$mb" verify "$retina" "$work/retina.onnx" --map "$work/retina.map.json" --inputs "$retina_inputs" --report "$work/rep-default"
  measure verify512 "modelbridge verify --max-memory 512MB" \
    "$mb" verify "$retina" "$work/retina.onnx" --map "$work/retina.map.json" --inputs "$retina_inputs" --max-memory 512MB --report "$work/rep-512"
  measure infer_floor "floor: two plain inferences, two fresh ORT sessions" \
    "$floor" floor-infer "$retina" "$work/retina.onnx" "$retina_inputs"
  measure ocr_verify "modelbridge verify PP-OCRv4 det at 640x640" \
    "$mb" verify "$ocr_model" "$work/ocr.onnx" --map "$work/ocr.map.json" --inputs "$ocr_inputs" --report "$work/rep-ocr"
  measure ocr_floor "floor: PP-OCRv4 det, two plain inferences" \
    "$floor" floor-infer "$ocr_model" "$work/ocr.onnx" "$ocr_inputs"
  measure help "modelbridge --help" "$mb" --help
  measure tiny "modelbridge convert (tiny: groupnorm_noaffine)" "$mb" convert "$tiny" --target ort-nnapi -o "$work/tiny.onnx" --force
  measure dotnet_floor "floor: .NET app printing usage" "$floor" floor-infer
done

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
{
  echo "Whole process, medians of $runs interleaved runs ($(date -u +%Y-%m-%d), $(nproc) cores; \`benchmarks/measure.sh $runs\`)."
  echo
  echo "| command | wall s | CPU s | peak RSS MiB | exit | runs (wall s / RSS MiB) |"
  echo "|---|---:|---:|---:|---:|---|"
  for key in "${order[@]}"; do
    f="$work/$key.txt"
    wall=$(cut -d' ' -f1 "$f" | median)
    rss=$(cut -d' ' -f2 "$f" | median)
    rc=$(cut -d' ' -f3 "$f" | sort -u | paste -sd/)
    cpu=$(cut -d' ' -f4 "$f" | median)
    all=$(awk '{ printf "%s%.2f/%.0f", (NR > 1 ? ", " : ""), $1, $2 / 1024 }' "$f")
    printf '| %s | %.2f | %.2f | %.0f | %s | %s |\n' "${names[$key]}" "$wall" "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$rc" "$all"
  done
  echo
  # Ratios to the floor measured in the same round (robust to load drifting between rounds).
  echo "| ratio (same round) | wall: median (per round) | peak RSS |"
  echo "|---|---:|---:|"
  for pair in "convert py_floor" "verify infer_floor" "verify512 infer_floor" "ocr_verify ocr_floor" "help dotnet_floor" "tiny dotnet_floor"; do
    set -- $pair
    ratios=$(paste -d' ' "$work/$1.txt" "$work/$2.txt" | awk '{ printf "%.2f\n", $1 / $5 }')
    med=$(echo "$ratios" | median)
    rss=$(paste -d' ' "$work/$1.txt" "$work/$2.txt" | awk '{ print $2 / $6 }' | median)
    printf '| %s / %s | %.2fx (%s) | %.2fx |\n' "$1" "$2" "$med" "$(echo "$ratios" | paste -sd' ')" "$rss"
  done
  echo
  awk -v kb="$(cut -d' ' -f2 "$work/convert.txt" | median)" -v b="$(stat -c %s "$retina")" \
    'BEGIN { printf "convert peak RSS / model file: %.2fx (%.0f MiB / %.1f MiB)\n", kb * 1024 / b, kb / 1024, b / 1048576 }'
  echo
  for rep in rep-default rep-512 rep-ocr; do
    [ -f "$work/$rep/parity.json" ] || continue
    /usr/bin/python3 - "$work/$rep/parity.json" "$rep" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["run"]
extra = ""
if "exposedPeakBytes" in r:
    extra = f", exposed tensors held at once {r['exposedPeakBytes'] / 2**20:.0f} MiB measured"
print(f"- {sys.argv[2]} (last run): {r['chunks']} chunk(s), {r['ortRuns']} ORT runs, largest chunk "
      f"{r['largestChunkBytes'] / 2**20:.0f} MiB of {r['maxMemoryBytes'] / 2**20:.0f} MiB, peak working set "
      f"{r['peakWorkingSetBytes'] / 2**20:.0f} MiB{extra}, {r['elapsedMs'] / 1000:.2f} s")
EOF
  done
} | tee "$out"
echo "wrote $out" >&2
