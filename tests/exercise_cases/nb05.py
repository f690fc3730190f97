"""The wrong answers that notebook 05's exercise checks must reject (see tests/test_notebook_exercises.py)."""

# (notebook, check, wrong answer defining `wrong`, what the mistake is, the notebook's solution)
CASES = [
    ("05_segnet_basic", "check_conv_params", '''
def wrong(in_channels, out_channels, kernel_size, bias=True):
    return out_channels * in_channels * kernel_size**2
''', "forgets the biases", "solution_conv_params"),
    ("05_segnet_basic", "check_conv_params", '''
def wrong(in_channels, out_channels, kernel_size, bias=True):
    return out_channels * in_channels * kernel_size + (out_channels if bias else 0)
''', "forgets to square the kernel size", "solution_conv_params"),
    ("05_segnet_basic", "check_encoder_sizes", '''
def wrong(height):
    return [-(-height // 2**k) for k in range(1, 5)]
''', "rounds up instead of flooring", "solution_encoder_sizes"),
    ("05_segnet_basic", "check_encoder_sizes", '''
def wrong(height):
    return [height // 2**k for k in range(4)]
''', "starts with the input height (off by one)", "solution_encoder_sizes"),
]
