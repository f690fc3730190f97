"""The wrong answers that notebook 03's exercise checks must reject (see tests/test_notebook_exercises.py)."""

# (notebook, check, wrong answer defining `wrong`, what the mistake is, the notebook's solution)
CASES = [
    ("03_pooling_indices", "check_unpool", '''
def wrong(values, indices):
    n, c, h, w = values.shape
    out = np.zeros((n, c, h, 2, w, 2), dtype=values.dtype)
    for p in range(4):
        j, i = divmod(p, 2)
        out[:, :, :, i, :, j] = np.where(indices == p, values, 0)
    return out.reshape(n, c, 2 * h, 2 * w)
''', "reads the window positions column-major", "solution_unpool"),
    ("03_pooling_indices", "check_unpool", '''
def wrong(values, indices):
    return np.repeat(np.repeat(values, 2, axis=2), 2, axis=3)
''', "copies each value to its whole window, ignoring the indices", "solution_unpool"),
    ("03_pooling_indices", "check_index_bits", '''
def wrong(kh, kw):
    return int(np.log2(kh * kw))
''', "rounds the logarithm down", "solution_index_bits"),
    ("03_pooling_indices", "check_index_bits", '''
def wrong(kh, kw):
    return (kh * kw).bit_length()
''', "counts the bits of the number of positions, not of the largest position", "solution_index_bits"),
    ("03_pooling_indices", "check_to_flat", '''
def wrong(indices, width):
    h, w = indices.shape[-2:]
    rows = 2 * np.arange(h)[:, None] + indices // 2
    cols = 2 * np.arange(w)[None, :] + indices % 2
    return (rows * 2 * w + cols).astype(np.int64)
''', "uses twice the pooled width, wrong for odd widths", "solution_to_flat"),
    ("03_pooling_indices", "check_to_flat", '''
def wrong(indices, width):
    h, w = indices.shape[-2:]
    rows = 2 * np.arange(h)[:, None] + indices % 2
    cols = 2 * np.arange(w)[None, :] + indices // 2
    return (rows * width + cols).astype(np.int64)
''', "reads the window positions column-major", "solution_to_flat"),
    ("03_pooling_indices", "check_maxpool_backward", '''
def wrong(g, indices, input_shape):
    gx = np.zeros(input_shape)
    h, w = g.shape[-2:]
    gx[:, :, :2 * h, :2 * w] = np.repeat(np.repeat(g, 2, axis=2), 2, axis=3)
    return gx
''', "sends the gradient to all four window positions", "solution_maxpool_backward"),
    ("03_pooling_indices", "check_maxpool_backward", '''
def wrong(g, indices, input_shape):
    gx = np.zeros(input_shape)
    h, w = g.shape[-2:]
    gx[:, :, :2 * h, :2 * w] = np.repeat(np.repeat(g / 4, 2, axis=2), 2, axis=3)
    return gx
''', "spreads the gradient evenly (average-pooling's backward)", "solution_maxpool_backward"),
    ("03_pooling_indices", "check_maxpool_backward", '''
def wrong(g, indices, input_shape):
    n, c, h, w = g.shape
    windows = np.zeros((n, c, h, 2, w, 2))
    for p in range(4):
        j, i = divmod(p, 2)
        windows[:, :, :, i, :, j] = np.where(indices == p, g, 0)
    gx = np.zeros(input_shape)
    gx[:, :, :2 * h, :2 * w] = windows.reshape(n, c, 2 * h, 2 * w)
    return gx
''', "reads the window positions column-major", "solution_maxpool_backward"),
    ("03_pooling_indices", "check_maxpool_backward", '''
def wrong(g, indices, input_shape):
    n, c, h, w = g.shape
    rows = 2 * np.arange(h)[:, None] + indices // 2
    cols = 2 * np.arange(w)[None, :] + indices % 2
    flat = (rows * 2 * w + cols).reshape(n, c, -1)
    gx = np.zeros((n, c, input_shape[2] * input_shape[3]))
    np.put_along_axis(gx, flat, g.reshape(n, c, -1), axis=2)
    return gx.reshape(input_shape)
''', "flat index with the width 2w, not the input's width", "solution_maxpool_backward"),
    ("03_pooling_indices", "check_maxpool_backward", '''
def wrong(g, indices, input_shape):
    n, c, h, w = g.shape
    windows = np.zeros((n, c, h, 2, w, 2))
    for p in range(4):
        i, j = divmod(p, 2)
        windows[:, :, :, i, :, j] = np.where(indices == p, g, 0)
    return windows.reshape(n, c, 2 * h, 2 * w)
''', "forgets the odd row/column pooling cropped: wrong shape", "solution_maxpool_backward"),
    ("03_pooling_indices", "check_unpool_backward", '''
def wrong(g, indices):
    n, c, h, w = indices.shape
    return g[:, :, :2 * h, :2 * w].reshape(n, c, h, 2, w, 2).sum(axis=(3, 5))
''', "sums the whole window instead of the kept position", "solution_unpool_backward"),
    ("03_pooling_indices", "check_unpool_backward", '''
def wrong(g, indices):
    n, c, h, w = indices.shape
    windows = g[:, :, :2 * h, :2 * w].reshape(n, c, h, 2, w, 2)
    out = np.zeros(indices.shape)
    for p in range(4):
        j, i = divmod(p, 2)
        out = np.where(indices == p, windows[:, :, :, i, :, j], out)
    return out
''', "reads the window positions column-major", "solution_unpool_backward"),
    ("03_pooling_indices", "check_unpool_backward", '''
def wrong(g, indices):
    n, c, h, w = indices.shape
    rows = 2 * np.arange(h)[:, None] + indices // 2
    cols = 2 * np.arange(w)[None, :] + indices % 2
    flat = (rows * 2 * w + cols).reshape(n, c, -1)
    return np.take_along_axis(g.reshape(n, c, -1), flat, axis=2).reshape(indices.shape)
''', "flat index with the width 2w, not the output's width", "solution_unpool_backward"),
    ("03_pooling_indices", "check_unpool_backward", '''
def wrong(g, indices):
    n, c, h, w = indices.shape
    windows = g.reshape(n, c, h, 2, w, 2)
    out = np.zeros(indices.shape)
    for p in range(4):
        i, j = divmod(p, 2)
        out = np.where(indices == p, windows[:, :, :, i, :, j], out)
    return out
''', "forgets the odd row/column that no window covers", "solution_unpool_backward"),
]
