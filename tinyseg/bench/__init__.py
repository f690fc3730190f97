"""python -m tinyseg.bench: how fast a model trains and predicts, and how much memory it takes.

    python -m tinyseg.bench --model segnet_basic --size 360x480 --batch-size 1 --backend numpy
    python -m tinyseg.bench --compare torch              # the same model in PyTorch, side by side
    python -m tinyseg.bench --profile                    # time per op, forward and backward
    python -m tinyseg.bench --storage                    # SegNet's indices vs FCN's feature maps

Two figures per model: *inference* (an eval-mode forward without the graph) and a *training
step* (forward, cross-entropy, backward, SGD update). Each is run ``--warmup`` times, then
``--repeats`` times, and the median is reported, as images/s and as GFLOP/s against the FLOPs
that the convolutions need (counted from the shapes while the warm-up runs; the other ops are a
rounding error). With ``--compare torch`` the PyTorch twin (tinyseg.interop.TorchWorkload, the
same weights and thread count) runs alternately with tinyseg, so that a busy machine slows both.

Peak memory is measured in a fresh process per figure (``--memory-worker``): on the CPU the
peak resident set size during two runs (Linux's VmHWM, reset before them), reported whole and
as the growth over the process after building the model and input; on the GPU the peak of
CuPy's memory pool (or PyTorch's CUDA allocator). docs/performance.md has results.

One file a job; PyTorch only through tinyseg.interop, which imports it when first asked:

    workloads.py  the model and its batch per framework (tinyseg, or its PyTorch twin), one step
    timing.py     step times (frameworks alternating), the per-op profile, FLOPs, the GEMM ceiling
    memory.py     peak memory, each figure in a fresh process; the pooling indices' storage
    machine.py    what the report says about the machine; BLAS and PyTorch threads
    report.py     the printed tables
    command.py    the command line: options, the run, main
"""

from .command import build_parser, main, parse_args, run
from .machine import machine_info, set_threads
from .memory import measure_memory, memory_worker, storage_report
from .report import report
from .timing import count_conv_flops, count_flops, gemm_ceiling, profile_step, time_modes
from .workloads import MODES, TinysegWorkload, Workload, make_batch, make_workload

__all__ = [
    "main",
    "build_parser",
    "parse_args",
    "run",
    "count_conv_flops",
    "count_flops",
    "gemm_ceiling",
    "profile_step",
    "time_modes",
    "machine_info",
    "storage_report",
    "measure_memory",
    "memory_worker",
    "report",
    "set_threads",
    "MODES",
    "Workload",
    "TinysegWorkload",
    "make_batch",
    "make_workload",
]
