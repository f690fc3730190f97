"""Checkpoints: bit-exact round trips (weights, running stats, optimiser state, metadata),
atomic writes, clear errors for missing, foreign, truncated and corrupt files and for models
that do not fit, NumPy arrays inside whichever backend saved them, files from before 0.2 refused by name."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
from tinyseg.engine import backend
from tinyseg import models, optim
from tinyseg.io.checkpoint import CheckpointError, load_checkpoint, read, read_meta, save_checkpoint
from tinyseg.io.storage import pack, unpack

from .helpers import assert_equal


def _image(seed: int = 0, shape=(2, 3, 16, 24)) -> tinyseg.Tensor:
    return tinyseg.tensor(np.random.default_rng(seed).uniform(0, 1, shape).astype("float32"))


def _train_step(model, optimizer, seed: int) -> None:
    """One step on a fixed pseudo-loss sum(out * g): changes weights, running stats and optimiser state."""
    out = model(_image(seed))
    g = np.random.default_rng(seed + 100).standard_normal(out.shape).astype("float32")
    optimizer.zero_grad()
    (out * tinyseg.tensor(g)).sum().backward()
    optimizer.step()


def _host_state(model) -> dict[str, np.ndarray]:
    return {k: backend.to_numpy(v) for k, v in model.state_dict().items()}


def _assert_same_arrays(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert_equal(a[k], b[k], err_msg=k)


def _assert_same_tree(a, b) -> None:
    """Nested optimiser state dicts equal: same types, same keys, bit-equal arrays."""
    assert type(a) is type(b) or (backend.is_array(a) and backend.is_array(b)), (type(a), type(b))
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_same_tree(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same_tree(x, y)
    elif backend.is_array(a):
        assert a.dtype == b.dtype
        assert_equal(backend.to_numpy(a), backend.to_numpy(b))
    else:
        assert a == b


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A SegNet-Basic after two SGD-with-momentum steps, saved with metadata."""
    tinyseg.manual_seed(0)
    model = models.SegNetBasic(num_classes=11)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    for s in range(2):
        _train_step(model, opt, s)
    path = tmp_path_factory.mktemp("ckpt") / "segnet_basic.npz"
    rng = np.random.default_rng(5)
    meta = {"epoch": 3, "step": 2, "best_miou": np.float32(0.25), "classes": ["sky", "road"],
            "rng": rng.bit_generator.state, "nested": {"a": (1, 2.5), "b": [None, True]},
            "confusion": np.arange(4).reshape(2, 2)}
    save_checkpoint(path, model, opt, meta=meta)
    return model, opt, path, meta


def test_round_trip_is_bit_exact(trained):
    model, opt, path, _ = trained
    tinyseg.manual_seed(1)  # different starting weights
    fresh = models.SegNetBasic(num_classes=11)
    fresh_opt = optim.SGD(fresh.parameters(), lr=0.5, momentum=0.1)
    load_checkpoint(path, fresh, fresh_opt)
    _assert_same_arrays(_host_state(model), _host_state(fresh))  # running stats too
    _assert_same_tree(opt.state_dict(), fresh_opt.state_dict())  # lr, momentum, momentum buffers
    x = _image(9)
    with tinyseg.no_grad():
        assert_equal(backend.to_numpy(model.eval()(x).data), backend.to_numpy(fresh.eval()(x).data))
    # training goes on identically from the restored state
    model.train(), fresh.train()
    _train_step(model, opt, 7)
    _train_step(fresh, fresh_opt, 7)
    _assert_same_arrays(_host_state(model), _host_state(fresh))


