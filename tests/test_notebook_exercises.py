"""Every exercise's check cell rejects a wrong answer a student is likely to give, and accepts the
notebook's own solution.

The check functions are read from the stored notebooks (nothing is copied here): the notebook's
imports cell runs (IPython magics dropped), then only the function and class definitions of its
other code cells, so no training or plotting runs. Each wrong answer below is a mistake worth
catching; its check must raise AssertionError (GradcheckError is one).
"""

from __future__ import annotations

import ast
import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from tinyseg.engine import backend

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def _python(source: str) -> str:
    """A cell's source without its IPython magics (%matplotlib inline)."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%"))


def _namespace(stem: str) -> dict:
    nbformat = pytest.importorskip("nbformat", reason="nbformat is in the dev extra: pip install -e '.[dev]'")
    pytest.importorskip("matplotlib")
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    nb = nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    ns: dict = {"__name__": f"notebook_{stem}"}
    exec(compile(_python(code[0]), f"{stem}[imports]", "exec"), ns)  # noqa: S102
    for i, source in enumerate(code[1:], start=1):
        tree = ast.parse(_python(source))
        tree.body = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        exec(compile(tree, f"{stem}[code cell {i}]", "exec"), ns)  # noqa: S102
    return ns


def _quietly(fn, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fn(*args)
    return out.getvalue()


# (notebook, check, wrong answer defining `wrong`, what the mistake is, the notebook's solution)
CASES = [
    ("01_autograd", "check_tanh", '''
def wrong(v):
    t = math.tanh(v.data)
    out = Value(t, (v,), "tanh")
    def _backward():
        v.grad = (1 - t * t) * out.grad
    out._backward = _backward
    return out
''', "overwrites v.grad (= instead of +=)", "solution_tanh"),
    ("01_autograd", "check_grad_w", '''
def wrong(x, g):
    return (g * x).mean(axis=0)
''', "averages over the broadcast axis instead of summing", "solution_grad_w"),
    ("01_autograd", "check_sigmoid", '''
class wrong(tinyseg.Function):
    @staticmethod
    def forward(ctx, x):
        y = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return y * grad
''', "forgets the (1 - y) factor", "SolutionSigmoid"),
    ("02_convolution", "check_output_size", '''
def wrong(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride
''', "forgets the + 1", "solution_output_size"),
    ("02_convolution", "check_output_size", '''
def wrong(size, kernel, stride, padding):
    return (size + padding - kernel) // stride + 1
''', "pads one side only", "solution_output_size"),
    ("02_convolution", "check_weight_grad", '''
def wrong(x, g, kh, kw):
    n_img, c = x.shape[:2]
    o = g.shape[1]
    cols = window_view(x, kh, kw, 1).transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, -1)
    g2 = g.transpose(1, 0, 2, 3).reshape(o, -1)
    return (g2 @ cols.T).reshape(o, c, kh, kw)[:, :, ::-1, ::-1]
''', "flips the kernel (the input gradient's rule, not the weights')", "solution_weight_grad"),
    ("02_convolution", "check_conv1x1", '''
def wrong(x, w):
    return np.einsum("oc,nchw->nohw", w.reshape(w.shape[1], w.shape[0]).T, x)
''', "reshapes where it should transpose", "solution_conv1x1"),
    ("03_pooling_indices", "check_unpool", '''
def wrong(values, indices):
    n, c, h, w = values.shape
    out = np.zeros((n, c, h, 2, w, 2), dtype=values.dtype)
    for p in range(4):
        j, i = divmod(p, 2)
        out[:, :, :, i, :, j] = np.where(indices == p, values, 0)
    return out.reshape(n, c, 2 * h, 2 * w)
''', "reads the window positions column-major", "solution_unpool"),
    ("03_pooling_indices", "check_index_bits", '''
def wrong(kh, kw):
    return int(np.log2(kh * kw))
''', "rounds the logarithm down", "solution_index_bits"),
    ("03_pooling_indices", "check_to_flat", '''
def wrong(indices, width):
    h, w = indices.shape[-2:]
    rows = 2 * np.arange(h)[:, None] + indices // 2
    cols = 2 * np.arange(w)[None, :] + indices % 2
    return (rows * 2 * w + cols).astype(np.int64)
''', "uses twice the pooled width, wrong for odd widths", "solution_to_flat"),
    ("04_batchnorm", "check_batchnorm", '''
def wrong(x, eps=1e-5):
    mu = x.mean(axis=(0, 2, 3), keepdims=True)
    return (x - mu) / np.sqrt(x.var(axis=(0, 2, 3), ddof=1, keepdims=True) + eps)
''', "normalises with the unbiased variance", "solution_batchnorm"),
    ("04_batchnorm", "check_batchnorm", '''
def wrong(x, eps=1e-5):
    mu = x.mean(axis=(0, 2, 3), keepdims=True)
    return (x - mu) / np.sqrt(x.var(axis=(0, 2, 3), keepdims=True))
''', "leaves eps out (wrong where a channel's variance is near eps)", "solution_batchnorm"),
    ("04_batchnorm", "check_batchnorm", '''
def wrong(x, eps=1e-5):
    mu = x.mean(axis=(0, 2, 3), keepdims=True)
    return (x - mu) / (np.sqrt(x.var(axis=(0, 2, 3), keepdims=True)) + eps)
''', "adds eps outside the square root", "solution_batchnorm"),
    ("04_batchnorm", "check_running_update", '''
def wrong(running_mean, running_var, x, momentum=0.1):
    mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    return (1 - momentum) * running_mean + momentum * mu, (1 - momentum) * running_var + momentum * var
''', "keeps the biased variance in the running average", "solution_running_update"),
    ("04_batchnorm", "check_bn_eval_backward", '''
def wrong(g, x, running_mean, running_var, weight, eps=1e-5):
    c = lambda a: a[None, :, None, None]
    s = 1 / np.sqrt(c(running_var) + eps)
    xhat = (x - c(running_mean)) * s
    axes = (0, 2, 3)
    dx = c(weight) * s * (g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True))
    return dx, (g * xhat).sum(axis=axes), g.sum(axis=axes)
''', "keeps the training-mode correction terms in eval mode", "solution_bn_eval_backward"),
    ("04_batchnorm", "check_bn_eval_backward", '''
def wrong(g, x, running_mean, running_var, weight, eps=1e-5):
    c = lambda a: a[None, :, None, None]
    axes = (0, 2, 3)
    s = 1 / np.sqrt(c(running_var) + eps)
    xhat = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return c(weight) * s * g, (g * xhat).sum(axis=axes), g.sum(axis=axes)
''', "takes dweight's xhat from the batch statistics", "solution_bn_eval_backward"),
    ("05_segnet_basic", "check_conv_params", '''
def wrong(in_channels, out_channels, kernel_size, bias=True):
    return out_channels * in_channels * kernel_size**2
''', "forgets the biases", "solution_conv_params"),
    ("05_segnet_basic", "check_encoder_sizes", '''
def wrong(height):
    return [-(-height // 2**k) for k in range(1, 5)]
''', "rounds up instead of flooring", "solution_encoder_sizes"),
    ("06_training", "check_scores", '''
def wrong(M):
    M = np.asarray(M, dtype=float)
    tp, truth, predicted = np.diag(M), M.sum(axis=1), M.sum(axis=0)
    recall = np.where(truth > 0, tp / np.maximum(truth, 1), np.nan)
    iou = tp / np.maximum(truth + predicted - tp, 1)
    return tp.sum() / M.sum(), np.nanmean(recall), iou.mean()
''', "counts a class absent from truth and prediction as IoU 0", "solution_scores"),
    ("06_training", "check_scores", '''
def wrong(M):
    M = np.asarray(M, dtype=float)
    tp, truth, predicted = np.diag(M), M.sum(axis=1), M.sum(axis=0)
    recall = tp / np.maximum(truth, 1)
    union = truth + predicted - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return tp.sum() / M.sum(), recall.mean(), np.nanmean(iou)
''', "counts a class absent from the truth as recall 0", "solution_scores"),
    ("06_training", "check_median_frequency", '''
def wrong(labels, num_classes=11, void=11):
    counted = np.concatenate([lb[lb != void].ravel() for lb in labels])
    freq = np.bincount(counted, minlength=num_classes)[:num_classes] / counted.size
    weights = np.zeros(num_classes)
    weights[freq > 0] = np.median(freq[freq > 0]) / freq[freq > 0]
    return weights
''', "divides by all pixels, not by those of the images where the class appears", "solution_median_frequency"),
    ("07_bayesian_segnet", "check_entropy", '''
def wrong(p):
    safe = np.where(p > 0, p, 1.0)
    return -(p * np.log2(safe)).sum(axis=1)
''', "uses log base 2", "solution_entropy"),
    ("07_bayesian_segnet", "check_mc_mean", '''
def wrong(model, x, samples):
    model.eval()
    total = 0
    with tinyseg.no_grad():
        for _ in range(samples):
            total = total + F.softmax(model(x), dim=1).data
    model.train()
    return total / samples
''', "leaves dropout off (plain evaluation, no Monte Carlo)", "solution_mc_mean"),
    ("07_bayesian_segnet", "check_mc_mean", '''
def wrong(model, x, samples):
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    total = 0
    with tinyseg.no_grad():
        for _ in range(samples):
            total = total + F.softmax(model(x), dim=1).data
    model.train()
    return total / samples
''', "puts the model in train() afterwards instead of restoring its mode", "solution_mc_mean"),
    ("07_bayesian_segnet", "check_mc_mean", '''
def wrong(model, x, samples):
    with nn.eval_mode(model), tinyseg.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.train()
        for _ in range(samples):
            last = F.softmax(model(x), dim=1).data
    return last
''', "returns the last sample instead of the mean", "solution_mc_mean"),
    ("08_fast_convolution", "check_shifted_adds", '''
def wrong(Z, ho, stride):
    y = np.zeros((Z.shape[0], ho, Z.shape[2], Z.shape[4]), dtype=Z.dtype)
    for i in range(Z.shape[3]):
        y += Z[:, i:i + ho, :, i]
    return y
''', "forgets the stride between output rows (the stride-1 answer)", "solution_shifted_adds"),
    ("08_fast_convolution", "check_shifted_adds", '''
def wrong(Z, ho, stride):
    y = np.zeros((Z.shape[0], ho, Z.shape[2], Z.shape[4]), dtype=Z.dtype)
    kh = Z.shape[3]
    for i in range(kh):
        y += Z[:, i:i + stride * (ho - 1) + 1:stride, :, kh - 1 - i]
    return y
''', "flips the kernel rows (the input gradient's rule)", "solution_shifted_adds"),
]


@pytest.fixture(autouse=True)
def numpy_backend():
    """The notebooks run on NumPy whatever TINYSEG_BACKEND says (tests/test_notebooks.py runs them so),
    so their checks do too; the suite's backend comes back afterwards (tests/conftest.py sets it
    before each test, this fixture after)."""
    previous = backend.name()
    backend.use("numpy")
    yield
    backend.use(previous)


@pytest.fixture(scope="module")
def namespaces():
    cache: dict[str, dict] = {}

    def get(stem: str) -> dict:
        if stem not in cache:
            ns = _namespace(stem)
            if stem == "07_bayesian_segnet":  # its checks use the notebook's trained model and images
                ns["tinyseg"].manual_seed(0)
                ns["model"] = ns["models"].create("bayesian_segnet_basic", num_classes=11)
                images = np.random.default_rng(0).standard_normal((2, 3, 16, 16), dtype=np.float32)
                ns["x"] = ns["tinyseg"].tensor(images)
            cache[stem] = ns
        return cache[stem]

    return get


def test_every_exercise_has_a_case():
    nbformat = pytest.importorskip("nbformat")
    checks = set()
    for path in sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                checks |= {(path.stem, n.name) for n in ast.parse(_python(cell.source)).body
                           if isinstance(n, ast.FunctionDef) and n.name.startswith("check_")}
    assert checks == {(stem, check) for stem, check, *_ in CASES}


@pytest.mark.parametrize("stem, check, wrong, mistake, solution", CASES,
                         ids=[f"{c[0][:2]}-{c[1]}-{c[3][:30]}" for c in CASES])
def test_check_rejects_a_likely_wrong_answer_and_accepts_the_solution(namespaces, stem, check, wrong, mistake,
                                                                      solution):
    ns = namespaces(stem)
    exec(compile(wrong, f"wrong answer to {check}", "exec"), ns)  # noqa: S102
    with pytest.raises(AssertionError):
        _quietly(ns[check], ns["wrong"])
    assert "correct." in _quietly(ns[check], ns[solution])
    assert "not attempted" in _quietly(ns[check], None)


BATCHED_MC_MEAN = '''
def batched(model, x, samples):
    with nn.eval_mode(model), tinyseg.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.train()
        n = x.shape[0]
        xs = tinyseg.tensor(np.concatenate([tinyseg.backend.to_numpy(x.data)] * samples))  # one pass, all samples
        p = F.softmax(model(xs), dim=1).data
    return p.reshape(samples, n, *p.shape[1:]).mean(axis=0)
'''


def test_the_mc_mean_check_accepts_a_batched_implementation(namespaces):
    """One forward pass over the images repeated `samples` times draws the masks in another order
    than a loop: the check must accept it (it compares one sample exactly, many in statistics)."""
    ns = namespaces("07_bayesian_segnet")
    exec(compile(BATCHED_MC_MEAN, "batched answer to check_mc_mean", "exec"), ns)  # noqa: S102
    assert "correct." in _quietly(ns["check_mc_mean"], ns["batched"])
