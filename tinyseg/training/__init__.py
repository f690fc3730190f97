"""Training, evaluating and predicting, for the commands and for notebooks alike.

config.py      TrainConfig, what a run is, and the built-in recipes that fill one in
build.py       what a run is built from: make_loaders, build_optimizer, class_weights
loop.py        train_step, and fit: the loop with validation, checkpoints, resume and hooks
evaluation.py  evaluate (scores over a loader) and predict (class maps for images)
"""

from .build import build_optimizer, class_weights, make_loaders, make_transforms
from .config import RECIPES, ConfigError, TrainConfig
from .evaluation import ModelInputs, Prediction, class_scores, evaluate, predict
from .loop import Callback, FitResult, TrainingDiverged, fit, train_step

__all__ = [
    "TrainConfig",
    "ConfigError",
    "RECIPES",
    "fit",
    "Callback",
    "FitResult",
    "TrainingDiverged",
    "train_step",
    "make_loaders",
    "make_transforms",
    "build_optimizer",
    "class_weights",
    "evaluate",
    "class_scores",
    "ModelInputs",
    "predict",
    "Prediction",
]
