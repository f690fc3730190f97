"""Checkpoints: one ``.npz`` file with the weights, the optimiser's state and a JSON description.

    >>> save_checkpoint("runs/a/last.npz", model, optimizer, meta={"step": 1000, "best_miou": 0.47})
    >>> ckpt = read("runs/a/last.npz")                        # read and checked once
    >>> model = ckpt.build_model()                            # rebuilt from the stored name + kwargs
    >>> ckpt.meta["step"], read_meta("runs/a/last.npz")["model"]
    (1000, {'name': 'segnet_basic', 'kwargs': {'num_classes': 11, 'in_channels': 3}})
    >>> ckpt.classes, ckpt.input_size                         # what the model was trained on, and at
    >>> model = load_checkpoint("runs/a/last.npz")            # the short form: read(path).build_model()

Inside the file (``numpy.load`` opens it, no pickles):

    model/<name>     every parameter and buffer, as NumPy arrays, PyTorch-style names
    optimizer        JSON of ``optimizer.state_dict()``, its arrays stored as optimizer/<n>
    meta             JSON: format, tinyseg version, model name and kwargs, backend, dtype,
                     optimiser type, and every key of the caller's ``meta`` (tinyseg.train adds
                     step, best_miou, input_size, classes and config: one key per fact)

A save writes a temporary file next to the target and renames it over the target
(``os.replace``, atomic on POSIX and Windows), so an interrupted save leaves the previous
checkpoint intact, never half a file. Arrays are stored as NumPy and loaded onto the active
backend: save on CuPy, load on NumPy, and back. Format details: docs/checkpoints.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tinyseg

from .. import models
from ..data import Classes
from ..engine import backend
from .storage import atomic_write, pack, unpack

__all__ = ["Checkpoint", "CheckpointError", "read", "save_checkpoint", "load_checkpoint", "read_meta", "FORMAT"]

FORMAT = "tinyseg-checkpoint"
FORMAT_VERSION = 3  # 3 (tinyseg 0.2): one key per fact (step, classes, config); files of today's format keep loading
_RESERVED = ("format", "format_version", "tinyseg_version", "model", "backend", "dtype", "optimizer")


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or does not fit the model (the message says which)."""


