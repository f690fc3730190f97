"""python -m tinyseg.bench: how fast a model trains and predicts, and how much memory it takes.

    python -m tinyseg.bench --model segnet_basic --size 360x480 --batch-size 1 --backend numpy
    python -m tinyseg.bench --compare torch              # the same model in PyTorch, side by side
    python -m tinyseg.bench --profile                    # time per op, forward and backward
    python -m tinyseg.bench --storage                    # SegNet's indices vs FCN's feature maps

Two figures per model: *inference* (an eval-mode forward without the graph) and a *training
step* (forward, cross-entropy, backward, SGD update). Each is run ``--warmup`` times, then
``--repeats`` times, and the median is reported, as images/s and as GFLOP/s against the FLOPs
that the convolutions need (counted from the shapes while the warm-up runs; the other ops are a
rounding error). With ``--compare torch`` the PyTorch twin (tinyseg/interop/twins.py, the same
weights and thread count) runs alternately with tinyseg, so that a busy machine slows both.

Peak memory is measured in a fresh process per figure (``--memory-worker``): on the CPU the
peak resident set size during two runs (Linux's VmHWM, reset before them), reported whole and
as the growth over the process after building the model and input; on the GPU the peak of
CuPy's memory pool (or ``torch.cuda.max_memory_allocated``). docs/performance.md has results.

One file a job:

    workloads.py  the model, its batch and one synchronised inference or training step
    flops.py      the convolutions' FLOPs, counted from shapes by an op hook
    timing.py     the timed runs (frameworks alternating) and the per-op profile (tinyseg.profile)
    memory.py     peak memory, each figure in a fresh process
    storage.py    what SegNet's decoders keep from the encoders against FCN's
    threads.py    BLAS threads, set through OpenBLAS's own API (ctypes)
    machine.py    what the report says about the machine
    baseline.py   everything that touches PyTorch (the twin, its threads, its GPU memory), lazily
    report.py     the printed tables
    command.py    the command line: options, the run, main
"""

from .command import main, parse_args, run
from .flops import count_conv_flops
from .machine import machine_info
from .memory import measure_memory, memory_worker
from .report import report
from .storage import storage_report
from .threads import set_threads
from .timing import profile_step, time_modes
from .workloads import MODES, Workload, make_batch, make_workload

__all__ = ["main", "parse_args", "run", "count_conv_flops", "profile_step", "time_modes", "machine_info",
           "storage_report", "measure_memory", "memory_worker", "report", "set_threads", "MODES", "Workload",
           "make_batch", "make_workload"]
