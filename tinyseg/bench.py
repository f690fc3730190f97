"""python -m tinyseg.bench: how fast a model trains and predicts, and how much memory it takes.

    python -m tinyseg.bench --model segnet_basic --size 360x480 --batch-size 1 --backend numpy
    python -m tinyseg.bench --compare torch              # the same model in PyTorch, side by side
    python -m tinyseg.bench --profile                    # time per op, forward and backward
    python -m tinyseg.bench --storage                    # SegNet's indices vs FCN's feature maps

Two figures per model: *inference* (an eval-mode forward without the graph) and a *training
step* (forward, cross-entropy, backward, SGD update). Each is run ``--warmup`` times, then
``--repeats`` times, and the median is reported, as images/s and as GFLOP/s against the FLOPs
that the convolutions need (counted from the shapes while the warm-up runs; the other ops are a
rounding error). With ``--compare torch`` the PyTorch twin (tinyseg/torch_twins.py, the same
weights and thread count) runs alternately with tinyseg, so that a busy machine slows both.

Peak memory is measured in a fresh process per figure (``--memory-worker``): on the CPU the
peak resident set size during two runs (Linux's VmHWM, reset before them), reported whole and
as the growth over the process after building the model and input; on the GPU the peak of
CuPy's memory pool (or ``torch.cuda.max_memory_allocated``). docs/performance.md has results.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from . import backend, models, optim
from .cli import CLIError, parse_size, run_command, write_json
from .functional import conv as conv_ops
from .functional.loss import cross_entropy
from .tensor import Function, Tensor, no_grad

__all__ = ["main", "count_conv_flops", "profile_step", "machine_info", "storage_report"]

MODES = ("inference", "training")
MiB = 2**20


# ---- the two workloads ----------------------------------------------------------------------


class Workload:
    """One model on one batch: ``run(mode)`` performs an inference or a training step (synchronised)."""

    def __init__(self, framework: str, model_name: str, x: np.ndarray, labels: np.ndarray,
                 num_classes: int, seed: int, lr: float = 1e-3) -> None:
        self.framework = framework
        if framework == "tinyseg":
            from . import nn  # noqa: PLC0415

            nn.init.manual_seed(seed)
            self.model = models.create(model_name, num_classes=num_classes)
            self.x = Tensor(backend.to_device(x))
            self.labels = backend.to_device(labels)
            self.opt = optim.SGD(self.model.parameters(), lr=lr, momentum=0.9)
        else:
            import torch  # noqa: PLC0415 (optional)

            from . import nn, torch_twins  # noqa: PLC0415

            nn.init.manual_seed(seed)  # the same weights as the tinyseg workload, copied over
            self.device = "cuda" if backend.name() == "cupy" else "cpu"
            self.model = torch_twins.from_tinyseg(models.create(model_name, num_classes=num_classes)).to(self.device)
            self.x = torch.from_numpy(x).to(self.device)
            self.labels = torch.from_numpy(labels.astype(np.int64)).to(self.device)
            self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9)

    def sync(self) -> None:
        if self.framework == "tinyseg":
            backend.synchronize()
        elif self.device == "cuda":
            import torch  # noqa: PLC0415

            torch.cuda.synchronize()

    def run(self, mode: str) -> None:
        if self.framework == "tinyseg":
            self._run_tinyseg(mode)
        else:
            self._run_torch(mode)
        self.sync()

    def _run_tinyseg(self, mode: str) -> None:
        if mode == "inference":
            self.model.eval()
            with no_grad():
                self.model(self.x)
            return
        self.model.train()
        loss = cross_entropy(self.model(self.x), self.labels)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()

    def _run_torch(self, mode: str) -> None:
        import torch  # noqa: PLC0415

        if mode == "inference":
            self.model.eval()
            with torch.no_grad():
                self.model(self.x)
            return
        self.model.train()
        loss = torch.nn.functional.cross_entropy(self.model(self.x), self.labels)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()


def make_batch(batch_size: int, size: tuple[int, int], num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random float32 image batch (N, 3, H, W) in [0, 1) and integer labels (N, H, W)."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, 3, *size), dtype=np.float32)
    labels = rng.integers(0, num_classes, (batch_size, *size)).astype(np.int64)
    return x, labels


# ---- FLOPs: counted from the convolutions' shapes -------------------------------------------


@contextmanager
def _wrapped(cls: type, name: str, wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Iterator[None]:
    """Temporarily replace the static method ``cls.name`` by ``wrapper(original)``."""
    original = cls.__dict__[name]
    setattr(cls, name, staticmethod(wrapper(original.__func__)))
    try:
        yield
    finally:
        setattr(cls, name, original)


@contextmanager
def count_conv_flops() -> Iterator[dict[str, int]]:
    """Count, while active, the FLOPs (2 per multiply-add) of every conv2d / conv_transpose2d run.

    Yields a dict filled in as ops run: ``forward``; ``backward`` (a weight gradient costs as much
    as the forward, an input gradient too, each counted only when that gradient is wanted).
    """
    counts = {"forward": 0, "backward": 0}

    def counter(transposed: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def wrap(forward: Callable[..., Any]) -> Callable[..., Any]:
            def counted(ctx: Any, x: Any, weight: Any, *args: Any, **kwargs: Any) -> Any:
                out = forward(ctx, x, weight, *args, **kwargs)
                pixels = x if transposed else out  # the side where one pixel meets the whole kernel
                macs = pixels.shape[0] * pixels.shape[2] * pixels.shape[3] * int(np.prod(weight.shape))
                counts["forward"] += 2 * macs
                needs = ctx.needs_input_grad
                counts["backward"] += 2 * macs * (int(needs[0]) + int(needs[1]))
                return out

            return counted

        return wrap

    with _wrapped(conv_ops.Conv2d, "forward", counter(False)), \
            _wrapped(conv_ops.ConvTranspose2d, "forward", counter(True)):
        yield counts


# ---- timing -----------------------------------------------------------------------------------


def _time(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_modes(workloads: list[Workload], modes: tuple[str, ...], warmup: int,
               repeats: int) -> dict[str, dict[str, list[float]]]:
    """Seconds per run, framework -> mode -> list, the frameworks alternating run by run."""
    times: dict[str, dict[str, list[float]]] = {w.framework: {m: [] for m in modes} for w in workloads}
    for mode in modes:
        for _ in range(warmup):
            for w in workloads:
                w.run(mode)
        for _ in range(repeats):
            for w in workloads:
                times[w.framework][mode].append(_time(lambda w=w: w.run(mode)))
    return times


# ---- profile: time per op, forward and backward -------------------------------------------


def _function_classes() -> list[type]:
    """Every Function subclass defined so far (all of tinyseg.functional once it is imported)."""
    found, stack = [], list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


def _shape_of(args: tuple[Any, ...]) -> str:
    first = next((a for a in args if hasattr(a, "shape")), None)
    return "x".join(str(int(s)) for s in first.shape) if first is not None else ""


def profile_step(workload: Workload, mode: str = "training") -> tuple[list[dict[str, Any]], float]:
    """Run one ``mode`` step of a tinyseg workload with every op's forward and backward timed.

    Returns (rows, total seconds): one row per (op, input shape) with ``calls``, ``forward_s``
    and ``backward_s``; the optimizer's update is a row of its own. On the GPU each op waits
    for the device, so the per-op times add up (and the step runs a little slower than timed).
    """
    table: dict[tuple[str, str], dict[str, Any]] = {}

    def timer(cls: type, phase: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
            def timed(ctx: Any, *args: Any, **kwargs: Any) -> Any:
                if phase == "forward":
                    ctx._bench_key = (cls.__name__, _shape_of(args))
                key = getattr(ctx, "_bench_key", (cls.__name__, ""))
                start = time.perf_counter()
                out = fn(ctx, *args, **kwargs)
                backend.synchronize()
                row = table.setdefault(key, {"op": key[0], "shape": key[1], "calls": 0, "forward_s": 0.0,
                                             "backward_s": 0.0})
                row[f"{phase}_s"] += time.perf_counter() - start
                row["calls"] += phase == "forward"
                return out

            return timed

        return wrap

    step_opt = workload.opt.step
    with _all_wrapped([(cls, phase, timer(cls, phase)) for cls in _function_classes()
                       for phase in ("forward", "backward") if phase in cls.__dict__]):
        opt_time = [0.0]

        def timed_step() -> None:
            opt_time[0] += _time(step_opt)

        workload.opt.step = timed_step  # type: ignore[method-assign]
        try:
            total = _time(lambda: workload.run(mode))
        finally:
            del workload.opt.step
    rows = sorted(table.values(), key=lambda r: -(r["forward_s"] + r["backward_s"]))
    if mode == "training":
        rows.append({"op": "SGD.step", "shape": "", "calls": 1, "forward_s": opt_time[0], "backward_s": 0.0})
    return rows, total


@contextmanager
def _all_wrapped(items: list[tuple[type, str, Callable[..., Any]]]) -> Iterator[None]:
    if not items:
        yield
        return
    (cls, name, wrapper), rest = items[0], items[1:]
    with _wrapped(cls, name, wrapper), _all_wrapped(rest):
        yield


# ---- memory: a fresh process per figure -------------------------------------------------------


def _status_kib(field: str) -> int | None:
    """A field of /proc/self/status in KiB (VmRSS, VmHWM), or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset Linux's peak-RSS counter (VmHWM) to the current RSS; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def memory_worker(framework: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """Peak memory of two ``mode`` runs in this (fresh) process: bytes, whole and above the start."""
    x, labels = make_batch(args.batch_size, args.size, args.num_classes, args.seed)
    w = Workload(framework, args.model, x, labels, args.num_classes, args.seed)
    if backend.name() == "cupy" or getattr(w, "device", "cpu") == "cuda":
        return _gpu_memory(w, mode)
    before = (_status_kib("VmRSS") or 0) * 1024
    exact = _reset_peak_rss()
    for _ in range(2):
        w.run(mode)
    if exact:
        peak = (_status_kib("VmHWM") or 0) * 1024
    else:  # ru_maxrss: the peak over the process's whole life (KiB on Linux, bytes on macOS)
        import resource  # noqa: PLC0415

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return {"peak_bytes": peak, "start_bytes": before, "step_bytes": max(peak - before, 0),
            "what": "process RSS" + ("" if exact else " (lifetime peak)")}


