"""``python -m tinyseg.bench``: run the command (tinyseg/bench/command.py)."""

import sys

from .command import main

sys.exit(main())
