"""The wrong answers that notebook 04's exercise checks must reject (see tests/test_notebook_exercises.py)."""

# (notebook, check, wrong answer defining `wrong`, what the mistake is, the notebook's solution)
CASES = [
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
    ("04_batchnorm", "check_running_update", '''
def wrong(running_mean, running_var, x, momentum=0.1):
    n = x.size // x.shape[1]
    mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    return momentum * running_mean + (1 - momentum) * mu, momentum * running_var + (1 - momentum) * var * n / (n - 1)
''', "swaps momentum and 1 - momentum", "solution_running_update"),
    ("04_batchnorm", "check_bn_train_backward", '''
def wrong(g, x, weight, eps=1e-5):
    axes = (0, 2, 3)
    s = 1 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    xhat = (x - x.mean(axis=axes, keepdims=True)) * s
    return weight[None, :, None, None] * s * g, (g * xhat).sum(axis=axes), g.sum(axis=axes)
''', "treats mu and var as constants (the forgetful backward)", "solution_bn_train_backward"),
    ("04_batchnorm", "check_bn_train_backward", '''
def wrong(g, x, weight, eps=1e-5):
    axes = (0, 2, 3)
    s = 1 / np.sqrt(x.var(axis=axes, ddof=1, keepdims=True) + eps)
    xhat = (x - x.mean(axis=axes, keepdims=True)) * s
    w = weight[None, :, None, None]
    dx = w * s * (g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True))
    return dx, (g * xhat).sum(axis=axes), g.sum(axis=axes)
''', "uses the unbiased variance (n - 1)", "solution_bn_train_backward"),
    ("04_batchnorm", "check_bn_train_backward", '''
def wrong(g, x, weight, eps=1e-5):
    axes = (0, 2, 3)
    s = 1 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    xhat = (x - x.mean(axis=axes, keepdims=True)) * s
    dx = weight[None, :, None, None] * s * (g - xhat * (g * xhat).mean(axis=axes, keepdims=True))
    return dx, (g * xhat).sum(axis=axes), g.sum(axis=axes)
''', "forgets the term through the mean (variance term only)", "solution_bn_train_backward"),
    ("04_batchnorm", "check_bn_train_backward", '''
def wrong(g, x, weight, eps=1e-5):
    axes = (0, 2, 3)
    s = 1 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    xhat = (x - x.mean(axis=axes, keepdims=True)) * s
    w = weight[None, :, None, None]
    dx = w * s * (g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True))
    return dx, g.sum(axis=axes), g.sum(axis=axes)
''', "dweight without xhat (sum(g), as dbias)", "solution_bn_train_backward"),
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
]
