"""Every example in README.md and docs/**/*.md runs: the docs cannot drift from the code.

- Each ```` ```python ```` block is executed, in a fresh temporary working directory, in this
  process (one test id per block: ``page:line``).
- Each shell command shown (```` ``` ```` blocks, and indented ``python -m tinyseg.X`` lines) runs
  as a subprocess in a small-data variant: the long options are rewritten (``--iters 2 --size
  32x48 --batch-size 2 --workers 0 ...``), ``../shared/camvid`` is a tiny CamVid-layout folder
  (32x48 images, the 11 classes and void), ``cars``, ``cells`` and ``mixed`` are tiny folder data
  sets named as the pages name them, ``street.png`` and ``more/*.jpg`` are images, ``weights/`` is
  the repository's, and a checkpoint a command reads (``--checkpoint``/``--resume``) is made by
  the train command on the pages that writes that folder (``--out runs/cars``), or else by a tiny
  synthetic run. The command must exit 0; a command followed by ``tinyseg.X: error: ...`` lines (a
  documented error) must exit 2 with that message (``...`` stands for any text).
  Set-up commands (venv, pip, pytest, jupyter, ``python scripts/...``) are checked, not run: the extras,
  test paths, scripts and notebooks they name must exist.

A block can be configured by an HTML comment on the line above it (invisible on the rendered page):

    <!-- docs-test: setup=cars,camvid -->      fixtures copied into the working directory first
    <!-- docs-test: continue -->               runs after the previous python block of the page, in its namespace
    <!-- docs-test: replace="iters=200=>iters=2" -->   a smaller variant (old=>new, exact text)
    <!-- docs-test: needs=torch -->            skipped with a reason when PyTorch is absent
    <!-- docs-test: illustrative="why" -->     not run: pseudo-code, or needs what a test cannot have

Fixtures: ``camvid`` (../shared/camvid, tiny), ``cars`` (your-data.md's two-class set, tiny),
``cells`` (0/255 masks, no classes.json), ``mixed`` (a folder data set whose images differ in
size), ``images`` (street.png, more/*.jpg), ``tiny_run`` (runs/tiny/best.npz, last.npz: a
SegNet-Basic trained 2 steps on 32x48 synthetic scenes), ``weights`` (the released weights),
``vgg16`` (vgg16.pth shaped like torchvision's VGG16 weights, zeros; needs PyTorch).
Illustrative blocks are counted: at most ``MAX_ILLUSTRATIVE`` in all.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
MAX_ILLUSTRATIVE = 4
SIZE = (32, 48)
SIZE_ARG = "32x48"
FIXTURES = ("camvid", "cars", "cells", "mixed", "images", "tiny_run", "weights", "vgg16")
OPTION_KEYS = {"setup", "continue", "replace", "needs", "illustrative"}

COMMENT = re.compile(r"^<!--\s*docs-test:(.*?)-->\s*$")
FENCE_OPEN = re.compile(r"^```(\w*)\s*$")
DESCRIBED = re.compile(r"^(python -m tinyseg\.\w+) {2,}[a-z]")
TINYSEG_LINE = re.compile(r"^ {4,}(\$ )?(python3? -m tinyseg\.\w+.*)$")


@dataclass
class Example:
    page: Path
    line: int  # 1-based line of the code (the fence, for a block)
    kind: str  # "python", "shell" (a fenced block) or "command" (one indented line)
    code: str
    options: dict[str, list[str]] = field(default_factory=dict)
    expected_error: str | None = None
    previous: list[Example] = field(default_factory=list)  # python blocks it continues

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _options(comment: str) -> dict[str, list[str]]:
    opts: dict[str, list[str]] = {}
    for token in shlex.split(comment):
        key, _, value = token.partition("=")
        opts.setdefault(key, []).append(value)
    return opts


def parse(page: Path) -> list[Example]:
    lines = page.read_text(encoding="utf-8").splitlines()
    out: list[Example] = []
    pending: dict[str, list[str]] = {}
    last_python: Example | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := COMMENT.match(line):
            pending = _options(m.group(1))
            i += 1
            continue
        if m := FENCE_OPEN.match(line):
            lang, start = m.group(1), i
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            code = "\n".join(lines[i + 1 : j])
            if lang == "python":
                ex = Example(page, start + 1, "python", code, pending)
                if "continue" in pending:
                    assert last_python is not None, f"{ex.id}: 'continue' with no python block before it"
                    ex.previous = [*last_python.previous, last_python]
                out.append(ex)
                last_python = ex
            elif lang in ("", "bash", "sh", "console", "shell"):
                out.append(Example(page, start + 1, "shell", code, pending))
            pending, i = {}, j + 1
            continue
        if m := TINYSEG_LINE.match(line):
            error_lines = []
            k = i + 1
            while k < len(lines) and re.match(r"^ {4,}(tinyseg\.\w+: error:|\S)", lines[k]) and not (
                TINYSEG_LINE.match(lines[k])
            ):
                if error_lines or re.match(r"^ {4,}tinyseg\.\w+: error:", lines[k]):
                    error_lines.append(lines[k].strip())
                k += 1
            ex = Example(page, i + 1, "command", m.group(2), pending)
            if error_lines:
                ex.expected_error = " ".join(error_lines)
            out.append(ex)
        if line.strip():
            pending = {} if not COMMENT.match(line) else pending
        i += 1
    return out


EXAMPLES = [ex for page in PAGES for ex in parse(page)]
PYTHON = [ex for ex in EXAMPLES if ex.kind == "python"]
SHELL = [ex for ex in EXAMPLES if ex.kind in ("shell", "command")]


# ---- fixtures: tiny data, made once per session ------------------------------------------------


def _save(path: Path, array: np.ndarray, **kwargs) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)


def _make_camvid(root: Path) -> None:
    from tinyseg.data import SyntheticScenes

    for split, n, seed in (("train", 4, 0), ("val", 2, 1), ("test", 2, 2)):
        for i, (image, label) in enumerate(SyntheticScenes(n, size=SIZE, seed=seed)):
            _save(root / split / f"0001TP_{i:06d}.png", image)
            _save(root / f"{split}annot" / f"0001TP_{i:06d}.png", label)


def _make_cars(root: Path) -> None:
    """your-data.md's worked example, small: cars against background, JPEG images, 255 ignored."""
    import json

    from tinyseg.data import CAMVID, SyntheticScenes

    car = CAMVID.names.index("Car")
    for split, n, seed in (("train", 4, 0), ("val", 2, 1), ("test", 2, 2)):
        for i, (image, label) in enumerate(SyntheticScenes(n, size=SIZE, seed=seed)):
            mask = np.where(label == car, 1, 0).astype(np.uint8)
            mask[label == CAMVID.ignore_index] = 255
            _save(root / "images" / split / f"scene{i:03d}.jpg", image, quality=95)
            _save(root / "labels" / split / f"scene{i:03d}.png", mask)
    (root / "classes.json").write_text(
        json.dumps({"names": ["background", "car"], "colors": [[40, 40, 40], [255, 90, 0]], "ignore_index": 255})
    )