def test_adam_state_and_rebuilding_the_model_from_metadata(tmp_path):
    tinyseg.manual_seed(2)
    model = models.FCNBasic(num_classes=4)
    opt = optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.99))
    _train_step(model, opt, 0)
    path = save_checkpoint(tmp_path / "fcn.npz", model, opt, meta={"step": 1, "class_names": list("abcd")})
    ckpt = read(path)  # read once: the model is built from the stored name and kwargs
    back = ckpt.build_model()
    assert type(back) is models.FCNBasic and back.config == model.config
    _assert_same_arrays(_host_state(model), _host_state(back))
    opt2 = optim.Adam(back.parameters())
    assert ckpt.load_into(back, opt2) is back
    _assert_same_tree(opt.state_dict(), opt2.state_dict())  # step counts, betas tuple, moments
    meta = ckpt.meta
    assert meta["step"] == 1 and meta["class_names"] == ["a", "b", "c", "d"] and meta["optimizer"] == "Adam"


def test_metadata_round_trip(trained):
    model, _, path, saved = trained
    meta = read_meta(path)
    assert meta["format"] == "tinyseg-checkpoint" and meta["tinyseg_version"] == tinyseg.__version__
    assert meta["model"] == {"name": "segnet_basic", "kwargs": {"num_classes": 11, "in_channels": 3}}
    assert meta["backend"] == backend.name() and meta["dtype"] == "float32" and meta["optimizer"] == "SGD"
    assert meta["epoch"] == 3 and meta["step"] == 2 and meta["classes"] == ["sky", "road"] and "iteration" not in meta
    assert meta["best_miou"] == 0.25 and meta["nested"] == {"a": (1, 2.5), "b": [None, True]}
    assert_equal(meta["confusion"], saved["confusion"])
    rng = np.random.default_rng()
    rng.bit_generator.state = meta["rng"]  # a 128-bit generator state survives JSON
    assert rng.random() == np.random.default_rng(5).random()
    assert read(path).meta["epoch"] == 3 and read(path).user_meta()["epoch"] == 3
    assert "format" in read(path).meta and "format" not in read(path).user_meta()
    assert read(path).model_name == "segnet_basic" and read(path).input_size is None  # trained size not saved


def test_load_checkpoint_is_the_short_form(trained):
    _, _, path, _ = trained
    back = load_checkpoint(path)
    _assert_same_arrays(read(path).state, _host_state(back))
    assert not hasattr(back, "checkpoint_meta")
    assert "Checkpoint(" in repr(read(path)) and "segnet_basic(num_classes=11" in repr(read(path))


def test_file_holds_numpy_arrays_and_json(trained):
    _, _, path, _ = trained
    with np.load(path, allow_pickle=False) as z:  # no pickles needed to read it
        assert "model/enc1.convs.0.conv.weight" in z.files and "model/enc4.convs.0.bn.running_var" in z.files
        assert z["model/enc1.convs.0.conv.weight"].dtype == np.float32
        json.loads(z["meta"].item())
        opt_state = json.loads(z["optimizer"].item())
        assert opt_state["momentum"] == 0.9


_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2**130, 2**130), st.floats(allow_nan=False), st.text(max_size=5),
    st.integers(0, 3).map(lambda n: np.arange(n * 2, dtype=np.float32).reshape(n, 2)),
)
_trees = st.recursive(_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner),
    st.dictionaries(st.one_of(st.text(max_size=4), st.integers(0, 9)), inner, max_size=3),
), max_leaves=12)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(tree=_trees)
def test_metadata_and_optimizer_values_survive_json_exactly(tree):
    """Whatever nesting of numbers, strings, lists, tuples, dicts with int or "__" keys and arrays."""
    arrays: dict = {}
    text = json.dumps(pack({"__odd": tree, "x": [tree]}, "meta", arrays))
    assert _same(unpack(json.loads(text), arrays, to_device=False), {"__odd": tree, "x": [tree]})


def test_float64_models_come_back_as_float64(tmp_path):
    model = models.FCNBasic(num_classes=3).astype("float64")
    back = load_checkpoint(save_checkpoint(tmp_path / "f64.npz", model))
    assert back.enc1.convs[0].conv.weight.dtype == np.float64 and back.enc1.convs[0].bn.running_mean.dtype == np.float64
    _assert_same_arrays(_host_state(model), _host_state(back))


