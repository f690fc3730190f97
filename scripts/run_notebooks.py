"""Execute the teaching notebooks top to bottom and store them with their outputs.

    python scripts/run_notebooks.py                         # every notebook in notebooks/
    python scripts/run_notebooks.py notebooks/03_pooling_indices.ipynb

Each notebook runs in a fresh "python3" kernel with notebooks/ as the working directory, on the
NumPy backend, as tests/test_notebooks.py runs it (the notebooks that read CamVid find it at
../shared/camvid when it is there). A notebook is written back only when every cell ran without
an error (to a temporary file, then renamed), so a failed run never leaves a half-executed file;
its execution counts are then 1..N in order. The script prints each notebook's wall-clock time,
its stored size and its figures' share of it, and exits with status 1 if any notebook failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbclient
import nbformat

from tinyseg.io.storage import atomic_write

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
CELL_TIMEOUT_S = 600


def execute(path: Path) -> tuple[nbformat.NotebookNode, float]:
    """Run the notebook at ``path`` in a fresh kernel; return it with its outputs and the seconds taken.

    Raises nbclient.exceptions.CellExecutionError naming the cell and the error when a cell fails.
    """
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", record_timing=False,
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def image_bytes(nb: nbformat.NotebookNode) -> int:
    """The bytes of base64 images stored in ``nb``'s outputs."""
    return sum(len(data) for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
               for mime, data in out.get("data", {}).items() if mime.startswith("image/"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all of notebooks/)")
    parser.add_argument("--times", type=Path, help="also write {name: seconds} to this JSON file")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")

    # The kernel inherits this environment: find tinyseg even when it is not pip-installed, run on NumPy.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    os.environ["TINYSEG_BACKEND"] = "numpy"
    os.environ.pop("MPLBACKEND", None)

    times: dict[str, float] = {}
    failed = []
    for path in paths:
        try:
            nb, seconds = execute(path)
        except nbclient.exceptions.CellExecutionError as err:
            print(f"{path.name:32s} FAILED, left as it was:\n{str(err)[-2000:]}")
            failed.append(path.name)
            continue
        atomic_write(path, lambda tmp: nbformat.write(nb, tmp))  # never half a notebook
        times[path.name] = round(seconds, 1)
        size = path.stat().st_size
        print(f"{path.name:32s} {seconds:6.1f} s   {size / 2**20:5.2f} MiB stored ({image_bytes(nb) / 2**20:.2f} MiB of figures)")
    if args.times:
        args.times.write_text(json.dumps(times, indent=1) + "\n")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"all {len(times)} notebooks stored with outputs, {sum(times.values()):.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
