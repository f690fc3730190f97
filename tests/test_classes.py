"""Classes: CamVid's table, the default palette, the JSON file, round trips through checkpoints' dicts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyseg.data import CAMVID, CAMVID_CLASSES, CAMVID_PALETTE, VOID_INDEX, Classes, DataError, read_classes_json
from tinyseg.data.classes import default_colors
from .helpers import assert_equal


def test_camvid_is_the_old_constants():
    assert CAMVID.names == CAMVID_CLASSES and len(CAMVID) == 11 and list(CAMVID) == list(CAMVID_CLASSES)
    assert CAMVID.ignore_index == VOID_INDEX == 11
    assert_equal(CAMVID.palette, CAMVID_PALETTE)
    assert CAMVID.palette.shape == (12, 3) and CAMVID.palette.dtype == np.uint8
    assert_equal(CAMVID.colorize(np.array([[8, 11]])), [[[64, 0, 128], [0, 0, 0]]])


@pytest.mark.parametrize("k", [1, 2, 4, 20, 255, 256, 1000])
def test_default_colours_are_distinct_and_never_black(k):
    colors = default_colors(k)
    assert len(colors) == len(set(colors)) == k and (0, 0, 0) not in colors
    assert all(0 <= v <= 255 for c in colors for v in c)


def test_default_classes_and_their_palette():
    two = Classes.default(2)
    assert two.names == ("class 0", "class 1") and two.ignore_index is None
    assert two.palette.shape == (2, 3)
    with_void = Classes.default(4, ignore_index=255)
    palette = with_void.palette
    assert palette.shape == (256, 3) and (palette[4:] == 0).all()   # ignored (and unused) values black
    assert_equal(with_void.colorize(np.array([[0, 255]]))[0, 1], [0, 0, 0])
    with pytest.raises(ValueError, match="0..3"):
        Classes.default(4).colorize(np.array([[4]]))
    with pytest.raises(ValueError, match="at least 1"):
        Classes.default(0)


@pytest.mark.parametrize("classes", [CAMVID, Classes.default(2), Classes.default(20, 255),
                                     Classes(("bg", "cell"), ((0, 0, 0), (255, 0, 0)), None)])
def test_to_dict_from_dict_round_trip_through_json(classes):
    obj = json.loads(json.dumps(classes.to_dict()))
    assert set(obj) == {"names", "colors", "ignore_index"}
    assert Classes.from_dict(obj) == classes


def test_a_plain_list_of_names_is_refused_and_names_alone_get_the_default_palette():
    with pytest.raises(ValueError, match="expected a dict with 'names'"):
        Classes.from_dict(["background", "cell"])
    only_names = Classes.from_dict({"names": ["background", "cell"]})
    assert only_names.ignore_index is None and only_names.colors == default_colors(2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"names": (), "colors": ()}, "empty"),
    ({"names": ("a", "a"), "colors": ((1, 1, 1), (2, 2, 2))}, "repeat"),
    ({"names": ("a", "b"), "colors": ((1, 1, 1),)}, "2 names but 1 colors"),
    ({"names": ("a",), "colors": ((1, 1, 300),)}, "0..255"),
    ({"names": ("a", "b"), "colors": ((1, 1, 1), (2, 2, 2)), "ignore_index": 1}, "ignore_index must be None or an integer >= 2"),
    ({"names": ("a", "b"), "colors": ((1, 1, 1), (2, 2, 2)), "ignore_index": "255"}, "ignore_index"),
])
def test_bad_classes_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Classes(**kwargs)


def write(tmp_path, obj) -> str:
    path = tmp_path / "classes.json"
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(path)


def test_read_classes_json(tmp_path):
    full = {"names": ["background", "cell"], "colors": [[0, 0, 0], [255, 0, 0]], "ignore_index": 255}
    classes = read_classes_json(write(tmp_path, full))
    assert classes.to_dict() == full
    no_colours = read_classes_json(write(tmp_path, {"names": ["a", "b", "c"], "ignore_index": None}))
    assert no_colours.colors == default_colors(3) and no_colours.ignore_index is None
    assert read_classes_json(write(tmp_path, {"names": ["a"]})).ignore_index is None


@pytest.mark.parametrize(("content", "message"), [
    ("{oops", "does not parse as JSON"),
    ('["a", "b"]', "holds a list"),
    ({"names": ["a", "b"], "colors": [[0, 0, 0]]}, "2 names but 1 colors"),
    ({"names": ["a", "b"], "colors": [[9, 9, 9], [9, 9, 9]]}, r"colour \[9, 9, 9\] belongs to more than one class"),
    ({"names": ["a", "b"], "ignore_index": 0}, "ignore_index must be None or an integer >= 2"),
    ({"names": ["a"], "ignore": 255}, r"unknown keys \['ignore'\]"),
    ({"colors": [[1, 2, 3]]}, "names"),
    ({"names": "ab"}, "names must be a list of strings"),
    ({"names": ["a"], "colors": [[1, 2, "x"]]}, "integer triples"),
])
def test_a_bad_classes_json_is_a_data_error_naming_the_file(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(DataError, match=message) as err:
        read_classes_json(path)
    assert path in str(err.value) and "\n" not in str(err.value)


def test_a_missing_classes_json_is_named(tmp_path):
    with pytest.raises(DataError, match=r"nowhere\.json does not exist"):
        read_classes_json(tmp_path / "nowhere.json")
