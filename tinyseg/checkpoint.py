"""Checkpoints: one ``.npz`` file with the weights, the optimiser's state and a JSON description.

    >>> save_checkpoint("runs/a/last.npz", model, optimizer, meta={"iteration": 1000, "best_miou": 0.47})
    >>> model = load_checkpoint("runs/a/last.npz")            # rebuilt from the stored name + kwargs
    >>> model.checkpoint_meta["iteration"], read_meta("runs/a/last.npz")["model"]
    (1000, {'name': 'segnet_basic', 'kwargs': {'num_classes': 11, 'in_channels': 3}})

Inside the file (``numpy.load`` opens it, no pickles):

    model/<name>     every parameter and buffer, as NumPy arrays, PyTorch-style names
                     (format 1 files, saved before the models were built from blocks, use the
                     Caffe models' names; RENAMED maps them to today's when they are loaded)
    optimizer        JSON of ``optimizer.state_dict()``, its arrays stored as optimizer/<n>
    meta             JSON: format, tinyseg version, model name and kwargs, class names, step,
                     backend, dtype, optimiser type, and every key of the caller's ``meta``

A save writes a temporary file next to the target and renames it over the target
(``os.replace``, atomic on POSIX and Windows), so an interrupted save leaves the previous
checkpoint intact, never half a file. Arrays are stored as NumPy and loaded onto the active
backend: save on CuPy, load on NumPy, and back. Format details: docs/checkpoints.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tinyseg

from . import backend
from .tensor import Tensor

__all__ = [
    "CheckpointError", "save_checkpoint", "load_checkpoint", "read_meta", "atomic_write", "FORMAT", "RENAMED",
    "rename_old_keys",
]

FORMAT = "tinyseg-checkpoint"
FORMAT_VERSION = 2  # 2: models built from blocks (enc1.convs.0.conv.weight); 1: the Caffe names (conv1.weight)
_RESERVED = ("format", "format_version", "tinyseg_version", "model", "backend", "dtype", "optimizer")


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or does not fit the model (the message says which)."""


# ---- the one rename table: format 1 layer names -> format 2 ----------------------------------
def _renamed() -> dict[str, str]:
    """Format 1 (the Caffe models' layer names) -> format 2 (the blocks of models/blocks.py), per layer.

    SegNet-Basic, Bayesian SegNet-Basic, FCN-Basic: conv{i} -> enc{i}.convs.0.conv, conv_decode{i} ->
    dec{i}.convs.0.conv (and their _bn), conv_classifier -> classifier; FCN's score*, upscore* kept.
    SegNet: conv{b}_{j} -> enc{b}.convs.{j-1}.conv, conv{b}_{j}_D -> dec{b}.convs.{n-j}.conv (a
    decoder runs its block's convs backwards), and their _bn; conv1_1_D -> classifier.
    The old names of the two families differ (conv1 vs conv1_1), so one table serves every model.
    """
    table = {"conv_classifier": "classifier", "conv1_1_D": "classifier"}
    for i in range(1, 5):  # SegNet-Basic (and Bayesian SegNet-Basic), FCN-Basic
        table |= _conv_bn(f"conv{i}", f"enc{i}.convs.0") | _conv_bn(f"conv_decode{i}", f"dec{i}.convs.0")
    for b, n in enumerate((2, 2, 3, 3, 3), start=1):  # SegNet: VGG16's blocks of n convs
        for j in range(1, n + 1):
            table |= _conv_bn(f"conv{b}_{j}", f"enc{b}.convs.{j - 1}")
            if (b, j) != (1, 1):  # conv1_1_D is the classifier
                table |= _conv_bn(f"conv{b}_{j}_D", f"dec{b}.convs.{n - j}")
    return table


def _conv_bn(old: str, new: str) -> dict[str, str]:
    """A Caffe conv and its batch norm ("conv1", "conv1_bn") -> a ConvBN's two layers."""
    return {old: f"{new}.conv", f"{old}_bn": f"{new}.bn"}


RENAMED: dict[str, str] = _renamed()
"""Layer name in format 1 checkpoints -> its name today: "conv_decode3_bn" -> "dec3.convs.0.bn"."""


