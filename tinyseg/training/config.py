"""What a training run is: :class:`TrainConfig`, and the built-in recipes that fill one in.

    >>> config = TrainConfig.from_recipe("camvid-cpu", data="../shared/camvid", iters=200)
    >>> config.lr, config.size, config.class_weights
    (0.1, (180, 240), 'sqrt-median')
    >>> config.check()                               # every field checked: one ConfigError naming it
    >>> TrainConfig.from_dict(config.to_dict()) == config      # a checkpoint stores it; resume reads it back
    True

A recipe is a set of defaults; what the caller gives overrides it. ``python -m tinyseg.train``
builds its config this way from the options typed, the checkpoint stores it (``meta["config"]``),
and ``--resume`` reads it back with the newly typed options on top.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from .. import models

__all__ = ["TrainConfig", "ConfigError", "RECIPES", "CHOICES", "check_range"]

# "camvid" follows the paper (SegNet-Basic, Caffe solver): SGD, lr 0.1, momentum 0.9, weight
# decay 5e-4, batch 4, median-frequency weights, full-size images, a fixed rate for 10,000
# iterations (more than a day on a 2-core CPU); it is also the default for a folder data set.
# "camvid-cpu" fits in about 90 minutes on a 2-core CPU (docs/results.md says how it was chosen):
# half-size images, augmentation, a short warm-up and a poly decay of the paper's rate, and the
# square roots of the median-frequency weights. "synthetic" is the no-download default, sized to
# finish in minutes.
RECIPES: dict[str, dict[str, Any]] = {
    "camvid": dict(
        iters=10_000,
        batch_size=4,
        lr=0.1,
        size=None,
        fine_iters=0,
        val_every=500,
        augment=False,
        lr_schedule="constant",
        warmup_iters=0,
        class_weights="median",
    ),
    "camvid-cpu": dict(
        iters=1500,
        batch_size=4,
        lr=0.1,
        size=(180, 240),
        fine_iters=0,
        val_every=250,
        augment=True,
        lr_schedule="poly",
        warmup_iters=50,
        class_weights="sqrt-median",
    ),
    "synthetic": dict(
        iters=300,
        batch_size=4,
        lr=0.1,
        size=(96, 128),
        fine_iters=0,
        val_every=100,
        augment=False,
        lr_schedule="constant",
        warmup_iters=0,
        class_weights="median",
    ),
}

CHOICES: dict[str, tuple[str, ...]] = {
    "model": tuple(models.available()),
    "optimizer": ("sgd", "adam"),
    "lr_schedule": ("constant", "poly", "cosine"),
    "class_weights": ("median", "sqrt-median", "segnet-tutorial", "none"),
    "loss_norm": ("caffe", "torch"),
    "backend": ("numpy", "cupy"),
    "recipe": tuple(RECIPES),
}


def _field(default: Any, help: str) -> Any:  # noqa: A002 (argparse's name for it)
    """A dataclass field with its one-line help (``python -m tinyseg.train --help`` shows it)."""
    return dataclasses.field(default=default, metadata={"help": help})


class ConfigError(ValueError):
    """A field of a TrainConfig has a value no run can use: ``field`` names it, ``reason`` says why.

    Other fields in ``reason`` are written ``{name}``: ``str(error)`` shows them as field names
    ("warmup_iters must be below iters (10)"), :meth:`message` with ``as_option`` as the train
    command's options ("--warmup-iters must be below --iters (10)").
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(self.message())

    def message(self, as_option: bool = False) -> str:
        """The error as one line, fields named as fields or (``as_option``) as command-line options."""

        def name(field: str) -> str:
            return "--" + field.replace("_", "-") if as_option else field

        return f"{name(self.field)} " + re.sub(r"\{(\w+)\}", lambda m: name(m.group(1)), self.reason)


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run: data, model, optimiser, schedule, loss, validation, backend.

    The run is ``iters`` steps (or ``epochs`` passes over the training set, when set instead) of
    ``batch_size`` images resized to ``size`` (H, W) (None: as they are), optimised by
    ``optimizer`` at rate ``lr`` following ``lr_schedule`` after ``warmup_iters`` steps of linear
    warm-up. The last ``fine_iters`` of the steps are a fine-tune at ``fine_size`` (None: as the
    images are): the optimiser's state is cleared and ``lr_schedule`` restarts at ``fine_lr``
    (None: ``lr / 10``) over those steps, the first schedule having run to its end. The loss is
    cross-entropy with ``class_weights`` averaged as ``loss_norm`` says, and the model is
    validated every ``val_every`` steps. ``data``: a folder data set or the CamVid root, None for
    ``synthetic`` procedurally drawn scenes.
    """

    # Each field's help is what `python -m tinyseg.train --help` shows for its option (--field-name).
    recipe: str = _field("synthetic", "defaults for what is left out (default: camvid with --data, else synthetic)")
    data: str | None = _field(
        None, "a folder data set (docs/your-data.md) or the CamVid root (default: synthetic scenes)"
    )
    classes: str | None = _field(None, "classes.json of a folder data set (default: DATA/classes.json, else found)")
    skip_bad: bool = _field(False, "skip unusable image/label pairs (listed) instead of stopping at the first")
    synthetic: int = _field(400, "synthetic training scenes without --data (default 400; 40 more validate)")
    model: str = _field("segnet_basic", "the network (default segnet_basic)")
    iters: int | None = _field(300, "training steps (recipe's: 300 synthetic, 1500 camvid-cpu, 10000 camvid)")
    epochs: float | None = _field(None, "training length in passes over the training set, instead of --iters")
    batch_size: int = _field(4, "images per step (default 4)")
    optimizer: str = _field("sgd", "default sgd")
    lr: float = _field(0.1, "learning rate (default 0.1 with SGD, 1e-3 with Adam)")
    momentum: float = _field(0.9, "SGD momentum (default 0.9)")
    weight_decay: float = _field(5e-4, "L2 weight decay (default 5e-4)")
    lr_schedule: str = _field("constant", "fixed, (1 - t/T)^0.9, or a half cosine (recipe's)")
    warmup_iters: int = _field(0, "ramp the rate up linearly over the first N steps (recipe's)")
    class_weights: str = _field("median", "median frequency balancing, its square root, the tutorial's, none")
    loss_norm: str = _field("caffe", "divide the loss by the counted pixels (caffe, default) or their weights (torch)")
    augment: bool = _field(False, "random flips, scale-and-crop, colour jitter (recipe's)")
    size: tuple[int, int] | None = _field((96, 128), "resize images to HxW (recipe's: 96x128, 180x240 camvid-cpu)")
    fine_iters: int = _field(0, "end with N steps at --fine-size, the rate restarted at --fine-lr (default 0)")
    fine_size: tuple[int, int] | None = _field(None, "HxW of the last --fine-iters steps (default: each image's own)")
    fine_lr: float | None = _field(None, "the rate the last --fine-iters steps restart at (default: --lr / 10)")
    val_every: int = _field(100, "validate every N steps (recipe's)")
    log_every: int = _field(10, "read the loss back from the device every N steps (default 10)")
    workers: int = _field(2, "background threads decoding images (default 2)")
    seed: int = _field(0, "seeds the weights, the data order, augmentation and dropout (default 0)")
    backend: str = _field("numpy", "where the ops run (default numpy)")
    tf32: bool = _field(False, "with --backend cupy: float32 products on TF32 tensor cores")

    @classmethod
    def from_recipe(cls, recipe: str | None = None, **overrides: Any) -> TrainConfig:
        """The recipe's settings with ``overrides`` on top (None values are ignored, as "not given").

        recipe None: "synthetic" without ``data``, "camvid" with it. ``iters`` or ``epochs`` given
        replaces the recipe's length, and ``iters`` keeps the recipe's share of ``fine_iters``
        (rounded down); ``lr`` left out is the recipe's with SGD, 1e-3 with Adam.
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        unknown = sorted(set(given) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"TrainConfig has no field(s) {', '.join(unknown)}")
        name = recipe or ("synthetic" if given.get("data") is None else "camvid")
        if name not in RECIPES:
            raise ConfigError("recipe", f"must be one of {', '.join(RECIPES)}, got {name!r}")
        if given.get("data") is None and name != "synthetic":
            raise ConfigError("recipe", f"{name} needs {{data}} (the CamVid root or your own data set)")
        settings = dict(RECIPES[name])
        if "epochs" in given:
            settings["iters"] = None
        if given.get("optimizer") == "adam":
            settings["lr"] = 1e-3
        # a shorter run keeps the recipe's share of fine-tuning steps, and its warm-up is cut to fit
        # what is left before them; what is given is checked instead
        if "fine_iters" not in given and given.get("iters") is not None:
            settings["fine_iters"] = settings["fine_iters"] * given["iters"] // settings["iters"]
        if "warmup_iters" not in given and given.get("iters") is not None:
            first = given["iters"] - given.get("fine_iters", settings["fine_iters"])
            settings["warmup_iters"] = max(0, min(settings["warmup_iters"], first - 1))
        return cls(recipe=name, **(settings | given))

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` (None values ignored); ``iters`` and ``epochs`` replace each other."""
        given = {k: v for k, v in changes.items() if v is not None}
        if "epochs" in given:
            given.setdefault("iters", None)
        elif "iters" in given:
            given["epochs"] = None
        return dataclasses.replace(self, **given)

    def total_iters(self, batches_per_epoch: int) -> int:
        """The run's length in steps: ``iters``, or ``epochs`` passes of ``batches_per_epoch``."""
        return self.iters if self.iters is not None else math.ceil((self.epochs or 0) * batches_per_epoch)

    def size_at(self, step: int, total: int) -> tuple[int, int] | None:
        """The input size (H, W) of step ``step`` (1 for the first) of a run of ``total`` steps:
        ``fine_size`` for the last ``fine_iters`` steps, ``size`` before them (None: as they are)."""
        return self.fine_size if step > total - self.fine_iters else self.size

    @property
    def fine_rate(self) -> float:
        """The rate the fine-tuning steps restart at: ``fine_lr``, or a tenth of ``lr``."""
        return self.fine_lr if self.fine_lr is not None else self.lr / 10

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (size as a list)."""
        out = dataclasses.asdict(self)
        out["size"] = list(self.size) if self.size else None
        out["fine_size"] = list(self.fine_size) if self.fine_size else None
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Back from :meth:`to_dict` (a checkpoint's ``meta["config"]``)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in names}
        for name in ("size", "fine_size"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return cls(**values)

    def check(self) -> None:
        """Every field checked before any data is read or model built: a ConfigError for the first bad one."""
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(name, f"must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        check_range("lr", self.lr, low=0, low_ok=False)
        check_range("fine_lr", self.fine_lr, low=0, low_ok=False)
        check_range("momentum", self.momentum, low=0, high=1)
        check_range("weight_decay", self.weight_decay, low=0)
        check_range("epochs", self.epochs, low=0, low_ok=False)
        for name in ("iters", "batch_size", "val_every", "log_every", "synthetic"):
            check_range(name, getattr(self, name), low=1)
        for name in ("workers", "warmup_iters", "fine_iters", "seed"):
            check_range(name, getattr(self, name), low=0)
        if (self.iters is None) == (self.epochs is None):
            raise ConfigError("iters", "or {epochs}: give exactly one of the two")
        if self.iters is not None and self.fine_iters >= self.iters:
            raise ConfigError("fine_iters", f"must be below {{iters}} ({self.iters}), got {self.fine_iters}")
        if self.iters is not None and self.warmup_iters >= self.iters - self.fine_iters:
            first = f"{{iters}} ({self.iters})" + (f" - {{fine_iters}} ({self.fine_iters})" if self.fine_iters else "")
            raise ConfigError("warmup_iters", f"must be below {first}, got {self.warmup_iters}")
        if self.data is None and self.synthetic < self.batch_size:
            raise ConfigError(
                "synthetic",
                f"{self.synthetic} is fewer than one batch; it must be at least {{batch_size}} ({self.batch_size})",
            )
        if self.classes is not None and self.data is None:
            raise ConfigError("classes", "needs {data} (the synthetic scenes have CamVid's classes)")
        if self.tf32 and self.backend != "cupy":
            raise ConfigError("tf32", "needs {backend} cupy (TF32 is a GPU tensor-core format)")


def check_range(
    field: str,
    value: float | None,
    *,
    low: float,
    low_ok: bool = True,
    high: float | None = None,
    high_ok: bool = False,
) -> None:
    """A ConfigError naming ``field`` when ``value`` (None: not set) is not a finite number in the range."""
    if value is None:
        return
    high_text = "" if high is None else f" and {'at most' if high_ok else 'below'} {high:g}"
    allowed = f"{'at least' if low_ok else 'greater than'} {low:g}{high_text}"
    bad = not math.isfinite(value) or value < low or (value == low and not low_ok)
    if high is not None:
        bad = bad or value > high or (value == high and not high_ok)
    if bad:
        finite = "" if math.isfinite(value) else "a finite number "
        raise ConfigError(field, f"must be {finite}{allowed}, got {value:g}")