def _gpu_memory(w: Workload, mode: str) -> dict[str, Any]:
    if w.framework == "torch":
        import torch  # noqa: PLC0415

        start = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        for _ in range(2):
            w.run(mode)
        peak = torch.cuda.max_memory_allocated()
        return {"peak_bytes": peak, "start_bytes": start, "step_bytes": peak - start, "what": "torch.cuda allocated"}
    cupy = backend.get_xp()
    pool = cupy.get_default_memory_pool()
    start, peak = pool.used_bytes(), [pool.used_bytes()]

    def alloc(size: int) -> Any:  # CuPy has no peak counter: note the pool's use after each allocation
        mem = pool.malloc(size)
        peak[0] = max(peak[0], pool.used_bytes())
        return mem

    cupy.cuda.set_allocator(alloc)
    try:
        for _ in range(2):
            w.run(mode)
    finally:
        cupy.cuda.set_allocator(pool.malloc)
    return {"peak_bytes": peak[0], "start_bytes": start, "step_bytes": peak[0] - start, "what": "CuPy memory pool"}


def measure_memory(framework: str, mode: str, args: argparse.Namespace, model: str | None = None) -> dict[str, Any]:
    """Run :func:`memory_worker` in a fresh Python process (so earlier runs leave no trace)."""
    cmd = [sys.executable, "-m", "tinyseg.bench", "--memory-worker", framework, mode,
           "--model", model or args.model, "--size", f"{args.size[0]}x{args.size[1]}",
           "--batch-size", str(args.batch_size), "--backend", args.backend, "--threads", str(args.threads),
           "--num-classes", str(args.num_classes), "--seed", str(args.seed)]
    env = dict(os.environ, **_thread_env(args.threads))
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench: the memory run of {framework} {mode} failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- storage: what SegNet's decoders keep vs FCN's ------------------------------------------


