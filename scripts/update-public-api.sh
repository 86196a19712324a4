#!/usr/bin/env bash
# Adds every public symbol that PublicAPI.*.txt does not list yet to PublicAPI.Unshipped.txt (RS0016) and
# drops the entries that no longer exist (RS0017), for the two tracked libraries, keeping the file's order
# (case-insensitive). The symbols are taken verbatim from the analyzer's own messages in a full build.
# Review the diff: it is the change to the public surface.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build ModelBridge.sln --no-incremental 2>&1 | python3 -c '
import collections, os, re, sys
add, drop = collections.defaultdict(set), collections.defaultdict(set)
for line in sys.stdin:
    m = re.search(r"(RS001[67]): Symbol \x27(.*)\x27 is (?:not )?part of the declared.*\[(.*)\.csproj\]", line)
    if m:
        (add if m.group(1) == "RS0016" else drop)[m.group(3)].add(m.group(2))
for project in sorted(set(add) | set(drop)):
    path = os.path.join(os.path.dirname(project), "PublicAPI.Unshipped.txt")
    lines = open(path).read().splitlines()
    header = [l for l in lines if l.startswith("#")]
    body = {l for l in lines if l and not l.startswith("#")} - drop[project] | add[project]
    open(path, "w").write("\n".join(header + sorted(body, key=str.lower)) + "\n")
    print(f"{path}: +{len(add[project])} -{len(drop[project])}")
'
git --no-pager diff --stat -- 'src/*/PublicAPI.*.txt'
