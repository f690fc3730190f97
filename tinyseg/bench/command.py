"""The command: its options, the run that gathers every figure asked for, and ``main``, which prints them."""

from __future__ import annotations

import argparse
import json
import os
import statistics
from typing import Any

from .. import interop, models
from ..cli import CLIError, parse_size, run_command
from ..engine import backend
from ..io.storage import write_json
from .machine import machine_info, set_threads
from .memory import measure_memory, memory_worker, storage_report
from .report import report
from .timing import count_flops, gemm_ceiling, profile_step, time_modes
from .workloads import MODES, TinysegWorkload, make_batch, make_workload

__all__ = ["build_parser", "parse_args", "run", "main"]

DESCRIPTION = "python -m tinyseg.bench: how fast a model trains and predicts, and how much memory it takes."


def build_parser() -> argparse.ArgumentParser:
    """The bench's options, as ``python -m tinyseg.bench --help`` lists them (docs/performance.md too)."""
    p = argparse.ArgumentParser(
        prog="python -m tinyseg.bench", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="segnet_basic", choices=models.available())
    p.add_argument("--size", type=parse_size, default="360x480", help="HEIGHTxWIDTH (default 360x480)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--backend", default="numpy", choices=backend.BACKENDS)
    p.add_argument("--mode", default="both", choices=("inference", "training", "both"))
    p.add_argument("--warmup", type=int, default=1, help="untimed runs per figure (default 1)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per figure; the median is reported")
    p.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="BLAS and PyTorch threads (default: all CPUs)"
    )
    p.add_argument("--compare", choices=("torch",), help="also run the PyTorch twin, alternating with tinyseg")
    p.add_argument("--profile", action="store_true", help="time every op (forward and backward) in one extra step")
    p.add_argument(
        "--ceiling",
        action="store_true",
        help="also time float32 matrix products of the shapes the convolutions use (the GEMM ceiling)",
    )
    p.add_argument(
        "--storage", action="store_true", help="SegNet-Basic vs FCN-Basic: decoder storage and inference memory"
    )
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs (they start fresh processes)")
    p.add_argument(
        "--host-malloc",
        default="default",
        choices=("default", "keep"),
        help="default: glibc maps and unmaps every big array; keep: freed memory is reused "
        "(backend.keep_freed_host_memory, what the training command runs with); "
        "either way both frameworks alike, as they share the process",
    )
    p.add_argument("--num-classes", type=int, default=11)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write every figure to this JSON file")
    p.add_argument("--memory-worker", nargs=2, metavar=("FRAMEWORK", "MODE"), help=argparse.SUPPRESS)
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The bench's options (``python -m tinyseg.bench --help``), checked."""
    args = build_parser().parse_args(argv)
    if args.batch_size < 1 or args.repeats < 1 or args.warmup < 0 or args.threads < 1:
        raise CLIError("--batch-size, --repeats and --threads must be >= 1, --warmup >= 0")
    if args.model not in interop.TWINS and args.compare:
        raise CLIError(f"--compare torch: no PyTorch twin for {args.model} ({', '.join(interop.TWINS)} have one)")
    return args


def _speed(times: list[float], batch_size: int, flops: int) -> dict[str, Any]:
    """The median of ``times`` (seconds per step) as seconds, images/s and GFLOP/s."""
    t = statistics.median(times)
    return {"time_s": t, "times_s": times, "images_per_s": batch_size / t, "gflops": flops / t / 1e9}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every figure that ``args`` asks for, as a JSON-ready dict (what ``--json`` writes)."""
    backend.use(args.backend)
    compare = args.compare == "torch"
    set_threads(args.threads, compare)
    modes = MODES if args.mode == "both" else (args.mode,)
    x, labels = make_batch(args.batch_size, args.size, args.num_classes, args.seed)
    frameworks = ["tinyseg", "torch"] if compare else ["tinyseg"]
    workloads = [make_workload(f, args.model, x, labels, args.num_classes, args.seed) for f in frameworks]
    ours = workloads[0]
    assert isinstance(ours, TinysegWorkload)
    flops = count_flops(ours, modes)
    times = time_modes(workloads, modes, args.warmup, args.repeats)
    figures: dict[str, dict[str, dict[str, Any]]] = {}
    for w in workloads:
        figures[w.framework] = {}
        for mode in modes:
            figures[w.framework][mode] = _speed(times[w.framework][mode], args.batch_size, flops[mode])
            if not args.no_memory:
                figures[w.framework][mode].update(measure_memory(w.framework, mode, args))
    result: dict[str, Any] = {
        "args": {k: v for k, v in vars(args).items() if k != "memory_worker"},
        "machine": machine_info(compare),
        "modes": list(modes),
        "flops": flops,
        "figures": figures,
    }
    if args.ceiling:
        result["ceiling"] = gemm_ceiling(args.size, args.batch_size)
    if args.profile:
        mode = "training" if "training" in modes else "inference"
        rows, total = profile_step(ours, mode)
        result["profile"] = {"mode": mode, "total_s": total, "rows": rows}
    if args.storage:
        result["storage"] = storage_report(args)
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m tinyseg.bench``: print the tables (and write the JSON); 2 on a usage error."""

    def command() -> int:
        args = parse_args(argv)
        if args.host_malloc == "keep":
            backend.keep_freed_host_memory()
        if args.memory_worker:
            backend.use(args.backend)
            framework, mode = args.memory_worker
            set_threads(args.threads, framework == "torch")
            print(json.dumps(memory_worker(framework, mode, args)))
            return 0
        if args.compare == "torch":
            try:
                interop.require_torch("--compare torch")
            except ImportError as e:
                raise CLIError(str(e)) from None
        result = run(args)
        print(report(result))
        if args.json:
            write_json(args.json, result)
        return 0

    return run_command("python -m tinyseg.bench", command)
