#!/usr/bin/env bash
# scripts/gpu_check.sh CAMVID_DIR [OUT_DIR]: what a GPU machine should show, in one command, within
# 8 minutes, written to OUT_DIR/gpu_check.json (default OUT_DIR: gpu_check):
#
#   1. suite   the test suite on real CuPy (TINYSEG_BACKEND=cupy; notebooks left out, they run on
#              NumPy whatever the backend), counts from pytest's JUnit XML
#   2. bench   python -m tinyseg.bench --backend cupy --compare torch at 360x480, batch 1 and 4
#              (memory-pool peaks at batch 4)
#   3. train   a timed CamVid training of 300 iterations (paper recipe: 360x480, batch 4), stopped
#              with Ctrl-C when it runs out of time, so that it still saves and logs
#
# Run it from the repository root, with CuPy and PyTorch (CUDA) installed in the active Python.
# Each step has its own time limit; a step that fails or times out is recorded (exit code, seconds,
# the end of its log) and the others still run. CAMVID_DIR: the SegNet tutorial layout with train/
# and val/ (e.g. a copy of ../shared/camvid-q95, 37 MB).
# The suite runs first, so that CuPy has compiled (and cached on disk) most kernels before
# anything is timed. Knobs for trying the script out (e.g. on the CuPy double, see docs/performance.md):
# BENCH_SIZE, TRAIN_SIZE, TRAIN_ITERS, COMPARE (empty: no PyTorch twin), SUITE (0: skip the suite).
set -uo pipefail

DATA=${1:?usage: scripts/gpu_check.sh CAMVID_DIR [OUT_DIR]}
OUT=${2:-gpu_check}
BENCH_SIZE=${BENCH_SIZE:-360x480}
TRAIN_ITERS=${TRAIN_ITERS:-300}
TRAIN_SIZE=${TRAIN_SIZE:-}
COMPARE=${COMPARE-torch}
SUITE=${SUITE:-1}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
: > "$OUT/steps.tsv"

step() {  # step NAME LIMIT_S COMMAND...: run it under a time limit, note its exit code and seconds
    local name=$1 limit=$2 start rc
    shift 2
    echo "== $name (at most ${limit}s): $*" >&2
    start=$(date +%s%N)
    timeout -s INT -k 30 "$limit" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(( ($(date +%s%N) - start) / 1000000 ))" >> "$OUT/steps.tsv"
    echo "   exit $rc" >&2
}

if [ "$SUITE" = 1 ]; then
    step suite 190 env TINYSEG_BACKEND=cupy python -m pytest -q -p no:cacheprovider \
        --ignore=tests/test_notebooks.py --junitxml="$OUT/suite.xml"
fi
compare=()
[ -n "$COMPARE" ] && compare=(--compare "$COMPARE")
step bench_b1 55 python -m tinyseg.bench --backend cupy ${compare[@]+"${compare[@]}"} --size "$BENCH_SIZE" --batch-size 1 \
    --repeats 3 --no-memory --json "$OUT/bench_b1.json"
step bench_b4 95 python -m tinyseg.bench --backend cupy ${compare[@]+"${compare[@]}"} --size "$BENCH_SIZE" --batch-size 4 \
    --repeats 3 --json "$OUT/bench_b4.json"
size=()
[ -n "$TRAIN_SIZE" ] && size=(--size "$TRAIN_SIZE")
step train 130 python -m tinyseg.train --backend cupy --data "$DATA" --recipe camvid ${size[@]+"${size[@]}"} \
    --iters "$TRAIN_ITERS" --val-every "$TRAIN_ITERS" --log-every 25 --workers 8 --out "$OUT/train"

python - "$OUT" "$DATA" <<'EOF'
"""Gather every step's figures into OUT/gpu_check.json."""
import json
import platform
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

out, data = Path(sys.argv[1]), sys.argv[2]
result = {"data": data, "steps": {}}
for line in (out / "steps.tsv").read_text().splitlines():
    name, rc, ms = line.split("\t")
    log = (out / f"{name}.log").read_text(errors="replace")
    result["steps"][name] = {"exit_code": int(rc), "seconds": round(int(ms) / 1000, 1),
                             "timed_out": int(rc) in (124, 130, 137),
                             "log_tail": re.split(r"[\r\n]+", log.strip())[-15:]}
try:
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True, check=True).stdout.strip()
except (OSError, subprocess.CalledProcessError) as exc:
    smi = f"nvidia-smi failed: {exc}"
result["machine"] = {"gpu": smi, "python": platform.python_version()}
for module in ("cupy", "torch", "numpy"):
    try:
        result["machine"][module] = __import__(module).__version__
    except ImportError:
        result["machine"][module] = None
if (out / "suite.xml").is_file():
    suite = ET.parse(out / "suite.xml").getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    result["suite"] = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    result["suite"]["failed"] = [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
                                 if case.find("failure") is not None or case.find("error") is not None]
for b in ("b1", "b4"):
    path = out / f"bench_{b}.json"
    if path.is_file():
        bench = json.loads(path.read_text())
        result[f"bench_{b}"] = {"figures": bench["figures"], "flops": bench["flops"]}
metrics = out / "train" / "metrics.jsonl"
if metrics.is_file():
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    losses = [r for r in records if "loss" in r]
    seconds = result["steps"]["train"]["seconds"]
    rates = re.findall(r"([\d.]+)(it/s|s/it)", (out / "train.log").read_text(errors="replace"))
    result["train"] = {
        "iterations": len(losses), "seconds_with_setup_and_validation": seconds,
        "progress_bar_rate": " ".join(rates[-1]) if rates else None,
        "first_loss": losses[0]["loss"] if losses else None, "last_loss": losses[-1]["loss"] if losses else None,
        "validation": [r for r in records if "miou" in r],
    }
(out / "gpu_check.json").write_text(json.dumps(result, indent=2) + "\n")
print(f"wrote {out / 'gpu_check.json'}:", json.dumps({k: v["exit_code"] for k, v in result["steps"].items()}))
EOF
