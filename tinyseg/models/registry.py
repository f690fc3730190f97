"""Models by name, so that a checkpoint or a command line can rebuild one from a string.

    >>> from tinyseg import models
    >>> models.available()
    ['bayesian_segnet_basic', 'fcn_basic', 'segnet', 'segnet_basic']
    >>> net = models.create("segnet_basic", num_classes=11)
    >>> net.config
    {'name': 'segnet_basic', 'kwargs': {'num_classes': 11, 'in_channels': 3}}
    >>> models.count_parameters(net)
    1416587

A name stands for a model class or for a function that builds one (``bayesian_segnet_basic``
is SegNet-Basic with dropout). Every model sets ``self.config`` (its registered name and the
constructor arguments that define its shape); :mod:`tinyseg.checkpoint` stores it and calls
:func:`create` with it to rebuild the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register", "create", "available", "pool_count", "count_parameters"]

Builder = Callable[..., Any]  # a model class, or a function that returns a model
_MODELS: dict[str, Builder] = {}


def register(name: str, *, pools: int) -> Callable[[Builder], Builder]:
    """Decorator of a model class (or a function that builds a model): make it creatable as
    ``create(name, ...)``; sets its ``model_name``, which the model puts in its ``config``, and
    its ``pools``: how many 2x2 poolings it makes (inputs need H, W >= 2**pools)."""

    def add(builder: Builder) -> Builder:
        if name in _MODELS and _MODELS[name] is not builder:
            raise ValueError(f"model name {name!r} is already registered to {_MODELS[name].__name__}")
        _MODELS[name] = builder
        builder.model_name = name  # type: ignore[attr-defined]
        builder.pools = pools  # type: ignore[attr-defined]
        return builder

    return add


def available() -> list[str]:
    """The registered model names, sorted."""
    return sorted(_MODELS)


def pool_count(name: str) -> int | None:
    """How many 2x2 poolings the model registered as ``name`` makes (None: no such model)."""
    return _MODELS[name].pools if name in _MODELS else None  # type: ignore[attr-defined]  # set by register


def create(name: str, **kwargs: Any) -> Any:
    """Build the model registered as ``name`` with constructor arguments ``kwargs``."""
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(available())}")
    return _MODELS[name](**kwargs)


def count_parameters(model: Any) -> int:
    """Number of trainable scalars: conv weights and biases, batch-norm scales and shifts
    (running statistics are buffers, not parameters, and are not counted)."""
    return sum(int(p.size) for p in model.parameters() if p.requires_grad)