# ---- atomic writes ----------------------------------------------------------------------------
def test_an_interrupted_save_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch):
    model = models.FCNBasic(num_classes=3)
    path = save_checkpoint(tmp_path / "last.npz", model, meta={"step": 1})
    before = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # Ctrl-C in the middle of writing

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, meta={"step": 2})
    monkeypatch.undo()
    assert path.read_bytes() == before and read_meta(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.npz"]


def test_saving_into_a_missing_folder_or_with_reserved_meta_keys(tmp_path):
    model = models.FCNBasic(num_classes=3)
    with pytest.raises(CheckpointError, match="does not exist"):
        save_checkpoint(tmp_path / "nope" / "a.npz", model)
    with pytest.raises(ValueError, match=r"keys \[.model.\] are reserved"):
        save_checkpoint(tmp_path / "a.npz", model, meta={"model": "mine"})
    with pytest.raises(TypeError, match="cannot store a object"):
        save_checkpoint(tmp_path / "a.npz", model, meta={"thing": object()})


# ---- broken files -----------------------------------------------------------------------------
@pytest.fixture
def small_checkpoint(tmp_path):
    return save_checkpoint(tmp_path / "small.npz", models.FCNBasic(num_classes=3), meta={"step": 5})


@pytest.mark.parametrize("keep", [0.5, 0.98, 0.0])
def test_truncated_checkpoint_gives_a_clear_error(small_checkpoint, keep):
    data = small_checkpoint.read_bytes()
    small_checkpoint.write_bytes(data[: int(len(data) * keep)])
    for read in (load_checkpoint, read_meta):
        with pytest.raises(CheckpointError, match=r"small\.npz.*(truncated or corrupt|corrupt checkpoint)"):
            read(small_checkpoint)


def test_corrupt_bytes_inside_the_file_are_detected(small_checkpoint):
    with zipfile.ZipFile(small_checkpoint) as z:
        info = z.getinfo("model/enc1.convs.0.conv.weight.npy")
    data = bytearray(small_checkpoint.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + 1000  # inside the array's bytes
    data[start:start + 16] = bytes(16)  # zero a few weights: the CRC no longer matches
    small_checkpoint.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"small\.npz: corrupt checkpoint.*CRC"):
        load_checkpoint(small_checkpoint)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothing\.npz: no such checkpoint file"):
        load_checkpoint(tmp_path / "nothing.npz")
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=r"notes\.txt: not a readable checkpoint"):
        load_checkpoint(text)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(CheckpointError, match=r"one\.npy: holds a single array"):
        read_meta(tmp_path / "one.npy")
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(CheckpointError, match=r"other\.npz: not a tinyseg checkpoint .*weights"):
        load_checkpoint(tmp_path / "other.npz")
    np.savez(tmp_path / "meta.npz", meta=np.array('{"hello": 1}'))
    with pytest.raises(CheckpointError, match=r"meta\.npz: not a tinyseg checkpoint"):
        read_meta(tmp_path / "meta.npz")
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)
    assert issubclass(CheckpointError, ValueError)


def test_a_newer_format_is_refused_by_name(small_checkpoint, tmp_path):
    with np.load(small_checkpoint) as z:
        entries = {k: z[k] for k in z.files}
    meta = json.loads(entries["meta"].item())
    entries["meta"] = np.array(json.dumps(meta | {"format_version": 99, "tinyseg_version": "9.0"}))
    np.savez(tmp_path / "future.npz", **entries)
    with pytest.raises(CheckpointError, match=r"future\.npz: written by a newer tinyseg \(9\.0, format 99\)"):
        read_meta(tmp_path / "future.npz")


