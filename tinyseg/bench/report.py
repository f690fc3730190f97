"""The report: the bench's figures (the same dict that --json writes) as human-readable tables."""

from __future__ import annotations

from typing import Any

__all__ = ["report"]

MiB = 2**20


def _fmt_bytes(n: float) -> str:
    return f"{n / MiB:,.0f} MiB" if n >= MiB else f"{n / 1024:,.1f} KiB"


def _figures(result: dict[str, Any]) -> list[str]:
    """Time, images/s, GFLOP/s and memory per mode, one column per framework (and their ratio)."""
    frameworks = list(result["figures"])
    header = f"{'':24}" + "".join(f"{f:>14}" for f in frameworks) + (f"{'ratio':>10}" if len(frameworks) == 2 else "")
    lines = ["", header]
    for mode in result["modes"]:
        rows = [
            ("time (s)", "time_s", "{:.3f}"),
            ("images/s", "images_per_s", "{:.2f}"),
            ("GFLOP/s", "gflops", "{:.1f}"),
            ("peak RSS", "peak_bytes", None),
            ("step memory", "step_bytes", None),
        ]
        for label, key, fmt in rows:
            vals = [result["figures"][f][mode].get(key) for f in frameworks]
            if all(v is None for v in vals):
                continue
            cells = "".join(f"{'-' if v is None else (fmt.format(v) if fmt else _fmt_bytes(v)):>14}" for v in vals)
            ratio = ""
            if len(vals) == 2 and None not in vals and vals[1]:
                ratio = f"{vals[0] / vals[1]:>10.2f}"
            lines.append(f"{mode if label == 'time (s)' else '':11}{label:13}{cells}{ratio}")
    return lines


def _profile(p: dict[str, Any]) -> list[str]:
    """One line per (op, input shape), then the time outside every op."""
    lines = [
        "",
        f"profile: one {p['mode']} step of tinyseg, {p['total_s']:.3f} s (ops timed one by one)",
        f"{'op':22}{'input shape':>20}{'calls':>6}{'forward s':>11}{'backward s':>11}{'share':>7}",
    ]
    for r in p["rows"]:
        share = (r["forward_s"] + r["backward_s"]) / p["total_s"]
        lines.append(
            f"{r['op']:22}{r['shape']:>20}{r['calls']:>6}{r['forward_s']:>11.3f}{r['backward_s']:>11.3f}{share:>7.1%}"
        )
    rest = p["total_s"] - sum(r["forward_s"] + r["backward_s"] for r in p["rows"])
    lines.append(f"{'(graph, Python, rest)':22}{'':>20}{'':>6}{rest:>22.3f}{rest / p['total_s']:>7.1%}")
    return lines


def _storage(s: dict[str, Any], a: dict[str, Any]) -> list[str]:
    """The decoders' storage, then each model's inference peak when it was measured."""
    lines = [
        "",
        "storage: what the decoders keep from the encoders at inference "
        f"(batch {a['batch_size']}, {a['size'][0]}x{a['size'][1]})",
        f"  SegNet-Basic (pooling indices, uint8)     {_fmt_bytes(s['segnet_basic_decoder_bytes'])}",
        f"  FCN-Basic (score maps, float32)           {_fmt_bytes(s['fcn_basic_decoder_bytes'])}",
        f"  the same indices as PyTorch's int64       {_fmt_bytes(s['pool_indices_torch_int64_bytes'])}",
        f"  the feature maps before pooling, float32  {_fmt_bytes(s['feature_maps_before_pooling_bytes'])}",
    ]
    for name in ("segnet_basic", "fcn_basic"):
        if f"{name}_inference_peak" in s:
            pk = s[f"{name}_inference_peak"]
            lines.append(
                f"  {name} inference peak {pk['what']}: {_fmt_bytes(pk['peak_bytes'])} "
                f"(step memory {_fmt_bytes(pk['step_bytes'])})"
            )
    return lines


def _ceiling(rows: list[dict[str, Any]], flops: dict[str, float]) -> list[str]:
    """The GEMM ceiling lines: each product's GFLOP/s, and the time a step would take at that rate."""
    lines = ["", "GEMM ceiling (float32 products in this process; a step all at that rate would take):"]
    for r in rows:
        shape = " x ".join(str(v) for v in r["shape"][:3]) + (f" (x{r['shape'][3]})" if len(r["shape"]) > 3 else "")
        lines.append(
            f"  {r['name']:<22} {shape:<26} {r['gflops']:7.1f} GFLOP/s   training step "
            f"{flops['training'] / r['gflops'] / 1e9:6.2f} s, inference {flops['inference'] / r['gflops'] / 1e9:6.2f} s"
        )
    return lines


def report(result: dict[str, Any]) -> str:
    """The human-readable tables of ``result`` (the dict that :func:`tinyseg.bench.run` returns)."""
    a, m = result["args"], result["machine"]
    lines = [
        f"tinyseg bench: {a['model']}, batch {a['batch_size']}, {a['size'][0]}x{a['size'][1]}, "
        f"backend {a['backend']}, {a['threads']} threads, host malloc {a.get('host_malloc', 'default')}; "
        f"median of {a['repeats']} after {a['warmup']} warm-up",
        f"machine: {m['cpu']}, {m['cpus']} CPUs; numpy {m['numpy']} ({m['blas']}, kernel {m['blas_kernel']}, "
        f"{m['blas_threads']} threads)"
        + (f"; torch {m['torch']} ({m['torch_threads']} threads)" if "torch" in m else ""),
    ]
    fl = result["flops"]
    lines.append(
        f"counted FLOPs (convolutions): inference {fl['inference'] / 1e9:.1f} G, "
        f"training step {fl['training'] / 1e9:.1f} G"
    )
    lines += _figures(result)
    if "ceiling" in result:
        lines += _ceiling(result["ceiling"], fl)
    if "profile" in result:
        lines += _profile(result["profile"])
    if "storage" in result:
        lines += _storage(result["storage"], a)
    return "\n".join(lines)
