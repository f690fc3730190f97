"""Training: one step, and ``fit``, the loop that runs a whole TrainConfig (its parts come from build.py).

    >>> config = TrainConfig.from_recipe("synthetic", iters=200)
    >>> train_loader, val_loader = make_loaders(config, train_set, val_set)
    >>> model = models.create(config.model, num_classes=len(train_set.classes))
    >>> result = fit(model, build_optimizer(config, model), train_loader, val_loader, config,
    ...              classes=train_set.classes, out=Path("runs/a"))
    >>> result.best_miou, result.history[-1]

``fit`` holds everything a run does between its first step and its last: the learning-rate
schedule, the loss read back every ``log_every`` steps, validation every ``val_every`` steps,
best.npz and last.npz and metrics.jsonl in ``out``, a stop on a non-finite loss, Ctrl-C (finish
the step, save, return) and resuming from a checkpoint exactly where it stopped. What a caller
adds (a progress bar, pictures) comes in as :class:`Callback` objects. Nothing here reads a
command line; ``python -m tinyseg.train`` parses one into a TrainConfig and calls ``fit``.
"""

from __future__ import annotations

import json
import math
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn, optim
from ..data import Classes, DataLoader
from ..engine import backend
from ..engine import random as tsrandom
from ..engine.tensor import as_tensor
from ..functional import cross_entropy
from ..io import checkpoint
from ..io.storage import atomic_write, write_json
from .config import ConfigError, TrainConfig
from .evaluation import evaluate

__all__ = ["train_step", "fit", "Callback", "FitResult", "TrainingDiverged"]


def train_step(
    model: nn.Module,
    optimizer: optim.Optimizer,
    images: Any,
    labels: Any,
    *,
    weight: Any = None,
    ignore_index: int | None = None,
    normalization: str = "caffe",
) -> Any:
    """One optimisation step on one batch: forward, weighted cross-entropy, backward, update.

    images: (N, C, H, W) float32; labels: (N, H, W) integer class per pixel (``ignore_index``
    pixels count for nothing); weight: (K,) class weights or None. The model should be in
    training mode. Returns the loss as a 0-d array on the device, not read back (reading it
    would make a GPU wait): ``float(loss)`` when you want the number.
    """
    logits = model(as_tensor(images))
    loss = cross_entropy(logits, labels, weight=weight, ignore_index=ignore_index, normalization=normalization)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.data


# ---- fit: the whole run ---------------------------------------------------------------------------


class Callback:
    """What a caller adds to :func:`fit` (a progress bar, pictures): override the hooks you need."""

    def on_fit_start(self, start: int, total: int) -> None:
        """Before the first step; ``start`` > 0 when resuming."""

    def on_steps(self, step: int, losses: list[float]) -> None:
        """After the losses of the steps up to ``step`` were read back (every ``log_every`` steps)."""

    def on_validation(self, step: int, scores: dict[str, Any], history: list[dict[str, Any]]) -> None:
        """After validating at ``step`` (``scores`` as :func:`evaluate` returns them, 4 samples kept)."""

    def on_fit_end(self, result: FitResult) -> None:
        """After the last step, or after Ctrl-C stopped the run (``result.interrupted``)."""


@dataclass
class FitResult:
    """What a run reached. history: {"iter", "loss"} per step and {"iter", "global_acc",
    "class_acc", "miou"} per validation, resumed runs included; scores: the last validation's."""

    step: int
    best_miou: float
    history: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, Any] | None = None
    interrupted: bool = False


class TrainingDiverged(RuntimeError):  # noqa: N818 (a public name, read like StopIteration)
    """The loss became NaN or infinite at ``step``; ``checkpoint`` is the last good one (None: none saved yet)."""

    def __init__(self, step: int, loss: float, checkpoint: Path | None) -> None:
        kept = f"the last good checkpoint is {checkpoint}" if checkpoint else "no checkpoint was saved before it"
        super().__init__(f"the loss became {loss} at iteration {step}; stopping ({kept})")
        self.step, self.loss, self.checkpoint = step, loss, checkpoint


