"""The wrong answers that notebook 07's exercise checks must reject (see tests/test_notebook_exercises.py)."""

# (notebook, check, wrong answer defining `wrong`, what the mistake is, the notebook's solution)
CASES = [
    ("07_bayesian_segnet", "check_entropy", '''
def wrong(p):
    safe = np.where(p > 0, p, 1.0)
    return -(p * np.log2(safe)).sum(axis=1)
''', "uses log base 2", "solution_entropy"),
    ("07_bayesian_segnet", "check_entropy", '''
def wrong(p):
    safe = np.where(p > 0, p, 1.0)
    return (p * np.log(safe)).sum(axis=1)
''', "forgets the minus sign (sum p log p is negative)", "solution_entropy"),
    ("07_bayesian_segnet", "check_entropy", '''
def wrong(p):
    safe = np.where(p > 0, p, 1.0)
    return -(p * np.log(safe)).mean(axis=1)
''', "averages over the classes instead of summing", "solution_entropy"),
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
]