def _make_cells(root: Path) -> None:
    """120 binary masks saved as 0/255, no classes.json (your-data.md's error example)."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 120), ("val", 2)):
        for i in range(n):
            _save(root / "images" / split / f"cell{i:03d}.png", rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8))
            mask = np.zeros(SIZE, np.uint8)
            mask[8:20, 10 + i % 20 : 30 + i % 10] = 255
            _save(root / "labels" / split / f"cell{i:03d}.png", mask)


def _make_mixed(root: Path) -> None:
    """A two-class folder data set whose training images differ in size (32x48 and 40x56).

    Its val split has one size: validation during training batches labels at their own sizes, so a
    mixed val split stops there (test_train_with_size_on_a_mixed_val_split below)."""
    from tinyseg.data import CAMVID, SyntheticScenes

    for split, seed in (("train", 0), ("val", 1)):
        for i, size in enumerate([SIZE, (40, 56), SIZE, (40, 56)] if split == "train" else [SIZE] * 2):
            image, label = SyntheticScenes(1, size=size, seed=seed * 10 + i)[0]
            mask = np.where(label == CAMVID.names.index("Road"), 1, 0).astype(np.uint8)
            _save(root / "images" / split / f"photo{i}.png", image)
            _save(root / "labels" / split / f"photo{i}.png", mask)


def _make_images(root: Path) -> None:
    from tinyseg.data import SyntheticScenes

    scenes = SyntheticScenes(3, size=SIZE, seed=5)
    _save(root / "street.png", scenes[0][0])
    _save(root / "more" / "a.jpg", scenes[1][0])
    _save(root / "more" / "b.jpg", scenes[2][0])


def _make_vgg16(path: Path) -> None:
    """A file shaped like torchvision's VGG16 state_dict (its 13 convolutions; zeros, not ImageNet's)."""
    import torch

    state, c, n = {}, 3, 0
    for width in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if width == "M":
            n += 1
            continue
        state[f"features.{n}.weight"], state[f"features.{n}.bias"] = torch.zeros(width, c, 3, 3), torch.zeros(width)
        c, n = width, n + 2
    torch.save(state, path)


def _env() -> dict[str, str]:
    return dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore")


@pytest.fixture(scope="session")
def docs_data(tmp_path_factory) -> Path:
    """The data every example may use, once: <base>/shared/camvid, <base>/data/{cars,cells,...}."""
    base = tmp_path_factory.mktemp("docs-data")
    _make_camvid(base / "shared" / "camvid")
    data = base / "data"
    _make_cars(data / "cars")
    _make_cells(data / "cells")
    _make_mixed(data / "mixed")
    _make_images(data)
    run = data / "runs" / "tiny"
    subprocess.run(
        [sys.executable, "-m", "tinyseg.train", *_small_train(["--out", str(run)])],
        check=True, capture_output=True, env=_env(), cwd=base,
    )  # fmt: skip
    return base


def _workdir(tmp_path: Path, base: Path, setups: list[str]) -> Path:
    """``tmp_path/work``, with ``tmp_path/shared`` beside it, holding the fixtures asked for."""
    work = tmp_path / "work"
    work.mkdir()
    data = base / "data"
    for name in setups:
        if name not in FIXTURES:
            raise AssertionError(f"unknown docs-test fixture {name!r} (known: {FIXTURES})")
        if name == "camvid":
            (tmp_path / "shared").mkdir(exist_ok=True)
            shutil.copytree(base / "shared" / "camvid", tmp_path / "shared" / "camvid")
        elif name == "images":
            shutil.copy(data / "street.png", work / "street.png")
            shutil.copytree(data / "more", work / "more")
        elif name == "tiny_run":
            shutil.copytree(data / "runs", work / "runs", dirs_exist_ok=True)
        elif name == "weights":
            (work / "weights").symlink_to(ROOT / "weights")
        elif name == "vgg16":
            _make_vgg16(work / "vgg16.pth")
        else:
            shutil.copytree(data / name, work / name)
    return work


# ---- python blocks ---------------------------------------------------------------------------


def _source(ex: Example) -> str:
    code = ex.code
    for rule in ex.options.get("replace", []):
        old, sep, new = rule.partition("=>")
        assert sep and old in code, f"{ex.id}: replace={rule!r} does not match the block"
        code = code.replace(old, new)
    return code


def _skip_unless_available(ex: Example) -> None:
    if "illustrative" in ex.options:
        pytest.skip(f"illustrative: {ex.options['illustrative'][0]}")
    for need in ex.options.get("needs", []):
        if need == "torch":
            from tests.helpers import import_torch

            import_torch("the example uses PyTorch")
        elif need == "camvid":
            real = Path(os.environ.get("TINYSEG_CAMVID", ROOT.parent / "shared" / "camvid"))
            if not (real / "train").is_dir():
                pytest.skip(f"needs CamVid at {real}")
        else:
            raise AssertionError(f"{ex.id}: unknown needs={need!r}")


@pytest.mark.parametrize("ex", PYTHON, ids=lambda ex: ex.id)
def test_python_block_runs(ex: Example, docs_data, tmp_path, monkeypatch):
    _skip_unless_available(ex)
    setups = [s for chain in (*ex.previous, ex) for opt in chain.options.get("setup", []) for s in opt.split(",")]
    work = _workdir(tmp_path, docs_data, setups)
    monkeypatch.chdir(work)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import tinyseg

    tinyseg.manual_seed(0)
    namespace: dict = {"__name__": "__docs__"}
    for block in (*ex.previous, ex):
        exec(compile(_source(block), block.id, "exec"), namespace)  # noqa: S102 (the docs' own code)


# ---- shell commands --------------------------------------------------------------------------

TRAIN_SMALL = {"--iters": "2", "--batch-size": "2", "--workers": "0", "--val-every": "2", "--size": SIZE_ARG}
COMMAND_SMALL = {
    "evaluate": {"--size": SIZE_ARG, "--batch-size": "2", "--workers": "0"},
    "bn_stats": {"--size": SIZE_ARG, "--batch-size": "2", "--workers": "0"},
    "predict": {"--size": SIZE_ARG, "--mc-samples": "2"},
    "bench": {"--size": SIZE_ARG, "--batch-size": "1", "--repeats": "1", "--warmup": "0", "--threads": "1"},
}


def _set(args: list[str], option: str, value: str) -> list[str]:
    """``args`` with ``option value`` replacing the one given, or appended."""
    if option in args:
        i = args.index(option)
        return [*args[: i + 1], value, *args[i + 2 :]]
    return [*args, option, value]


def _drop(args: list[str], option: str) -> list[str]:
    if option in args:
        i = args.index(option)
        return [*args[:i], *args[i + 2 :]]
    return args


def _small_train(args: list[str]) -> list[str]:
    args = _drop(args, "--epochs")
    for option, value in TRAIN_SMALL.items():
        args = _set(args, option, value)
    if "--resume" in args:
        args = _set(args, "--iters", "4")
    elif "--data" not in args:
        args = _set(args, "--synthetic", "8")
    return args


def _small(command: str, args: list[str]) -> list[str]:
    if command == "train":
        return _small_train(args)
    for option, value in COMMAND_SMALL.get(command, {}).items():
        args = _set(args, option, value)
    if command == "bench" and "--no-memory" not in args:
        args = [*args, "--no-memory"]  # the peak-memory runs start fresh processes: seconds each
    return args


def _words(line: str) -> list[str]:
    """The words of one shell command, its comment dropped and globs expanded (as a shell would)."""
    if m := DESCRIBED.match(line):
        return [*m.group(1).split(), "--help"]  # "python -m tinyseg.train     train a model, ...": a list of commands
    words = shlex.split(line, comments=True)
    return [w for word in words for w in (sorted(glob.glob(word)) or [word] if "*" in word else [word])]


def _train_commands() -> dict[str, list[str]]:
    """Each train command's --out folder (as the pages write it) -> its arguments."""
    found: dict[str, list[str]] = {}
    for ex in SHELL:
        for line in ex.code.replace("&&", "\n").splitlines():
            words = _words(line.strip().removeprefix("$ "))
            if words[:3] == ["python", "-m", "tinyseg.train"] and "--out" in words:
                found.setdefault(words[words.index("--out") + 1].rstrip("/"), words[3:])
    return found