class _StopFlag:
    """Ctrl-C asks the loop to stop after its current step (a second Ctrl-C stops at once)."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> _StopFlag:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: Any) -> None:
        signal.signal(signal.SIGINT, self._previous)


class _RunFiles:
    """A run's files in ``out`` (None: none): best.npz, last.npz, metrics.jsonl, config.json."""

    def __init__(
        self, out: Path | None, model: nn.Module, optimizer: optim.Optimizer, config: TrainConfig, classes: Classes
    ) -> None:
        self.out, self.model, self.optimizer = out, model, optimizer
        self.meta = {"classes": classes.to_dict(), "config": config.to_dict()}
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for stale in out.glob(".*.tmp"):  # left by a write that was killed (atomic_write's temporary files)
                stale.unlink(missing_ok=True)
            write_json(out / "config.json", config.to_dict())

    def history(self, start: int) -> list[dict[str, Any]]:
        """The records of metrics.jsonl up to step ``start`` (none when the file is gone)."""
        log = None if self.out is None else self.out / "metrics.jsonl"
        if log is None or not log.exists():
            return []
        return [r for r in map(json.loads, log.read_text().splitlines()) if r["iter"] <= start]

    def save(self, name: str, step: int, best_miou: float, input_size: tuple[int, int] | None) -> Path | None:
        """Write checkpoint ``name``; ``input_size``: the size the model trained at last (None: as the images are)."""
        if self.out is None:
            return None
        size = None if input_size is None else list(input_size)
        meta = {"step": step, "best_miou": best_miou, "input_size": size, **self.meta}
        return checkpoint.save_checkpoint(self.out / name, self.model, self.optimizer, meta=meta)

    def write_history(self, history: list[dict[str, Any]]) -> None:
        if self.out is not None:
            text = "".join(json.dumps(r) + "\n" for r in history)
            atomic_write(self.out / "metrics.jsonl", lambda tmp: Path(tmp).write_text(text))

    def last(self) -> Path | None:
        path = None if self.out is None else self.out / "last.npz"
        return path if path is not None and path.exists() else None


