"""The wrong answers that notebook 08's exercise checks must reject (see tests/test_notebook_exercises.py)."""

# (notebook, check, wrong answer defining `wrong`, what the mistake is, the notebook's solution)
CASES = [
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