def _make_checkpoint(path: Path, work: Path) -> None:
    """The checkpoint a command reads: made by the pages' own train command into its folder."""
    folder = str(path.parent.relative_to(work)) if path.is_relative_to(work) else str(path.parent)
    args = _train_commands().get(folder, ["--out", folder])
    args = _small_train(_set(args, "--out", folder))
    done = subprocess.run([sys.executable, "-m", "tinyseg.train", *args], cwd=work, env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, f"making {path} with train {args} failed:\n{done.stderr[-3000:]}"
    if path.name == "best.npz" and not path.exists():
        shutil.copy(path.parent / "last.npz", path)


def _run_tinyseg(words: list[str], work: Path, expected_error: str | None, where: str) -> None:
    command = words[2].removeprefix("tinyseg.")
    args = words[3:]
    if args != ["--help"]:
        if expected_error is None:  # a documented error runs as written: it stops before any work
            args = _small(command, args)
        for option in ("--checkpoint", "--resume"):
            if option in args and not (path := work / args[args.index(option) + 1]).exists():
                _make_checkpoint(path, work)
    done = subprocess.run([sys.executable, "-m", f"tinyseg.{command}", *args], cwd=work, env=_env(),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    shown = f"{where}: python -m tinyseg.{command} {shlex.join(args)}\n{done.stderr[-3000:]}"
    if expected_error is None:
        assert done.returncode == 0, shown
        return
    assert done.returncode == 2, shown
    pattern = r"\s*".join(
        ".*?" if part == "..." else re.escape(part) for part in re.split(r"(\.\.\.)|\s+", expected_error) if part
    )
    assert re.search(pattern, " ".join(done.stderr.split())), f"documented error not printed:\n{expected_error}\n{shown}"


def _check_setup_command(words: list[str], where: str) -> None:
    """venv, pip, pytest, jupyter: not run here; what they name must exist."""
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value prefixes
        words = words[1:]
    if words[:3] == ["python3", "-m", "venv"] or words[:1] == ["."]:
        return
    if words[:1] == ["pip"] and words[1:2] == ["install"]:
        extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("optional-dependencies", {})
        for word in words[2:]:
            if m := re.fullmatch(r"\.\[(.*)\]", word):
                missing = set(m.group(1).split(",")) - set(extras)
                assert not missing, f"{where}: pip install names extras pyproject.toml lacks: {missing}"
        return
    if words[:3] == ["python", "-m", "pytest"]:
        paths = [w for w in words[3:] if not w.startswith("-")]
        assert all((ROOT / p.split("::")[0]).exists() for p in paths), f"{where}: {paths}"
        return
    if words[:1] == ["python"] and words[1:2] and words[1].startswith("scripts/"):
        assert all((ROOT / p).exists() for p in words[1:] if not p.startswith("-")), f"{where}: {words}"
        return
    if words[:1] == ["jupyter"] and words[1:2] in (["lab"], ["notebook"]):
        assert all((ROOT / p).exists() for p in words[2:]), f"{where}: {words}"
        return
    raise AssertionError(f"{where}: a command the docs test does not know how to check: {shlex.join(words)}")


def _all_fixtures(ex: Example) -> list[str]:
    return list(FIXTURES if "setup" not in ex.options else [s for o in ex.options["setup"] for s in o.split(",")])


@pytest.mark.parametrize("ex", SHELL, ids=lambda ex: ex.id)
def test_shell_command_runs(ex: Example, docs_data, tmp_path):
    if "illustrative" in ex.options:
        pytest.skip(f"illustrative: {ex.options['illustrative'][0]}")
    work = _workdir(tmp_path, docs_data, [f for f in _all_fixtures(ex) if f != "tiny_run"])
    for line in ex.code.replace("&&", "\n").splitlines():
        line = line.strip().removeprefix("$ ")
        if not line:
            continue
        cwd_before = os.getcwd()
        os.chdir(work)  # globs expand in the working directory
        try:
            words = _words(line)
        finally:
            os.chdir(cwd_before)
        if words[:2] == ["python", "-m"] and words[2].startswith("tinyseg."):
            _run_tinyseg(words, work, ex.expected_error, ex.id)
        else:
            _check_setup_command(words, ex.id)


# ---- the conventions themselves ----------------------------------------------------------------


def test_docs_test_comments_are_well_formed():
    """Every ``<!-- docs-test: ... -->`` sits right above a block, with known keys and fixtures."""
    problems = []
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if m := COMMENT.match(line):
                opts = _options(m.group(1))
                if unknown := set(opts) - OPTION_KEYS:
                    problems.append(f"{page.name}:{i + 1}: unknown keys {unknown}")
                for value in opts.get("setup", []):
                    if bad := set(value.split(",")) - set(FIXTURES):
                        problems.append(f"{page.name}:{i + 1}: unknown fixtures {bad}")
                if "illustrative" in opts and not opts["illustrative"][0].strip():
                    problems.append(f"{page.name}:{i + 1}: illustrative needs its reason")
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                if not (FENCE_OPEN.match(nxt) or TINYSEG_LINE.match(nxt)):
                    problems.append(f"{page.name}:{i + 1}: not directly above a code block")
    assert not problems, problems


def test_few_examples_are_illustrative():
    marked = [ex.id for ex in EXAMPLES if "illustrative" in ex.options]
    assert len(marked) <= MAX_ILLUSTRATIVE, f"too many examples marked illustrative: {marked}"


def test_the_examples_are_found():
    assert len(PYTHON) >= 15 and len(SHELL) >= 20, (len(PYTHON), len(SHELL))


def test_train_with_size_on_a_mixed_val_split(docs_data, tmp_path):
    work = _workdir(tmp_path, docs_data, ["mixed"])
    shutil.copytree(work / "mixed" / "images" / "train", work / "mixed" / "images" / "val", dirs_exist_ok=True)
    shutil.copytree(work / "mixed" / "labels" / "train", work / "mixed" / "labels" / "val", dirs_exist_ok=True)
    _run_tinyseg(["python", "-m", "tinyseg.train", "--data", "mixed", "--out", "runs/m"], work, None, "mixed val")