def storage_report(args: argparse.Namespace) -> dict[str, Any]:
    """Bytes each decoder keeps from its encoder (SegNet-Basic: pooling indices; FCN-Basic: score
    maps), what full feature maps or PyTorch's int64 indices would take, and inference peak memory."""
    x = Tensor(backend.to_device(make_batch(args.batch_size, args.size, args.num_classes, args.seed)[0]))
    segnet = models.create("segnet_basic", num_classes=args.num_classes)
    fcn = models.create("fcn_basic", num_classes=args.num_classes)
    segnet.eval()
    with no_grad():
        _, skips = segnet.encode(x)
    indices = sum(int(idx.data.nbytes) for idx, _ in skips)
    n_values = sum(int(idx.size) for idx, _ in skips)
    # the encoder's feature maps before pooling: what a decoder that kept whole maps would hold
    maps = sum(args.batch_size * 64 * h * w * 4 for _, (h, w) in skips)
    report = {
        "segnet_basic_decoder_bytes": models.decoder_storage_bytes(segnet, x),
        "fcn_basic_decoder_bytes": models.decoder_storage_bytes(fcn, x),
        "pool_indices_bytes": indices,
        "pool_indices_torch_int64_bytes": 8 * n_values,
        "feature_maps_before_pooling_bytes": maps,
    }
    if not args.no_memory:
        for name in ("segnet_basic", "fcn_basic"):
            report[f"{name}_inference_peak"] = measure_memory("tinyseg", "inference", args, model=name)
    return report


