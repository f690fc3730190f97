"""The wrong answers that notebook 02's exercise checks must reject (see tests/test_notebook_exercises.py)."""

# (notebook, check, wrong answer defining `wrong`, what the mistake is, the notebook's solution)
CASES = [
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
    ("02_convolution", "check_weight_grad", '''
def wrong(x, g, kh, kw):
    n_img, c = x.shape[:2]
    o = g.shape[1]
    cols = window_view(x, kh, kw, 1).transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, -1)
    g2 = g.reshape(o, -1)                 # (N, O, ...) read as (O, ...) without moving O first
    return (g2 @ cols.T).reshape(o, c, kh, kw)
''', "reshapes g without moving O to the front (wrong axis)", "solution_weight_grad"),
    ("02_convolution", "check_weight_grad", '''
def wrong(x, g, kh, kw):
    n_img, c = x.shape[:2]
    o = g.shape[1]
    for n in range(n_img):                # one image at a time, but each overwrites the last
        cols = window_view(x[n:n + 1], kh, kw, 1).transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, -1)
        dw = (g[n].reshape(o, -1) @ cols.T).reshape(o, c, kh, kw)
    return dw
''', "forgets the sum over the batch", "solution_weight_grad"),
    ("02_convolution", "check_input_grad", '''
def wrong(g, w, stride, padding, input_size):
    k = w.shape[2]
    extra_h, extra_w = ((n + 2 * padding - k) % stride for n in input_size)
    gd = np.pad(dilate(g, stride), ((0, 0), (0, 0), (0, extra_h), (0, extra_w)))
    return conv2d_gemm(gd, w.transpose(1, 0, 2, 3), padding=k - 1 - padding)
''', "forgets to flip the kernel", "solution_input_grad"),
    ("02_convolution", "check_input_grad", '''
def wrong(g, w, stride, padding, input_size):
    k = w.shape[2]
    extra_h, extra_w = ((n + 2 * padding - k) % stride for n in input_size)
    gd = np.pad(dilate(g, stride), ((0, 0), (0, 0), (0, extra_h), (0, extra_w)))
    return conv2d_gemm(gd, w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], padding=padding)
''', "pads by p instead of k - 1 - p", "solution_input_grad"),
    ("02_convolution", "check_input_grad", '''
def wrong(g, w, stride, padding, input_size):
    k = w.shape[2]
    extra_h, extra_w = ((n + 2 * padding - k) % stride for n in input_size)
    gd = np.pad(g, ((0, 0), (0, 0), (0, extra_h), (0, extra_w)))
    return conv2d_gemm(gd, w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], padding=k - 1 - padding)
''', "forgets to dilate g by the stride", "solution_input_grad"),
    ("02_convolution", "check_input_grad", '''
def wrong(g, w, stride, padding, input_size):
    k = w.shape[2]
    return conv2d_gemm(dilate(g, stride), w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], padding=k - 1 - padding)
''', "forgets the rows the windows missed", "solution_input_grad"),
    ("02_convolution", "check_conv1x1", '''
def wrong(x, w):
    return np.einsum("oc,nchw->nohw", w.reshape(w.shape[1], w.shape[0]).T, x)
''', "reshapes where it should transpose", "solution_conv1x1"),
    ("02_convolution", "check_conv1x1", '''
def wrong(x, w):
    return x.transpose(0, 2, 3, 1) @ w[:, :, 0, 0].T      # (N, H, W, O): the channels never move back
''', "leaves the channels last", "solution_conv1x1"),
]
