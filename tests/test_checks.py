"""One argument check for every entry point (parlab.checks): integers by `operator.index`,
so numpy integers work in the experiments as they do in `parlab.render` (issue 16 §9)."""

import numpy as np
import pytest

from parlab.checks import check_choice, check_int, check_modes, check_number, check_workers
from parlab.experiments import download, lists, multiplexer, pixels


@pytest.mark.parametrize("value", [7, np.int64(7), np.int32(7), np.uint8(7)])
def test_integers_numpy_ones_included_are_integers(value):
    result = check_int("n", value, 0, 10)
    assert result == 7 and type(result) is int


@pytest.mark.parametrize("value", [7.0, np.float64(7), True, np.True_, "7", None, [7]])
def test_anything_else_is_not_an_integer(value):
    with pytest.raises(TypeError, match=r"^n: must be an integer"):
        check_int("n", value, 0, 10)


@pytest.mark.parametrize("value", [-1, 11, np.int64(2**62), 10**100])
def test_an_integer_out_of_range_names_the_parameter(value):
    with pytest.raises(ValueError, match=r"^n: must be between 0 and 10"):
        check_int("n", value, 0, 10)


def test_numbers():
    assert check_number("x", np.float32(0.5), 0, 1) == 0.5 and check_number("x", np.int64(1), 0, 1) == 1.0
    for bad in (float("nan"), float("inf"), -0.1):
        with pytest.raises(ValueError, match=r"^x:"):
            check_number("x", bad, 0, 1)
    for bad in (True, "0.5", None):
        with pytest.raises(TypeError, match=r"^x: must be a number"):
            check_number("x", bad, 0, 1)


def test_choices_modes_and_workers():
    assert check_choice("kind", "b", ["a", "b"]) == "b"
    with pytest.raises(ValueError, match=r"^kind: unknown 'c'"):
        check_choice("kind", "c", ["a", "b"])
    assert check_modes("a", ["a", "b"]) == ("a",) and check_modes(["b", "a"], ["a", "b"]) == ("b", "a")
    with pytest.raises(ValueError, match=r"^modes:"):
        check_modes(["a", "a"], ["a", "b"])
    assert check_workers(None, 3) == 3 and check_workers(np.int64(2), 3) == 2


def test_the_experiments_take_numpy_integers():
    frame = pixels.run(
        size=np.int64(2), workers=np.int32(2), seed=np.uint16(3), scale=np.float64(0.01), modes=("pool",)
    )
    assert len(frame) == 2 * 2 * 2 and frame.attrs["workers"] == 2
    frame = lists.run(sizes=[np.int64(1000), np.int64(2000)], repeats=np.int64(1))
    assert sorted(frame["n"].unique()) == [1000, 2000]
    trace = multiplexer.run(multiplexer.example(), workers=np.int64(2), max_steps=np.int64(100))
    assert trace.attrs["result"] is None and set(trace["worker"]) == {0, 1}
    frame = download.run(pages=np.int64(3), latency_ms=np.int64(0), modes=("sync",), limit=np.int64(2),
                         page_bytes=np.int64(10))  # fmt: skip
    assert list(frame["bytes"]) == [10, 10, 10]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: pixels.run(size=2.0), "size"),
        (lambda: pixels.run(size=True), "size"),
        (lambda: lists.run(sizes=[1000.0]), "sizes"),
        (lambda: download.run(pages=np.float64(3)), "pages"),
        (lambda: multiplexer.run(multiplexer.example(), workers=1.5), "workers"),
    ],
)
def test_the_experiments_still_refuse_non_integers_naming_them(call, name):
    with pytest.raises(TypeError, match=f"^{name}: must be an integer"):
        call()
