"""The wrong answers that notebook 10's exercise checks must reject (see tests/test_notebook_exercises.py)."""

# (notebook, check, wrong answer defining `wrong`, what the mistake is, the notebook's solution)
CASES = [
    ("10_gpu", "check_train_losses", '''
def wrong(model, optimizer, batches):
    return [float(train_step(model, optimizer, images, labels)) for images, labels in batches]
''', "reads each loss as it comes (a sync a step)", "solution_train_losses"),
    ("10_gpu", "check_train_losses", '''
def wrong(model, optimizer, batches):
    losses = [train_step(model, optimizer, images, labels) for images, labels in batches]
    return [float(v) for v in tinyseg.backend.get_xp().stack(losses)]
''', "stacks on the device, then reads one value at a time", "solution_train_losses"),
    ("10_gpu", "check_train_losses", '''
def wrong(model, optimizer, batches):
    losses = [train_step(model, optimizer, images, labels) for images, labels in batches]
    return [loss.item() for loss in losses]
''', "item() on each loss after the loop: still a read each", "solution_train_losses"),
    ("10_gpu", "check_train_losses", '''
def wrong(model, optimizer, batches):
    losses = [train_step(model, optimizer, images, labels) for images, labels in batches]
    return np.array(losses).tolist()
''', "np.array of device arrays (CuPy refuses the implicit conversion)", "solution_train_losses"),
    ("10_gpu", "check_train_losses", '''
def wrong(model, optimizer, batches):
    for images, labels in batches:
        loss = train_step(model, optimizer, images, labels)
    return tinyseg.backend.to_numpy(loss.reshape(1)).tolist()
''', "keeps only the last loss", "solution_train_losses"),
]