# ---- the machine -------------------------------------------------------------------------------


def _openblas() -> Any:
    """NumPy's OpenBLAS as a ctypes library (found among the loaded libraries), or None."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = sorted({line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower() and ".so" in line})
    return ctypes.CDLL(paths[0]) if paths else None


def _blas_call(suffix: str, *args: Any, restype: Any = ctypes.c_int) -> Any:
    """Call openblas_<suffix> under whichever name this build exports (scipy-openblas adds a prefix)."""
    lib = _openblas()
    names = (f"scipy_openblas_{suffix}64_", f"openblas_{suffix}64_", f"openblas_{suffix}", f"scipy_openblas_{suffix}")
    for name in names:
        fn = getattr(lib, name, None) if lib is not None else None
        if fn is not None:
            fn.restype = restype
            return fn(*args)
    return None


def set_threads(threads: int, torch_too: bool) -> None:
    """Use ``threads`` threads in NumPy's OpenBLAS (via its own API) and in PyTorch."""
    _blas_call("set_num_threads", ctypes.c_int(threads), restype=None)
    if torch_too:
        import torch  # noqa: PLC0415

        torch.set_num_threads(threads)


def _thread_env(threads: int) -> dict[str, str]:
    return {k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def machine_info(with_torch: bool) -> dict[str, Any]:
    """CPU model and count, versions, and which BLAS NumPy uses (its kernel and thread count)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version(),
                            "numpy": np.__version__}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        info["blas"] = "unknown"
    core = _blas_call("get_corename", restype=ctypes.c_char_p)
    info["blas_kernel"] = core.decode() if core else None
    info["blas_threads"] = _blas_call("get_num_threads")
    if with_torch:
        import torch  # noqa: PLC0415

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    if backend.name() == "cupy":
        cupy = backend.get_xp()
        info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        info["cupy"] = cupy.__version__
    return info


# ---- the command ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tinyseg.bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="segnet_basic", choices=models.available())
    p.add_argument("--size", type=parse_size, default="360x480", help="HEIGHTxWIDTH (default 360x480)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--backend", default="numpy", choices=backend.BACKENDS)
    p.add_argument("--mode", default="both", choices=("inference", "training", "both"))
    p.add_argument("--warmup", type=int, default=1, help="untimed runs per figure (default 1)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per figure; the median is reported")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="BLAS and PyTorch threads (default: all CPUs)")
    p.add_argument("--compare", choices=("torch",), help="also run the PyTorch twin, alternating with tinyseg")
    p.add_argument("--profile", action="store_true", help="time every op (forward and backward) in one extra step")
    p.add_argument("--storage", action="store_true",
                   help="SegNet-Basic vs FCN-Basic: decoder storage and inference memory")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs (they start fresh processes)")
    p.add_argument("--num-classes", type=int, default=11)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write every figure to this JSON file")
    p.add_argument("--memory-worker", nargs=2, metavar=("FRAMEWORK", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.batch_size < 1 or args.repeats < 1 or args.warmup < 0 or args.threads < 1:
        raise CLIError("--batch-size, --repeats and --threads must be >= 1, --warmup >= 0")
    if args.model not in ("segnet_basic", "segnet", "fcn_basic") and args.compare:
        raise CLIError(f"--compare torch: no PyTorch twin for {args.model} (segnet_basic, segnet, fcn_basic have one)")
    return args


def _fmt_bytes(n: float) -> str:
    return f"{n / MiB:,.0f} MiB" if n >= MiB else f"{n / 1024:,.1f} KiB"


def report(result: dict[str, Any]) -> str:
    """The human-readable tables (the same figures as the JSON)."""
    a, m = result["args"], result["machine"]
    lines = [f"tinyseg bench: {a['model']}, batch {a['batch_size']}, {a['size'][0]}x{a['size'][1]}, "
             f"backend {a['backend']}, {a['threads']} threads; median of {a['repeats']} after {a['warmup']} warm-up",
             f"machine: {m['cpu']}, {m['cpus']} CPUs; numpy {m['numpy']} ({m['blas']}, kernel {m['blas_kernel']}, "
             f"{m['blas_threads']} threads)"
             + (f"; torch {m['torch']} ({m['torch_threads']} threads)" if "torch" in m else "")]
    fl = result["flops"]
    lines.append(f"counted FLOPs (convolutions): inference {fl['inference'] / 1e9:.1f} G, "
                 f"training step {fl['training'] / 1e9:.1f} G")
    frameworks = list(result["figures"])
    header = f"{'':24}" + "".join(f"{f:>14}" for f in frameworks) + (f"{'ratio':>10}" if len(frameworks) == 2 else "")
    lines += ["", header]
    for mode in result["modes"]:
        rows = [("time (s)", "time_s", "{:.3f}"), ("images/s", "images_per_s", "{:.2f}"),
                ("GFLOP/s", "gflops", "{:.1f}"), ("peak RSS", "peak_bytes", None), ("step memory", "step_bytes", None)]
        for label, key, fmt in rows:
            vals = [result["figures"][f][mode].get(key) for f in frameworks]
            if all(v is None for v in vals):
                continue
            cells = "".join(f"{'-' if v is None else (fmt.format(v) if fmt else _fmt_bytes(v)):>14}" for v in vals)
            ratio = ""
            if len(vals) == 2 and None not in vals and vals[1]:
                ratio = f"{vals[0] / vals[1]:>10.2f}"
            lines.append(f"{mode if label == 'time (s)' else '':11}{label:13}{cells}{ratio}")
    if "profile" in result:
        p = result["profile"]
        lines += ["", f"profile: one {p['mode']} step of tinyseg, {p['total_s']:.3f} s (ops timed one by one)",
                  f"{'op':22}{'input shape':>20}{'calls':>6}{'forward s':>11}{'backward s':>11}{'share':>7}"]
        for r in p["rows"]:
            share = (r["forward_s"] + r["backward_s"]) / p["total_s"]
            lines.append(f"{r['op']:22}{r['shape']:>20}{r['calls']:>6}{r['forward_s']:>11.3f}{r['backward_s']:>11.3f}"
                         f"{share:>7.1%}")
        rest = p["total_s"] - sum(r["forward_s"] + r["backward_s"] for r in p["rows"])
        lines.append(f"{'(graph, Python, rest)':22}{'':>20}{'':>6}{rest:>22.3f}{rest / p['total_s']:>7.1%}")
    if "storage" in result:
        s = result["storage"]
        lines += ["", "storage: what the decoders keep from the encoders at inference "
                  f"(batch {a['batch_size']}, {a['size'][0]}x{a['size'][1]})",
                  f"  SegNet-Basic (pooling indices, uint8)     {_fmt_bytes(s['segnet_basic_decoder_bytes'])}",
                  f"  FCN-Basic (score maps, float32)           {_fmt_bytes(s['fcn_basic_decoder_bytes'])}",
                  f"  the same indices as PyTorch's int64       {_fmt_bytes(s['pool_indices_torch_int64_bytes'])}",
                  f"  the feature maps before pooling, float32  {_fmt_bytes(s['feature_maps_before_pooling_bytes'])}"]
        for name in ("segnet_basic", "fcn_basic"):
            if f"{name}_inference_peak" in s:
                pk = s[f"{name}_inference_peak"]
                lines.append(f"  {name} inference peak {pk['what']}: {_fmt_bytes(pk['peak_bytes'])} "
                             f"(step memory {_fmt_bytes(pk['step_bytes'])})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every figure that ``args`` asks for, as a JSON-ready dict."""
    backend.use(args.backend)
    compare = args.compare == "torch"
    set_threads(args.threads, compare)
    modes = MODES if args.mode == "both" else (args.mode,)
    x, labels = make_batch(args.batch_size, args.size, args.num_classes, args.seed)
    ours = Workload("tinyseg", args.model, x, labels, args.num_classes, args.seed)
    workloads = [ours] + ([Workload("torch", args.model, x, labels, args.num_classes, args.seed)] if compare else [])
    flops: dict[str, int] = {}
    for mode in modes:  # one counted run per mode: it also serves as a warm-up
        with count_conv_flops() as counted:
            ours.run(mode)
        flops[mode] = counted["forward"] + (counted["backward"] if mode == "training" else 0)
    if "inference" not in flops:
        flops["inference"] = counted["forward"]
    if "training" not in flops:
        flops["training"] = 3 * counted["forward"]  # an estimate: forward + both gradients
    times = time_modes(workloads, modes, args.warmup, args.repeats)
    figures: dict[str, dict[str, dict[str, Any]]] = {}
    for w in workloads:
        figures[w.framework] = {}
        for mode in modes:
            t = statistics.median(times[w.framework][mode])
            fig = {"time_s": t, "times_s": times[w.framework][mode], "images_per_s": args.batch_size / t,
                   "gflops": flops[mode] / t / 1e9}
            if not args.no_memory:
                fig.update(measure_memory(w.framework, mode, args))
            figures[w.framework][mode] = fig
    result: dict[str, Any] = {"args": {k: v for k, v in vars(args).items() if k != "memory_worker"},
                              "machine": machine_info(compare), "modes": list(modes),
                              "flops": flops, "figures": figures}
    if args.profile:
        mode = "training" if "training" in modes else "inference"
        rows, total = profile_step(ours, mode)
        result["profile"] = {"mode": mode, "total_s": total, "rows": rows}
    if args.storage:
        result["storage"] = storage_report(args)
    return result


def main(argv: list[str] | None = None) -> int:
    def command() -> int:
        args = parse_args(argv)
        if args.memory_worker:
            backend.use(args.backend)
            framework, mode = args.memory_worker
            set_threads(args.threads, framework == "torch")
            print(json.dumps(memory_worker(framework, mode, args)))
            return 0
        if args.compare == "torch":
            try:
                import torch  # noqa: F401, PLC0415
            except ImportError:
                raise CLIError("--compare torch needs PyTorch: pip install torch") from None
        result = run(args)
        print(report(result))
        if args.json:
            write_json(args.json, result)
        return 0

    return run_command("python -m tinyseg.bench", command)


if __name__ == "__main__":
    sys.exit(main())
