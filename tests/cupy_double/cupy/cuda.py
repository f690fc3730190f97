"""The double's ``cupy.cuda``: one pretend device, a stream, events and the memory-pool hooks.

The memory pool is an empty stand-in: the double's arrays live in NumPy's memory, so the pool's
figures are 0 (only a real GPU measures memory)."""

from __future__ import annotations

import time
import types
from typing import Any

from ._double import counters

_TOTAL = 16 * 2**30


def _device_count() -> int:
    return 1


def _device_properties(device: int) -> dict[str, Any]:
    return {"name": b"CuPy double (NumPy on the CPU)", "totalGlobalMem": _TOTAL, "major": 0, "minor": 0}


runtime = types.SimpleNamespace(getDeviceCount=_device_count, getDeviceProperties=_device_properties,
                                runtimeGetVersion=lambda: 0, driverGetVersion=lambda: 0)


class Stream:
    """The one stream: ``synchronize()`` waits for the device (a counted blocking wait)."""

    null: Stream

    def synchronize(self) -> None:
        counters.read("Stream.synchronize()")


Stream.null = Stream()


def get_current_stream() -> Stream:
    return Stream.null


class Device:
    """Device 0."""

    def __init__(self, device: int | None = None) -> None:
        self.id = device or 0

    def synchronize(self) -> None:
        counters.read("Device.synchronize()")

    def use(self) -> None:
        pass

    @property
    def mem_info(self) -> tuple[int, int]:
        return _TOTAL, _TOTAL

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


class Event:
    """A timing event; the double's clock is the host's."""

    def __init__(self, block: bool = False, disable_timing: bool = False, interprocess: bool = False) -> None:
        self.time = 0.0

    def record(self, stream: Any = None) -> None:
        self.time = time.perf_counter()

    def synchronize(self) -> None:
        counters.read("Event.synchronize()")


def get_elapsed_time(start_event: Event, end_event: Event) -> float:
    """Milliseconds between two recorded events."""
    return (end_event.time - start_event.time) * 1000.0


def set_allocator(allocator: Any = None) -> None:
    """Accepted and ignored: the double's arrays live in NumPy's memory, not in a pool."""


class MemoryPool:
    """CuPy's memory pool, empty: ``used_bytes()`` and ``total_bytes()`` are 0."""

    def malloc(self, size: int) -> None:
        return None

    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        pass


_pool = MemoryPool()
