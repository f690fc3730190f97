"""The double's ``cupy.random``: ``default_rng`` and its Generator, with CuPy's shape of API.

Like real CuPy, the numbers differ from NumPy's for the same seed (here a Philox stream stands in
for cuRAND's XORWOW), and the bit generator's ``state`` is a method, not a picklable dict.
"""

from __future__ import annotations

from typing import Any

import numpy

from ._double import counters, ndarray, wrap


class BitGenerator:
    """Generic bit generator; ``state()`` returns a device pointer (an int), as in CuPy."""

    def __init__(self, seed: Any = None) -> None:
        self._seed_seq = seed if isinstance(seed, numpy.random.SeedSequence) else numpy.random.SeedSequence(seed)
        self._host = numpy.random.Generator(numpy.random.Philox(self._seed_seq))

    def state(self) -> int:
        return id(self._host)

    def random_raw(self, size: Any = None, output: bool = True) -> Any:
        counters.launches += 1
        return wrap(self._host.integers(0, 2**63, size=size, dtype=numpy.uint64)) if output else None


class XORWOW(BitGenerator):
    """CuPy's default bit generator (cuRAND XORWOW); ``size``: states allocated on the device."""

    def __init__(self, seed: Any = None, *, size: int = -1) -> None:
        counters.launches += 1  # the state initialisation kernel
        super().__init__(seed)


class Generator:
    """Draws on the device from a bit generator."""

    def __init__(self, bit_generator: BitGenerator) -> None:
        self.bit_generator = bit_generator

    def _draw(self, method: str, *args: Any, dtype: Any, **kwargs: Any) -> ndarray:
        counters.launches += 1
        return wrap(numpy.asarray(getattr(self.bit_generator._host, method)(*args, **kwargs), dtype=dtype))

    def random(self, size: Any = None, dtype: Any = numpy.float64, out: Any = None) -> ndarray:
        """Uniform floats in [0, 1); float32 or float64."""
        if numpy.dtype(dtype) not in (numpy.float32, numpy.float64):
            raise TypeError(f"Unsupported dtype {numpy.dtype(dtype).name} for random")
        return self._draw("random", size, dtype=dtype)

    def standard_normal(self, size: Any = None, dtype: Any = numpy.float64, out: Any = None) -> ndarray:
        return self._draw("standard_normal", size, dtype=dtype)

    def integers(self, low: int, high: int | None = None, size: Any = None, dtype: Any = numpy.int64,
                 endpoint: bool = False) -> ndarray:
        return self._draw("integers", low, high, size, endpoint=endpoint, dtype=dtype)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None, dtype: Any = numpy.float64) -> ndarray:
        return self._draw("uniform", low, high, size, dtype=dtype)


def default_rng(seed: Any = None) -> Generator:
    """A Generator on XORWOW; ``seed``: None, an int, ints, a SeedSequence, a BitGenerator or a Generator."""
    if isinstance(seed, Generator):
        return seed
    if isinstance(seed, BitGenerator):
        return Generator(seed)
    return Generator(XORWOW(seed))
