#!/usr/bin/env bash
# Renders a parity HTML report in headless Chromium and checks the screenshot is non-trivial.
#
#   scripts/check-report.sh REPORT.html [OUT.png]
#
# Needs Chromium (Debian: apt-get install -y chromium). Writes OUT.png (default: REPORT.png beside the
# report) at 1200x900 and fails when Chromium is missing (exit 2), when it produces no screenshot, or
# when the PNG is suspiciously small (a blank page compresses to a few KiB; a rendered chart and
# table do not). The report must be self-contained: Chromium runs without network access.
set -euo pipefail

report="${1:?usage: check-report.sh REPORT.html [OUT.png]}"
out="${2:-${report%.html}.png}"
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [[ -z "$chromium" ]]; then
  echo "check-report: chromium not found (apt-get install -y chromium)" >&2
  exit 2
fi
if [[ ! -f "$report" ]]; then
  echo "check-report: no such report '$report'" >&2
  exit 1
fi
abs="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
rm -f "$out"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# --user-data-dir keeps runs independent; --virtual-time-budget lets the inline script run first.
"$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size=1200,900 --virtual-time-budget=2000 --screenshot="$out" "file://$abs" >/dev/null 2>&1 || true
if [[ ! -s "$out" ]]; then
  echo "check-report: chromium produced no screenshot" >&2
  exit 1
fi
size=$(stat -c %s "$out")
if (( size < 20000 )); then
  echo "check-report: screenshot is only $size bytes; the page looks blank" >&2
  exit 1
fi
echo "check-report: $out ($size bytes)"