# ---- checkpoints that do not fit ----------------------------------------------------------------
def test_a_different_model_or_class_count_names_both(small_checkpoint):
    with pytest.raises(CheckpointError, match=r"fcn_basic\(num_classes=3.*segnet_basic\(num_classes=3"):
        load_checkpoint(small_checkpoint, models.SegNetBasic(num_classes=3))
    with pytest.raises(CheckpointError, match=r"(?s)num_classes=3.*does not fit the given .*num_classes=5"
                                              r".*score1\.weight: checkpoint has shape \(3, 64, 1, 1\), "
                                              r"the model has shape \(5, 64, 1, 1\)"):
        load_checkpoint(small_checkpoint, models.FCNBasic(num_classes=5))


def test_missing_and_unexpected_keys_are_named(small_checkpoint, tmp_path):
    with np.load(small_checkpoint) as z:
        entries = {k: z[k] for k in z.files}
    entries.pop("model/enc2.convs.0.conv.bias")
    entries["model/extra.weight"] = np.zeros(2, "float32")
    np.savez(tmp_path / "edited.npz", **entries)
    with pytest.raises(CheckpointError, match=r"(?s)missing key\(s\): enc2\.convs\.0\.conv\.bias"
                                              r".*unexpected key\(s\): extra\.weight"):
        load_checkpoint(tmp_path / "edited.npz")


def test_optimizer_state_must_exist_and_match(small_checkpoint, tmp_path):
    model = models.FCNBasic(num_classes=3)
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        load_checkpoint(small_checkpoint, model, optim.SGD(model.parameters(), lr=0.1))
    path = save_checkpoint(tmp_path / "sgd.npz", model, optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(CheckpointError, match="holds SGD state, but the given optimizer is Adam"):
        load_checkpoint(path, model, optim.Adam(model.parameters()))


# ---- older formats ----------------------------------------------------------------------------------
def test_a_file_from_before_0_2_is_refused_with_what_to_do(small_checkpoint, tmp_path):
    """Formats 1 and 2 (tinyseg 0.1) kept the same facts under two keys; from 0.2.0 on, files of
    today's format keep loading (tests/test_released_weights.py holds one), older ones are named."""
    with np.load(small_checkpoint) as z:
        entries = {k: z[k] for k in z.files}
    meta = json.loads(entries["meta"].item())
    entries["meta"] = np.array(json.dumps(meta | {"format_version": 2, "tinyseg_version": "0.1.0"}))
    old = tmp_path / "old.npz"
    np.savez(old, **entries)
    with pytest.raises(CheckpointError, match=r"old\.npz: written by tinyseg 0\.1\.0 \(format 2\), before 0\.2\.0"):
        read(old)


# ---- across backends ----------------------------------------------------------------------------
@pytest.mark.gpu
def test_saved_on_cupy_loaded_on_numpy_and_back(tmp_path):
    try:
        backend.use("cupy")
    except backend.BackendError as exc:
        pytest.skip(f"needs CuPy with a CUDA GPU: {exc}")
    tinyseg.manual_seed(4)
    gpu_model = models.FCNBasic(num_classes=3)
    opt = optim.SGD(gpu_model.parameters(), lr=0.1, momentum=0.9)
    _train_step(gpu_model, opt, 0)
    path = save_checkpoint(tmp_path / "gpu.npz", gpu_model, opt)
    gpu_state = _host_state(gpu_model)
    backend.use("numpy")
    cpu_model = load_checkpoint(path)
    assert isinstance(cpu_model.enc1.convs[0].conv.weight.data, np.ndarray)
    _assert_same_arrays(gpu_state, _host_state(cpu_model))
    path2 = save_checkpoint(tmp_path / "cpu.npz", cpu_model)
    backend.use("cupy")
    back = load_checkpoint(path2)
    assert backend.is_cupy_array(back.enc1.convs[0].conv.weight.data)
    assert backend.is_cupy_array(back.enc1.convs[0].bn.running_var)
    _assert_same_arrays(gpu_state, _host_state(back))
    opt2 = optim.SGD(back.parameters(), lr=0.1, momentum=0.9)
    load_checkpoint(path, back, opt2)
    assert backend.is_cupy_array(opt2.state[0]["momentum_buffer"])
