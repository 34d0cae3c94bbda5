"""gonerd/untrusted.py, the one reader of user files for gonerd, benchmark and baselines: bounded work (not only
size), regular files only, one-line refusals naming the file."""

from __future__ import annotations

import os
import time

import pytest

from gonerd import untrusted
from gonerd.untrusted import Refused

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_a_yaml_alias_bomb_is_refused_in_milliseconds_before_anything_is_built():
    start = time.perf_counter()
    with pytest.raises(
        Refused, match=r"^bomb\.yaml: YAML expands to more than 100,000 values \(aliases\); refused$"
    ):
        untrusted.yaml_loads(BOMB + "epochs: *i\n", "bomb.yaml")
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epochs: 1\nseed: 2\nepochs: 3\n", r"duplicate key 'epochs' \(lines 1 and 3\)"),
        ("run:\n  dtype: float32\n  dtype: bfloat16\n", r"duplicate key 'dtype' \(lines 2 and 3\)"),
        ("a: &x\n  b: *x\n", "a YAML alias refers to itself"),
        ("epochs: " + "9" * 5000 + "\n", "a number of more than the 4,300 digits"),
        ("[" * 100 + "]" * 100, "YAML nested deeper than 64 levels"),
        ("a: [1, 2\n", r"invalid YAML \("),
    ],
    ids=["duplicate-top", "duplicate-nested", "recursive-alias", "5000-digits", "deep", "invalid"],
)
def test_yaml_refusals_name_the_file(text, message):
    with pytest.raises(Refused, match=r"^c\.yaml: " + message):
        untrusted.yaml_loads(text, "c.yaml")


def test_yaml_anchors_and_merge_keys_within_the_bounds_still_work():
    text = "base: &b {epochs: 1, seed: 2}\nother:\n  <<: *b\n  epochs: 3\nlist: &l [1, 2]\ncopy: *l\n"
    assert untrusted.yaml_loads(text, "ok.yaml") == {
        "base": {"epochs": 1, "seed": 2},
        "other": {"epochs": 3, "seed": 2},
        "list": [1, 2],
        "copy": [1, 2],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": ' + "9" * 5000 + "}", "a number of 5,000 digits, more than the 4,300 an integer may have"),
        ('{"a": -' + "9" * 5000 + "}", "a number of 5,000 digits"),
        ('{"a": "x\\ud800y"}', r"a string holds a lone surrogate \(\\ud800\)"),
        ('{"\\udc00": 1}', "a string holds a lone surrogate"),
        ("[" * 65 + "]" * 65, "JSON nested deeper than 64 levels"),
        ("[" * 100_000 + "]" * 100_000, "JSON nested deeper than 64 levels"),
        ("{", r"invalid JSON \("),
    ],
    ids=["digits", "negative-digits", "surrogate", "surrogate-key", "depth-65", "depth-100000", "invalid"],
)
def test_json_refusals_name_the_file(text, message):
    with pytest.raises(Refused, match=r"^x\.json: " + message):
        untrusted.json_loads(text, "x.json")


def test_json_within_the_limits_is_read_as_json():
    text = '{"a": [' + "[" * 62 + "1" + "]" * 62 + '], "b": ' + "9" * 4300 + ', "c": "caf\u00e9"}'
    value = untrusted.json_loads(text, "ok.json")
    assert value["b"] == int("9" * 4300) and value["c"] == "café"


@pytest.mark.timeout(30)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    for read in (
        lambda: untrusted.load_json(fifo),
        lambda: untrusted.load_yaml(fifo),
        lambda: untrusted.read_bytes(fifo, limit=10),
        lambda: untrusted.open_regular(fifo),
        lambda: untrusted.check_regular(fifo),
    ):
        with pytest.raises(Refused, match=r"pipe\.json: a FIFO \(named pipe\), not a regular file; refused"):
            read()
    assert untrusted.not_regular(fifo) == "a FIFO (named pipe)"
    assert untrusted.not_regular(tmp_path / "absent") is None


def test_devices_folders_and_size_are_refused(tmp_path):
    with pytest.raises(Refused, match="a character device"):
        untrusted.read_bytes("/dev/zero", limit=10)  # endless: its size would never be reached
    with pytest.raises(Refused, match="a folder, not a regular file"):
        untrusted.read_bytes(tmp_path, limit=10)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 11)
    with pytest.raises(Refused, match=r"big\.json: 11 bytes, larger than the 10 bytes"):
        untrusted.read_bytes(big, limit=10)
    with pytest.raises(Refused, match="no such file"):
        untrusted.read_bytes(tmp_path / "absent", limit=10)


def test_the_caller_chooses_the_error_class(tmp_path):
    class MyError(Exception):
        pass

    with pytest.raises(MyError, match="nested deeper"):
        untrusted.json_loads("[" * 100 + "]" * 100, "x", MyError)
