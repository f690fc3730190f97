"""The engine: the array backend (NumPy or CuPy), every random stream, Tensor and its autograd,
and the two tools that watch the engine run: gradient checks and the op profiler.

    backend.py    which array library runs the ops, and the few calls where the two differ
    random.py     every random stream: weights, dropout masks; manual_seed, fork_rng
    function.py   Function and Context: how an op runs and records itself; no_grad, op hooks
    ops.py        the basic Functions behind Tensor's operators (+ * @ sum reshape a[i] ...)
    tensor.py     Tensor: its graph, backward, and every operator, each calling one op
    gradcheck.py  central differences against a Function's backward
    profiler.py   times every op of any model (tinyseg.profile)
"""

# tensor.py defines Tensor and hands it to function.py: the engine is whole once any part is imported
from . import tensor  # noqa: F401
