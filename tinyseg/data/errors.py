"""The one exception for bad data on disk, shared by every reader in tinyseg.data."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """Bad data on disk: a missing folder, an unpaired or unreadable file, a wrong label.

    The message is one line and names the file at fault.
    """
