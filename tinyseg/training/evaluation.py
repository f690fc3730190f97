"""Evaluation and prediction: a model's scores over a loader, and class maps for images.

    >>> val = DataLoader(ModelInputs(val_set, size=(180, 240)), batch_size=4)
    >>> scores = evaluate(model, val, num_classes=11, ignore_index=11, boundary_f1=True)
    >>> scores["miou"], scores["global_acc"], scores["bf"]
    >>> [p.label for p in predict(model, [street], size=(180, 240))]   # (H, W) class maps, each at its image's size

Validation during training (``fit``) and ``python -m tinyseg.evaluate`` both go through
:class:`ModelInputs` and :func:`evaluate`: images resized to the model's input size and
normalised, labels kept at their own size, class scores upsampled to the labels before the argmax.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import models, nn
from ..data import transforms as T
from ..engine import backend
from ..engine.tensor import Tensor, as_tensor, no_grad
from ..functional import interpolate
from ..metrics import BFScore, ConfusionMatrix

__all__ = ["ModelInputs", "class_scores", "evaluate", "Prediction", "predict"]


class ModelInputs:
    """A data set seen through the model's eyes: images resized to ``size`` and normalised, labels
    left at their own size (to score at the labels' resolution).

    ``ds[i]`` -> (image float32 (h, w, 3), label (H, W)); size None keeps each image's size.
    """

    def __init__(self, dataset: Any, size: tuple[int, int] | None) -> None:
        self.dataset, self.size = dataset, size

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        image, label = self.dataset[index]
        return _model_input(image, self.size), label


def _model_input(image: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (h, w, 3): resized to ``size`` (if given) and normalised."""
    if size is not None and image.shape[:2] != tuple(size):
        image = T.resize_image(image, size)
    return T.normalize(image)


def _in_model_dtype(model: nn.Module, images: Any) -> Tensor:
    """images (N, C, H, W) as a Tensor of the model's own float dtype (a float64 model gets float64 input)."""
    x = as_tensor(images)
    dtype = next(iter(model.parameters())).dtype
    return x if x.dtype == dtype else x.astype(dtype)


def class_scores(model: nn.Module, images: Any, mc_samples: int = 0, out_size: tuple[int, int] | None = None) -> Any:
    """The model's class scores (N, K, H, W) for images (N, C, h, w), in evaluation mode (every
    layer's mode is put back afterwards), with no graph recorded.

    mc_samples > 0: the mean softmax of that many Monte Carlo dropout passes (a model with
    dropout). out_size (H, W): the scores are upsampled bilinearly to it when they differ.
    """
    with no_grad():
        if mc_samples > 0:
            scores = Tensor(models.mc_predict(model, _in_model_dtype(model, images), samples=mc_samples).mean)
        else:
            with nn.eval_mode(model):
                scores = model(_in_model_dtype(model, images))
        if out_size is not None and tuple(scores.shape[2:]) != tuple(out_size):
            scores = interpolate(scores, out_size)
    return scores.data


def evaluate(
    model: nn.Module,
    loader: Iterable[tuple[Any, Any]],
    num_classes: int,
    ignore_index: int | None = None,
    *,
    mc_samples: int = 0,
    boundary_f1: bool = False,
    keep: int = 0,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> dict[str, Any]:
    """Scores of ``model`` over every batch (images (N, C, h, w), labels (N, H, W)) of ``loader``.

    The class scores are upsampled to the labels' size when the two differ, so a model that runs
    at 180x240 is scored against 360x480 labels. Returns the confusion matrix's scores
    (``global_acc``, ``class_acc``, ``miou``, ``per_class_acc``, ``per_class_iou``), ``bf`` when
    ``boundary_f1``, ``label_size`` and ``input_size`` (H, W) of the last batch, and ``samples``:
    the first ``keep`` (image, label, prediction) triples. The model is evaluated in eval mode
    and put back in the mode it was in. progress: e.g. ``tqdm``, wrapped around the batches.
    """
    cm = ConfusionMatrix(num_classes, ignore_index)
    bf = BFScore(num_classes, ignore_index) if boundary_f1 else None
    samples: list[tuple[Any, Any, Any]] = []
    label_size = input_size = None
    with nn.eval_mode(model):
        for images, labels in progress(loader) if progress else loader:
            label_size, input_size = tuple(labels.shape[1:]), tuple(images.shape[2:])
            pred = class_scores(model, images, mc_samples, out_size=label_size).argmax(axis=1)
            cm.update(pred, labels)
            if bf is not None:
                bf.update(pred, labels)
            if len(samples) < keep:
                samples += list(zip(images, labels, pred))[: keep - len(samples)]
    if label_size is None:
        raise ValueError("evaluate: the loader gave no batches")
    scores = cm.scores()
    if bf is not None:
        scores["bf"] = bf.score()
    return {**scores, "label_size": label_size, "input_size": input_size, "samples": samples}


# ---- prediction ----------------------------------------------------------------------------------


@dataclass
class Prediction:
    """One image's prediction, NumPy arrays at the image's own size.

    label: (H, W) uint8 class per pixel. entropy: (H, W) float32 MC-dropout entropy in nats, or
    None when the prediction was a single deterministic pass.
    """

    label: np.ndarray
    entropy: np.ndarray | None = None


def predict(
    model: nn.Module, images: Sequence[np.ndarray], size: tuple[int, int] | None = None, mc_samples: int = 0
) -> list[Prediction]:
    """Class maps for RGB images (each uint8 (H, W, 3), any size), one image at a time.

    Each image is resized to ``size`` (the size the model was trained at; None: as it is) and
    normalised; the class scores are upsampled back to the image's size before the argmax.
    mc_samples > 0 (a model with dropout): the mean of that many MC-dropout passes, with its entropy.
    """
    out = []
    with nn.eval_mode(model):
        for image in images:
            if image.ndim != 3 or image.shape[2] != 3:
                raise ValueError(f"predict: images must be RGB arrays (H, W, 3), got shape {image.shape}")
            x = backend.to_device(np.ascontiguousarray(_model_input(image, size).transpose(2, 0, 1)[None]))
            entropy = None
            if mc_samples > 0:
                result = models.mc_predict(model, _in_model_dtype(model, x), samples=mc_samples)
                scores, entropy = result.mean, backend.to_numpy(result.entropy)[0]
            else:
                scores = class_scores(model, x)
            if tuple(scores.shape[2:]) != image.shape[:2]:  # back to the image's size, as evaluate scores
                scores = interpolate(Tensor(scores), image.shape[:2]).data
                entropy = None if entropy is None else T.resize_label(entropy, image.shape[:2])
            out.append(Prediction(backend.to_numpy(scores.argmax(axis=1))[0].astype(np.uint8), entropy))
    return out
