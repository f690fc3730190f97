"""The wrong answers that notebook 06's exercise checks must reject (see tests/test_notebook_exercises.py)."""

# (notebook, check, wrong answer defining `wrong`, what the mistake is, the notebook's solution)
CASES = [
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
    ("06_training", "check_median_frequency", '''
def wrong(labels, num_classes=11, void=11):
    class_pixels, image_pixels = np.zeros(num_classes), np.zeros(num_classes)
    for label in labels:
        n = np.bincount(label[label != void].ravel(), minlength=num_classes)[:num_classes]
        class_pixels += n
        image_pixels[n > 0] += label.size
    seen = class_pixels > 0
    weights = np.zeros(num_classes)
    weights[seen] = np.median(class_pixels[seen] / image_pixels[seen]) / (class_pixels[seen] / image_pixels[seen])
    return weights
''', "counts void pixels in an image's total", "solution_median_frequency"),
    ("06_training", "check_median_frequency", '''
def wrong(labels, num_classes=11, void=11):
    class_pixels, image_pixels = np.zeros(num_classes), np.zeros(num_classes)
    for label in labels:
        counted = label[label != void]
        n = np.bincount(counted.ravel(), minlength=num_classes)[:num_classes]
        class_pixels += n
        image_pixels[n > 0] += counted.size
    freq = class_pixels / np.maximum(image_pixels, 1)
    weights = np.zeros(num_classes)
    weights[freq > 0] = np.median(freq) / freq[freq > 0]
    return weights
''', "takes the median over all classes, absent ones as 0", "solution_median_frequency"),
    ("06_training", "check_ce_backward", '''
def wrong(z, t, weight, void):
    safe = np.where(t == void, 0, t)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.arange(z.shape[1])[None, :, None, None] == safe[:, None]
    w = weight[safe]
    return (p - onehot) * w[:, None] / w.sum()
''', "forgets to zero the gradient at void pixels", "solution_ce_backward"),
    ("06_training", "check_ce_backward", '''
def wrong(z, t, weight, void):
    counted = t != void
    safe = np.where(counted, t, 0)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.arange(z.shape[1])[None, :, None, None] == safe[:, None]
    w = weight[z.argmax(axis=1)] * counted
    return (p - onehot) * w[:, None] / w.sum()
''', "weights each pixel by its predicted class, not its true class", "solution_ce_backward"),
    ("06_training", "check_ce_backward", '''
def wrong(z, t, weight, void):
    counted = t != void
    safe = np.where(counted, t, 0)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.arange(z.shape[1])[None, :, None, None] == safe[:, None]
    w = weight[safe] * counted
    return (p - onehot) * w[:, None] / counted.sum()
''', "divides by the pixel count (Caffe's) instead of the weight sum", "solution_ce_backward"),
    ("06_training", "check_ce_backward", '''
def wrong(z, t, weight, void):
    counted = t != void
    safe = np.where(counted, t, 0)
    onehot = (np.arange(z.shape[1])[None, :, None, None] == safe[:, None]).astype(float)
    w = weight[safe] * counted
    return -onehot * w[:, None] / w.sum()
''', "forgets the softmax: returns -onehot * w / D", "solution_ce_backward"),
]