def _savez(tmp: str, arrays: dict[str, np.ndarray]) -> None:
    with open(tmp, "wb") as f:  # a file object: given a name, np.savez would append ".npz"
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds like allow_pickle


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez to ``path``, atomically."""
    if not path.parent.is_dir():
        raise CheckpointError(f"{path}: cannot save, the folder {path.parent} does not exist")
    atomic_write(path, lambda tmp: _savez(tmp, arrays))


def save_checkpoint(
    path: str | os.PathLike, model: Any, optimizer: Any = None, meta: dict[str, Any] | None = None
) -> Path:
    """Write ``model`` (parameters and buffers), ``optimizer`` state and metadata to ``path`` (.npz).

    meta: anything JSON-like to keep with the weights (step, best score, classes, the run's
    config ...); its keys appear at the top level of :func:`read_meta`.
    Keys reserved for tinyseg: format, format_version, tinyseg_version, model, backend, dtype,
    optimizer. Returns the path written.
    """
    path = Path(path)
    meta = dict(meta or {})
    clash = [k for k in _RESERVED if k in meta]
    if clash:
        raise ValueError(f"save_checkpoint: meta keys {clash} are reserved for tinyseg; rename them")
    state = model.state_dict()
    arrays = {f"model/{name}": backend.to_numpy(a) for name, a in state.items()}
    dtypes = sorted({str(a.dtype) for a in arrays.values() if a.dtype.kind == "f"})
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tinyseg_version": tinyseg.__version__,
        "model": getattr(model, "config", None) or {"name": None, "kwargs": {}},
        "backend": backend.name(),
        "dtype": dtypes[0] if len(dtypes) == 1 else dtypes,
        "optimizer": None if optimizer is None else type(optimizer).__name__,
        **meta,
    }
    arrays["meta"] = np.array(json.dumps(pack(info, "meta", arrays)))
    if optimizer is not None:
        arrays["optimizer"] = np.array(json.dumps(pack(optimizer.state_dict(), "optimizer", arrays)))
    _atomic_savez(path, arrays)
    return path


# ---- reading ----------------------------------------------------------------------------------
def _load_npz(path: Path, file: Any) -> Any:
    """np.load an open file, with a CheckpointError naming the file for anything that is not an .npz."""
    try:
        z = np.load(file, allow_pickle=False)
    except Exception as exc:  # empty, truncated, not a zip, a pickle ...: all "not a checkpoint"
        raise CheckpointError(
            f"{path}: not a readable checkpoint; the file may be truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise CheckpointError(f"{path}: holds a single array (a .npy file), not a tinyseg checkpoint")
    return z


def _read(path: Path, names: Any = None) -> dict[str, np.ndarray]:
    """Every entry of the checkpoint (or those in ``names``), read and checked for corruption."""
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    with open(path, "rb") as file, _load_npz(path, file) as z:
        files = z.files
        if "meta" not in files:
            shown = ", ".join(files[:5]) + (" ..." if len(files) > 5 else "")
            raise CheckpointError(f"{path}: not a tinyseg checkpoint (no 'meta' entry; it holds: {shown or 'nothing'})")
        try:
            return {k: z[k] for k in files if names is None or k in names or k.startswith("meta/")}
        except Exception as exc:  # a bad CRC, a cut-off member, a broken header
            raise CheckpointError(
                f"{path}: corrupt checkpoint, an entry cannot be read ({type(exc).__name__}: {exc})"
            ) from exc


def _meta(path: Path, data: dict[str, np.ndarray]) -> dict[str, Any]:
    try:
        meta = unpack(json.loads(data["meta"].item()), data, to_device=False)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: the 'meta' entry is not valid checkpoint metadata ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a tinyseg checkpoint (its 'meta' entry has no format {FORMAT!r})")
    version = meta.get("format_version", 0)
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: written by a newer tinyseg ({meta.get('tinyseg_version')}, format "
            f"{version}); this is tinyseg {tinyseg.__version__}, format {FORMAT_VERSION}"
        )
    if version < FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: written by tinyseg {meta.get('tinyseg_version')} (format {version}), before "
            f"0.2.0; load it with that version and save it again (format {FORMAT_VERSION} files "
            "keep loading from 0.2.0 on)"
        )
    return meta


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's metadata (model name and kwargs, class names, step, the caller's meta ...),
    without reading the weights."""
    path = Path(path)
    return _meta(path, _read(path, names=("meta",)))


def _describe(config: Any) -> str:
    if not config or not config.get("name"):
        return "an unnamed model"
    kwargs = ", ".join(f"{k}={v!r}" for k, v in config.get("kwargs", {}).items())
    return f"{config['name']}({kwargs})"


