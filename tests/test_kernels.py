"""The `kernel=` and `interior_shortcut=` parameters: every kernel gives the same counts."""

import numpy as np
import pytest

import parlab
from parlab.kernels import numpy_counts as escape_counts

CONCRETE = ("scalar", "portable", "avx2", "avx512", "neon")
VIEWS = [
    dict(width=61, height=37, max_iter=300),
    dict(width=37, height=23, max_iter=2000, viewport=(-0.7436438871, -0.7436438869, 0.1318259041, 0.1318259043)),
    dict(width=29, height=31, max_iter=10_000, viewport=(-0.8, -0.7, -0.05, 0.05)),
    dict(width=13, height=7, max_iter=1),
]


def test_kernels_are_listed():
    assert parlab.KERNELS == ("auto", "scalar", "simd", "portable", "avx2", "avx512", "neon")
    available = parlab.available_kernels()
    assert available[:2] == ["scalar", "portable"]
    assert set(available) <= set(CONCRETE)


def test_auto_is_the_default_and_reports_the_path_that_ran():
    run = parlab.render(width=40, height=30, tile_w=8, tile_h=8, max_iter=100, threads=1)
    assert run.kernel == parlab.available_kernels()[-1]
    assert run.interior_shortcut is False
    assert parlab.render(width=8, height=8, max_iter=10, kernel="simd", threads=1).kernel == run.kernel
    assert parlab.render(width=8, height=8, max_iter=10, kernel="scalar", threads=1).kernel == "scalar"
    assert f"{run.kernel} kernel" in repr(run)


@pytest.mark.parametrize("view", VIEWS, ids=range(len(VIEWS)))
@pytest.mark.parametrize("kernel", parlab.available_kernels())
def test_every_kernel_matches_the_independent_implementation(view, kernel):
    expected = escape_counts(
        view["width"], view["height"], view["max_iter"], view.get("viewport", parlab.DEFAULT_VIEWPORT)
    )
    for shortcut in (False, True):
        for strategy in ("sequential", "dynamic"):
            threads = 1 if strategy == "sequential" else 2
            run = parlab.render(
                **view, tile_w=7, tile_h=5, strategy=strategy, threads=threads,
                kernel=kernel, interior_shortcut=shortcut,
            )  # fmt: skip
            assert run.kernel == kernel and run.interior_shortcut is shortcut
            np.testing.assert_array_equal(run.iterations, expected, err_msg=f"{kernel} {strategy} {shortcut}")


def test_the_demo_image_is_identical_with_every_kernel_and_the_shortcut():
    expected = parlab.render(kernel="scalar", threads=2).iterations
    for kernel in parlab.available_kernels():
        for shortcut in (False, True):
            run = parlab.render(kernel=kernel, interior_shortcut=shortcut, threads=2)
            np.testing.assert_array_equal(run.iterations, expected, err_msg=f"{kernel} {shortcut}")
            assert sum(r.iterations for r in run.records) == int(expected.sum(dtype=np.uint64))


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("kernel", "fastest", ValueError),
        ("kernel", "AVX512", ValueError),
        ("kernel", 1, TypeError),
        ("kernel", None, TypeError),
        ("interior_shortcut", 1, TypeError),
        ("interior_shortcut", "yes", TypeError),
        ("interior_shortcut", None, TypeError),
    ],
)
def test_bad_kernel_parameters_are_named(name, value, error):
    with pytest.raises(error, match=name):
        parlab.render(width=8, height=8, max_iter=10, **{name: value})


@pytest.mark.parametrize("kernel", [k for k in CONCRETE if k not in parlab.available_kernels()])
def test_a_path_this_cpu_lacks_is_refused_by_name(kernel):
    with pytest.raises(ValueError, match=r"kernel.*not supported"):
        parlab.render(width=8, height=8, max_iter=10, kernel=kernel)


def test_numpy_bool_is_a_flag():
    run = parlab.render(width=8, height=8, max_iter=10, interior_shortcut=np.bool_(True), threads=1)
    assert run.interior_shortcut is True
