"""The wrong answers that notebook 01's exercise checks must reject (see tests/test_notebook_exercises.py)."""

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
    ("01_autograd", "check_tanh", '''
def wrong(v):
    t = math.tanh(v.data)
    out = Value(t, (v,), "tanh")
    def _backward():
        v.grad += (1 - v.data ** 2) * out.grad
    out._backward = _backward
    return out
''', "uses 1 - x^2 (the input) instead of 1 - tanh(x)^2", "solution_tanh"),
    ("01_autograd", "check_tanh", '''
def wrong(v):
    t = math.tanh(v.data)
    out = Value(t, (v,), "tanh")
    def _backward():
        v.grad += 1 - t * t
    out._backward = _backward
    return out
''', "forgets to multiply by out.grad", "solution_tanh"),
    ("01_autograd", "check_grad_w", '''
def wrong(x, g):
    return (g * x).mean(axis=0)
''', "averages over the broadcast axis instead of summing", "solution_grad_w"),
    ("01_autograd", "check_grad_w", '''
def wrong(x, g):
    return g.sum(axis=0)
''', "forgets the factor x", "solution_grad_w"),
    ("01_autograd", "check_grad_w", '''
def wrong(x, g):
    return g * x
''', "does not sum over the broadcast axis", "solution_grad_w"),
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
    ("01_autograd", "check_sigmoid", '''
class wrong(tinyseg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 1 / (1 + np.exp(-x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return x * (1 - x) * grad
''', "uses x (1 - x) with the input instead of y", "SolutionSigmoid"),
]