def rename_old_keys(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with format 1 keys ("conv1_bn.running_var") renamed by :data:`RENAMED`
    ("enc1.convs.0.bn.running_var"); keys it does not list are kept as they are."""
    out = {}
    for key, value in state.items():
        layer, dot, field = key.rpartition(".")
        out[f"{RENAMED.get(layer, layer)}{dot}{field}" if dot else key] = value
    return out


# ---- nested Python values <-> JSON + named arrays ---------------------------------------------
def _pack(obj: Any, prefix: str, arrays: dict[str, np.ndarray]) -> Any:
    """``obj`` as JSON-ready data; each array inside it goes to ``arrays`` under a fresh key and is
    replaced by {"__array__": key}. Tuples and dicts with non-string keys are marked so that
    :func:`_unpack` gives back exactly what was saved (e.g. the optimiser's {0: {...}} state)."""
    if isinstance(obj, Tensor) or backend.is_array(obj):
        key = f"{prefix}/{len(arrays)}"
        arrays[key] = backend.to_numpy(obj)
        return {"__tensor__" if isinstance(obj, Tensor) else "__array__": key}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, tuple):
        return {"__tuple__": [_pack(v, prefix, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_pack(v, prefix, arrays) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _pack(v, prefix, arrays) for k, v in obj.items()}
        return {"__items__": [[_pack(k, prefix, arrays), _pack(v, prefix, arrays)] for k, v in obj.items()]}
    raise TypeError(f"save_checkpoint: cannot store a {type(obj).__name__} ({obj!r:.60}) under {prefix!r}; "
                    "use numbers, strings, lists, dicts and arrays")


def _unpack(obj: Any, arrays: Any, to_device: bool) -> Any:
    """Undo :func:`_pack`; arrays come from ``arrays`` (onto the active backend if ``to_device``)."""
    if isinstance(obj, list):
        return [_unpack(v, arrays, to_device) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (tag, value), = obj.items()
        if tag in ("__array__", "__tensor__"):
            a = backend.to_device(arrays[value]) if to_device else np.asarray(arrays[value])
            return Tensor(a) if tag == "__tensor__" else a
        if tag == "__tuple__":
            return tuple(_unpack(v, arrays, to_device) for v in value)
        if tag == "__items__":
            return {_unpack(k, arrays, to_device): _unpack(v, arrays, to_device) for k, v in value}
    return {k: _unpack(v, arrays, to_device) for k, v in obj.items()}


# ---- writing ----------------------------------------------------------------------------------
def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it over ``path``.

    The folder of ``path`` is created if it is missing. The bytes are on disk before the name
    points at them (fsync), and the file gets the ordinary mode 0644 (mkstemp makes it private,
    0600). A crash or Ctrl-C mid-write leaves the old file (or none), never half a file. Every file
    tinyseg writes goes through here (``tinyseg.cli.atomic_write`` is this function).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _savez(tmp: str, arrays: dict[str, np.ndarray]) -> None:
    with open(tmp, "wb") as f:  # a file object: given a name, np.savez would append ".npz"
        np.savez(f, **arrays)


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez to ``path``, atomically."""
    if not path.parent.is_dir():
        raise CheckpointError(f"{path}: cannot save, the folder {path.parent} does not exist")
    atomic_write(path, lambda tmp: _savez(tmp, arrays))


def save_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any = None,
                    meta: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (parameters and buffers), ``optimizer`` state and metadata to ``path`` (.npz).

    meta: anything JSON-like to keep with the weights (iteration or step, epoch, best score,
    class_names, RNG state ...); its keys appear at the top level of :func:`read_meta`.
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
        "format": FORMAT, "format_version": FORMAT_VERSION, "tinyseg_version": tinyseg.__version__,
        "model": getattr(model, "config", None) or {"name": None, "kwargs": {}},
        "class_names": meta.pop("class_names", meta.get("classes")),
        "step": meta.pop("step", meta.get("iteration")),
        "backend": backend.name(), "dtype": dtypes[0] if len(dtypes) == 1 else dtypes,
        "optimizer": None if optimizer is None else type(optimizer).__name__,
        **meta,
    }
    arrays["meta"] = np.array(json.dumps(_pack(info, "meta", arrays)))
    if optimizer is not None:
        arrays["optimizer"] = np.array(json.dumps(_pack(optimizer.state_dict(), "optimizer", arrays)))
    _atomic_savez(path, arrays)
    return path


# ---- reading ----------------------------------------------------------------------------------
def _load_npz(path: Path, file: Any) -> Any:
    """np.load an open file, with a CheckpointError naming the file for anything that is not an .npz."""
    try:
        z = np.load(file, allow_pickle=False)
    except Exception as exc:  # empty, truncated, not a zip, a pickle ...: all "not a checkpoint"
        raise CheckpointError(f"{path}: not a readable checkpoint; the file may be truncated or corrupt "
                              f"({type(exc).__name__}: {exc})") from exc
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
            raise CheckpointError(f"{path}: corrupt checkpoint, an entry cannot be read "
                                  f"({type(exc).__name__}: {exc})") from exc


def _meta(path: Path, data: dict[str, np.ndarray]) -> dict[str, Any]:
    try:
        meta = _unpack(json.loads(data["meta"].item()), data, to_device=False)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: the 'meta' entry is not valid checkpoint metadata ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a tinyseg checkpoint (its 'meta' entry has no format {FORMAT!r})")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer tinyseg ({meta.get('tinyseg_version')}, format "
                              f"{meta['format_version']}); this is tinyseg {tinyseg.__version__}, format {FORMAT_VERSION}")
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


def _check_fits(path: Path, meta: dict[str, Any], state: dict[str, np.ndarray], model: Any) -> None:
    """A CheckpointError naming both models, and the keys and shapes at fault, when ``state`` does not fit."""
    saved, given = meta.get("model") or {}, getattr(model, "config", None) or {}
    if saved.get("name") and given.get("name") and saved["name"] != given["name"]:
        raise CheckpointError(f"{path} holds a {_describe(saved)}, but the given model is a {_describe(given)}")
    current = {name: a.shape for name, a in (*model.named_parameters(), *model.named_buffers())}
    missing = [k for k in current if k not in state]
    unexpected = [k for k in state if k not in current]
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)}, model {tuple(current[k])}"
              for k in current if k in state and tuple(state[k].shape) != tuple(current[k])]
    if not (missing or unexpected or shapes):
        return
    lines = [f"{path} does not fit the given model:"]
    differ = {k for k in set(saved.get("kwargs", {})) | set(given.get("kwargs", {}))
              if saved.get("kwargs", {}).get(k) != given.get("kwargs", {}).get(k)}
    if differ:
        lines.append(f"the checkpoint holds a {_describe(saved)}, the given model is a {_describe(given)} "
                     f"(they differ in {', '.join(sorted(differ))})")
    if missing:
        lines.append(f"missing from the checkpoint: {', '.join(missing)}")
    if unexpected:
        lines.append(f"not in the model: {', '.join(unexpected)}")
    if shapes:
        lines.append("shape mismatch: " + "; ".join(shapes))
    raise CheckpointError("\n  ".join(lines))


def load_checkpoint(path: str | os.PathLike, model: Any = None, optimizer: Any = None) -> Any:
    """Restore a checkpoint into ``model`` (and ``optimizer``), or build the model it describes.

    model None: the model is created from the stored name and kwargs (``tinyseg.models.create``).
    Arrays go to the active backend, with the model's dtype. Returns the model; the metadata is
    ``model.checkpoint_meta``. Raises CheckpointError for a missing, foreign, truncated or corrupt
    file, a different model or class count, or missing/unexpected keys and shape mismatches.
    """
    path = Path(path)
    data = _read(path)
    meta = _meta(path, data)
    state = {k[len("model/"):]: v for k, v in data.items() if k.startswith("model/")}
    if meta.get("format_version", 1) < 2:  # saved before the models were built from blocks
        state = rename_old_keys(state)
    if model is None:
        from . import models  # noqa: PLC0415 (models sits above checkpoint; imported when needed)

        config = meta.get("model") or {}
        if not config.get("name"):
            raise CheckpointError(f"{path}: the checkpoint does not name its model; pass model= to load it into")
        try:
            model = models.create(config["name"], **config.get("kwargs", {}))
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{path}: cannot rebuild {_describe(config)}: {exc}") from exc
        if isinstance(meta.get("dtype"), str) and meta["dtype"] != "float32":
            model.astype(meta["dtype"])
    _check_fits(path, meta, state, model)
    model.load_state_dict(state)
    if optimizer is not None:
        if "optimizer" not in data:
            raise CheckpointError(f"{path}: holds no optimizer state (saved without an optimizer)")
        if meta.get("optimizer") not in (None, type(optimizer).__name__):
            raise CheckpointError(f"{path}: holds {meta['optimizer']} state, but the given optimizer is "
                                  f"{type(optimizer).__name__}")
        try:
            optimizer.load_state_dict(_unpack(json.loads(data["optimizer"].item()), data, to_device=True))
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path}: the optimizer state does not fit the given optimizer ({exc})") from exc
    model.checkpoint_meta = meta
    return model


# ---- deprecated: PyTorch interop moved to tinyseg.interop ---------------------------------------
def from_torch_state_dict(model: Any, state_dict: dict[str, Any], strict: bool = True) -> Any:
    """Deprecated: :func:`tinyseg.interop.from_torch_state_dict`."""
    warnings.warn("tinyseg.checkpoint.from_torch_state_dict moved to tinyseg.interop", DeprecationWarning, stacklevel=2)
    from . import interop  # noqa: PLC0415 (interop sits above checkpoint; a shim for the old name)

    return interop.from_torch_state_dict(model, state_dict, strict)


def to_torch_state_dict(model: Any) -> dict[str, Any]:
    """Deprecated: :func:`tinyseg.interop.to_torch_state_dict`."""
    warnings.warn("tinyseg.checkpoint.to_torch_state_dict moved to tinyseg.interop", DeprecationWarning, stacklevel=2)
    from . import interop  # noqa: PLC0415

    return interop.to_torch_state_dict(model)