def fit(
    model: nn.Module,
    optimizer: optim.Optimizer,
    train_loader: DataLoader,
    val_loader: DataLoader,
    config: TrainConfig,
    *,
    classes: Classes,
    weight: Any = None,
    out: Path | None = None,
    resume: checkpoint.Checkpoint | None = None,
    callbacks: Sequence[Callback] = (),
    fine_loaders: tuple[DataLoader, DataLoader] | None = None,
) -> FitResult:
    """Train ``model`` for the run ``config`` describes, validating on ``val_loader``.

    train_loader: batches (images (N, C, H, W), labels (N, H, W)) with ``iter_from`` (a DataLoader);
    weight: (K,) class weights or None; out: the run's folder (best.npz, last.npz, metrics.jsonl,
    config.json), None to write nothing; resume: a checkpoint of this run (its weights, optimiser,
    step and best score are restored, and the data order and dropout masks continue exactly).
    fine_loaders: the (train, val) loaders of the last ``config.fine_iters`` steps, the same
    images at ``config.fine_size`` (``make_loaders(..., fine=True)``). At the switch the data order
    carries on, the optimiser's state is cleared and the schedule restarts at ``config.fine_rate``
    (so a run resumed at the switch needs only the weights: a model released without its
    optimiser can be fine-tuned). Raises TrainingDiverged on a non-finite loss; returns early,
    ``interrupted``, after Ctrl-C.
    """
    files = _RunFiles(out, model, optimizer, config, classes)
    total, per_epoch = config.total_iters(len(train_loader)), len(train_loader)
    if per_epoch == 0:
        raise ValueError(f"fit: the training loader gives no batch of {config.batch_size}")
    if config.fine_iters >= total:
        raise ConfigError("fine_iters", f"must be below the run's {total} steps, got {config.fine_iters}")
    if config.fine_iters and fine_loaders is None:
        raise ValueError(f"fit: config.fine_iters is {config.fine_iters}; pass fine_loaders, its (train, val) loaders")
    switch = total - config.fine_iters  # steps after this one train (and validate) at fine_size

    def loaders(step: int) -> tuple[DataLoader, DataLoader]:
        """The (train, val) loaders of step ``step`` (1 for the first)."""
        return fine_loaders if step > switch and fine_loaders is not None else (train_loader, val_loader)

    def schedule(step: int) -> optim.LRScheduler:
        """The rate from step ``step`` on: the first schedule over ``switch`` steps, then the fine-tune's,
        which starts afresh (no momentum) at the switch."""
        if step < switch:
            optimizer.lr = config.lr  # the base rate (a resumed optimiser holds the last scheduled one)
            return optim.make_scheduler(optimizer, config.lr_schedule, switch, config.warmup_iters, step)
        if step == switch:
            optimizer.state.clear()
        optimizer.lr = config.fine_rate
        return optim.make_scheduler(optimizer, config.lr_schedule, config.fine_iters, 0, step - switch)

    step, best, history = 0, -1.0, []
    if resume is not None:
        step, best = int(resume.meta["step"]), float(resume.meta.get("best_miou", -1.0))
        at_switch = config.fine_iters > 0 and step == switch  # the switch clears the optimiser: weights only
        resume.load_into(model, None if at_switch else optimizer)
        history = files.history(step)
    weight = None if weight is None else backend.to_device(np.asarray(weight, dtype=np.float32))
    for cb in callbacks:
        cb.on_fit_start(step, total)
    result = FitResult(step, best, history)
    pending: list[Any] = []  # losses still on the device, read every log_every steps
    loader: DataLoader | None = None
    model.train()
    try:
        with _StopFlag() as stop:
            while step < total:
                if loaders(step + 1)[0] is not loader:  # the first step, and the switch to fine_size
                    loader = loaders(step + 1)[0]
                    batches = loader.iter_from(step // per_epoch, step % per_epoch)  # the order carries on
                    scheduler = schedule(step)
                try:
                    images, labels = next(batches)
                except StopIteration:
                    batches = loader.iter_from(step // per_epoch, 0)
                    continue
                with tsrandom.fork_rng([config.seed, step]):  # this step's dropout masks: a resume redraws them
                    pending.append(
                        train_step(
                            model,
                            optimizer,
                            images,
                            labels,
                            weight=weight,
                            ignore_index=classes.ignore_index,
                            normalization=config.loss_norm,
                        )
                    )
                scheduler.step()
                step += 1
                validate = step % config.val_every == 0 or step == total
                if len(pending) == config.log_every or validate or stop.requested:
                    losses = backend.to_numpy(backend.get_xp().stack(pending)).tolist()
                    history += [{"iter": step - len(pending) + 1 + i, "loss": v} for i, v in enumerate(losses)]
                    pending.clear()
                    if not all(math.isfinite(v) for v in losses):
                        files.write_history(history)
                        raise TrainingDiverged(step, losses[-1], files.last())
                    for cb in callbacks:
                        cb.on_steps(step, losses)
                size = config.size_at(step, total)
                if validate:
                    scores = evaluate(model, loaders(step)[1], len(classes), classes.ignore_index, keep=4)
                    history.append({"iter": step, **{k: scores[k] for k in ("global_acc", "class_acc", "miou")}})
                    if scores["miou"] > best:
                        best = scores["miou"]
                        files.save("best.npz", step, best, size)
                    files.save("last.npz", step, best, size)
                    files.write_history(history)
                    result.scores = scores
                    for cb in callbacks:
                        cb.on_validation(step, scores, history)
                if stop.requested and step < total:
                    files.save("last.npz", step, best, size)
                    files.write_history(history)
                    result.interrupted = True
                    break
    finally:  # on_fit_end runs after a TrainingDiverged too (a progress bar closes)
        result.step, result.best_miou, result.history = step, best, history
        for cb in callbacks:
            cb.on_fit_end(result)
    return result
