"""The wrong answers that notebook 09's exercise checks must reject (see tests/test_notebook_exercises.py)."""

# (notebook, check, wrong answer defining `wrong`, what the mistake is, the notebook's solution)
CASES = [
    ("09_camvid_recipe", "check_poly_lr", '''
def wrong(step, base_lr, total_iters, warmup_iters, power=0.9):
    ramp = step / warmup_iters if step < warmup_iters else 1.0
    return base_lr * ramp * (1 - step / total_iters) ** power
''', "warm-up ramp t/w starts at a rate of 0", "solution_poly_lr"),
    ("09_camvid_recipe", "check_poly_lr", '''
def wrong(step, base_lr, total_iters, warmup_iters, power=0.9):
    if step < warmup_iters:
        return base_lr * (step + 1) / (warmup_iters + 1)
    return base_lr * (1 - step / total_iters) ** power
''', "no decay during the warm-up", "solution_poly_lr"),
    ("09_camvid_recipe", "check_poly_lr", '''
def wrong(step, base_lr, total_iters, warmup_iters, power=0.9):
    ramp = (step + 1) / (warmup_iters + 1) if step < warmup_iters else 1.0
    t = max(step - warmup_iters, 0)
    return base_lr * ramp * (1 - t / (total_iters - warmup_iters)) ** power
''', "decay counted from the end of the warm-up", "solution_poly_lr"),
    ("09_camvid_recipe", "check_poly_lr", '''
def wrong(step, base_lr, total_iters, warmup_iters, power=0.9):
    ramp = (step + 1) / (warmup_iters + 1) if step < warmup_iters else 1.0
    return base_lr * ramp * (1 - step / total_iters)
''', "forgets the power (a linear decay)", "solution_poly_lr"),
]
