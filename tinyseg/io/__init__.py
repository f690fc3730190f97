"""Files tinyseg writes and reads back: atomic writes (storage.py) and checkpoints (checkpoint.py)."""
