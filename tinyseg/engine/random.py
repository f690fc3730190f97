"""Every random number tinyseg draws comes from here: weight initialisation and dropout masks.

    >>> tinyseg.manual_seed(0)                  # the same weights and the same masks, every run
    >>> with tinyseg.random.fork_rng([seed, step]):
    ...     loss = model(x)                     # this step's masks depend on (seed, step) alone

Two streams, because they live in different places:

- **weights** are drawn on the host from one NumPy generator (:func:`init_generator`) and then
  copied to the device, so NumPy and CuPy runs start from the same numbers;
- **dropout masks** are drawn where the data is, from the active backend's generator
  (:func:`dropout_generator`: ``numpy.random.Generator`` or CuPy's twin), one per backend, made
  from the seed the first time that backend asks.

:func:`fork_rng` swaps in a fresh dropout generator for the length of a ``with`` block and puts
the outer one back afterwards (as ``torch.random.fork_rng`` does): a training step or a Monte
Carlo prediction gets masks that repeat from its seed, without disturbing anyone else's stream.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import backend

__all__ = ["manual_seed", "init_generator", "dropout_generator", "fork_rng"]

Seed = int | Sequence[int] | None

_state: dict[str, Any] = {
    "seed": None,  # what manual_seed was last given (None: OS entropy)
    "init": np.random.default_rng(),  # weights, on the host
    "dropout": {},  # backend name -> that backend's dropout generator
    "forks": [],  # the generators of the open fork_rng blocks, innermost last
}


def manual_seed(seed: int | None) -> None:
    """Seed everything random in tinyseg: weight initialisation and dropout (None: fresh OS entropy).

    Open :func:`fork_rng` blocks keep their own generators.
    """
    _state["seed"] = seed
    _state["init"] = np.random.default_rng(seed)
    _state["dropout"] = {}


def init_generator() -> np.random.Generator:
    """The NumPy generator that layers draw their weights from when given no ``rng`` (on the host)."""
    return _state["init"]


def dropout_generator() -> Any:
    """The generator dropout draws its masks from when given none: the innermost :func:`fork_rng`
    block's, else the active backend's own (``backend.default_rng(seed)``, made on first use)."""
    if _state["forks"]:
        return _state["forks"][-1]
    name = backend.name()
    if name not in _state["dropout"]:
        _state["dropout"][name] = backend.default_rng(_state["seed"])
    return _state["dropout"][name]


@contextmanager
def fork_rng(seed: Seed = None, *, generator: Any = None) -> Iterator[Any]:
    """Inside the block, dropout draws from a fresh ``backend.default_rng(seed)``; yields it.

    seed: an int or a sequence of ints (``[run_seed, step]``: one stream per step). Or pass
    ``generator`` (e.g. ``backend.default_rng(7)``) to draw from that one instead. On exit, also
    through an exception, the outer generator comes back, exactly where it was; blocks nest.
    Weight initialisation is not forked.
    """
    if generator is None:
        generator = backend.default_rng(seed)
    _state["forks"].append(generator)
    try:
        yield generator
    finally:
        _state["forks"].pop()
