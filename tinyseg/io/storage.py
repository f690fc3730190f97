"""How tinyseg writes files: atomically (a temporary file, fsync, rename), and nested Python
values (dicts, lists, tuples, arrays) as JSON plus named arrays, so that ``.npz`` files need no pickles.

    >>> arrays = {}
    >>> text = json.dumps(pack({"step": 3, "m": np.zeros(2)}, "meta", arrays))   # arrays: {"meta/0": ...}
    >>> unpack(json.loads(text), arrays, to_device=False)["m"]
    array([0., 0.])
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import backend
from ..engine.tensor import Tensor

__all__ = ["atomic_write", "write_json", "save_png", "pack", "unpack"]


def pack(obj: Any, prefix: str, arrays: dict[str, np.ndarray]) -> Any:
    """``obj`` as JSON-ready data; each array inside it goes to ``arrays`` under a fresh key and is
    replaced by {"__array__": key}. Tuples and dicts with non-string keys are marked so that
    :func:`unpack` gives back exactly what was saved (e.g. the optimiser's {0: {...}} state)."""
    if isinstance(obj, Tensor) or backend.is_array(obj):
        key = f"{prefix}/{len(arrays)}"
        arrays[key] = backend.to_numpy(obj)
        return {"__tensor__" if isinstance(obj, Tensor) else "__array__": key}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, tuple):
        return {"__tuple__": [pack(v, prefix, arrays) for v in obj]}
    if isinstance(obj, list):
        return [pack(v, prefix, arrays) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: pack(v, prefix, arrays) for k, v in obj.items()}
        return {"__items__": [[pack(k, prefix, arrays), pack(v, prefix, arrays)] for k, v in obj.items()]}
    raise TypeError(
        f"save_checkpoint: cannot store a {type(obj).__name__} ({obj!r:.60}) under {prefix!r}; "
        "use numbers, strings, lists, dicts and arrays"
    )


def unpack(obj: Any, arrays: Any, to_device: bool) -> Any:
    """Undo :func:`_pack`; arrays come from ``arrays`` (onto the active backend if ``to_device``)."""
    if isinstance(obj, list):
        return [unpack(v, arrays, to_device) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        ((tag, value),) = obj.items()
        if tag in ("__array__", "__tensor__"):
            a = backend.to_device(arrays[value]) if to_device else np.asarray(arrays[value])
            return Tensor(a) if tag == "__tensor__" else a
        if tag == "__tuple__":
            return tuple(unpack(v, arrays, to_device) for v in value)
        if tag == "__items__":
            return {unpack(k, arrays, to_device): unpack(v, arrays, to_device) for k, v in value}
    return {k: unpack(v, arrays, to_device) for k, v in obj.items()}


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it over ``path``.

    The folder of ``path`` is created if it is missing. The bytes are on disk before the name
    points at them (fsync), and the file gets the ordinary mode 0644 (mkstemp makes it private,
    0600). A crash or Ctrl-C mid-write leaves the old file (or none), never half a file. Every file
    tinyseg writes goes through here.
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


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, default=float) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def save_png(path: str | Path, image: np.ndarray) -> None:
    """Write a uint8 image (H, W, 3) or (H, W) as PNG, atomically."""
    from PIL import Image  # noqa: PLC0415

    atomic_write(path, lambda tmp: Image.fromarray(np.asarray(image, dtype=np.uint8)).save(tmp, format="PNG"))