class Checkpoint:
    """A checkpoint file, read and checked once: its metadata, its weights, its optimiser state.

        >>> ckpt = read("runs/a/last.npz")
        >>> ckpt.meta["step"], ckpt.meta["model"]["name"]
        (1000, 'segnet_basic')
        >>> model = ckpt.build_model()              # the stored model, weights loaded
        >>> ckpt.load_into(model, optimizer)        # or restore into objects you made

    ``state``: parameter name -> NumPy array.
    """

    def __init__(
        self, path: Path, meta: dict[str, Any], state: dict[str, np.ndarray], optimizer_state: Callable[[], Any] | None
    ) -> None:
        self.path, self.meta, self.state = path, meta, state
        self._optimizer_state = optimizer_state

    def __repr__(self) -> str:
        return f"Checkpoint({str(self.path)!r}, {_describe(self.meta.get('model'))}, step {self.meta.get('step')})"

    @property
    def model_name(self) -> str | None:
        """The registered name of the stored model ("segnet_basic", ...), None if it was not saved."""
        return (self.meta.get("model") or {}).get("name")

    @property
    def config(self) -> dict[str, Any]:
        """The settings of the run that saved it (``meta["config"]``, a TrainConfig as a dict), or {}."""
        return self.meta.get("config") or {}

    @property
    def input_size(self) -> tuple[int, int] | None:
        """(H, W) the model was trained at last, or None (each image at its own size): the saver's
        ``meta["input_size"]`` (tinyseg.train's: ``fine_size`` once the run reached its
        ``fine_iters``), else the run's ``size``."""
        size = self.meta["input_size"] if "input_size" in self.meta else self.config.get("size")
        return (int(size[0]), int(size[1])) if size else None

    @property
    def classes(self) -> Classes:
        """The classes the model was trained on (``meta["classes"]``); numbered classes with no
        ignored label when the saver did not say. CheckpointError when they do not fit the model."""
        num_classes = (self.meta.get("model") or {}).get("kwargs", {}).get("num_classes")
        stored = self.meta.get("classes")
        if stored is None:
            if num_classes is None:
                raise CheckpointError(f"{self.path}: names neither its classes nor its model's number of outputs")
            return Classes.default(num_classes)
        classes = Classes.from_dict(stored)
        if num_classes is not None and len(classes) != num_classes:
            raise CheckpointError(f"{self.path}: names {len(classes)} classes but its model has {num_classes} outputs")
        return classes

    def user_meta(self) -> dict[str, Any]:
        """The metadata the saver passed in (``save_checkpoint(meta=...)``), without tinyseg's own keys."""
        return {k: v for k, v in self.meta.items() if k not in _RESERVED}

    def build_model(self) -> Any:
        """The model the checkpoint names (``models.create(name, **kwargs)``), its weights loaded."""
        config = self.meta.get("model") or {}
        if not config.get("name"):
            raise CheckpointError(f"{self.path}: the checkpoint does not name its model; use load_into(model)")
        try:
            model = models.create(config["name"], **config.get("kwargs", {}))
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{self.path}: cannot rebuild {_describe(config)}: {exc}") from exc
        if isinstance(self.meta.get("dtype"), str) and self.meta["dtype"] != "float32":
            model.astype(self.meta["dtype"])
        return self.load_into(model)

    def load_into(self, model: Any, optimizer: Any = None) -> Any:
        """Copy the weights into ``model`` (and the state into ``optimizer``); returns ``model``.

        A CheckpointError naming the file and both models when the weights do not fit (the keys
        and shapes at fault come from ``Module.load_state_dict``), or the optimiser differs.
        """
        saved, given = self.meta.get("model") or {}, getattr(model, "config", None) or {}
        if saved.get("name") and given.get("name") and saved["name"] != given["name"]:
            raise CheckpointError(
                f"{self.path} holds a {_describe(saved)}, but the given model is a {_describe(given)}"
            )
        try:
            model.load_state_dict(self.state)
        except RuntimeError as exc:
            raise CheckpointError(
                f"{self.path} holds a {_describe(saved)} that does not fit the given {_describe(given)}: {exc}"
            ) from None
        if optimizer is not None:
            self._load_optimizer(optimizer)
        return model

    def _load_optimizer(self, optimizer: Any) -> None:
        if self._optimizer_state is None:
            raise CheckpointError(f"{self.path}: holds no optimizer state (saved without an optimizer)")
        if self.meta.get("optimizer") not in (None, type(optimizer).__name__):
            raise CheckpointError(
                f"{self.path}: holds {self.meta['optimizer']} state, but the given optimizer is "
                f"{type(optimizer).__name__}"
            )
        try:
            optimizer.load_state_dict(self._optimizer_state())
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{self.path}: the optimizer state does not fit the given optimizer ({exc})") from exc


def read(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint file once: metadata, weights, optimiser state.

    Raises CheckpointError for a missing, foreign, truncated or corrupt file. Arrays stay NumPy
    until they are loaded into a model or optimiser (then they go to the active backend).
    """
    path = Path(path)
    data = _read(path)
    meta = _meta(path, data)
    state = {k[len("model/") :]: v for k, v in data.items() if k.startswith("model/")}
    optimizer_state = None
    if "optimizer" in data:

        def optimizer_state() -> Any:
            return unpack(json.loads(data["optimizer"].item()), data, to_device=True)

    return Checkpoint(path, meta, state, optimizer_state)


def load_checkpoint(path: str | os.PathLike, model: Any = None, optimizer: Any = None) -> Any:
    """Restore a checkpoint into ``model`` (and ``optimizer``), or build the model it describes.

    The short form of :func:`read`: ``read(path).build_model()`` when ``model`` is None, else
    ``read(path).load_into(model, optimizer)``. Returns the model. For the metadata use
    ``read(path).meta``.
    """
    ckpt = read(path)
    return ckpt.build_model() if model is None else ckpt.load_into(model, optimizer)
