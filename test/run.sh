#!/usr/bin/env bash
# Runs troupe's whole test suite. Does its own set-up on a fresh Debian 12
# machine (installs the packages it needs, configures and builds), then runs
# `meson test` and closes with one line: "N passed, N failed[, N skipped]",
# counting doctest cases across all test binaries.
#
#   test/run.sh [extra meson test arguments]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
"$root/bin/setup.sh" "$build" meson-test-prereq apps/dserver apps/console

set +e
meson test -C "$build" --print-errorlogs --num-processes 1 "$@"
rc=$?
set -e

python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, re, sys
passed = failed = skipped = 0
pat = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed\s*\|\s*(\d+) skipped")
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    lines = []
for line in lines:
    t = json.loads(line)
    m = pat.search(t.get("stdout", "") or "")
    if m and t.get("result") in ("OK", "FAIL", "SKIP"):
        passed += int(m.group(2)); failed += int(m.group(3)); skipped += int(m.group(4))
        if t.get("result") == "FAIL" and int(m.group(3)) == 0:
            failed += 1          # crashed or timed out after its last case
    elif t.get("result") == "OK":
        passed += 1
    elif t.get("result") == "SKIP":
        skipped += 1
    else:
        failed += 1
tail = f", {skipped} skipped" if skipped else ""
print(f"{passed} passed, {failed} failed{tail}")
PY
exit $rc
