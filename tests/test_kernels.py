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
    # Dominated by the period-3 and period-4 bulbs, and the antenna's tip (|c| ≈ 2): the
    # periodicity shortcut and the SIMD engine's careful band.
    dict(width=41, height=29, max_iter=3000, viewport=(-0.2, -0.05, 0.65, 0.85)),
    dict(width=37, height=31, max_iter=3000, viewport=(-1.36, -1.26, -0.05, 0.05)),
    dict(width=47, height=15, max_iter=2000, viewport=(-2.05, -1.95, -0.02, 0.02)),
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


def test_the_pure_python_loop_is_the_definition():
    from parlab.kernels import python_counts

    view = (-1.36, -1.26, -0.05, 0.05)
    np.testing.assert_array_equal(python_counts(23, 11, 500, view), escape_counts(23, 11, 500, view))
    np.testing.assert_array_equal(python_counts(23, 11, 500, view, row_step=4), escape_counts(23, 11, 500, view)[::4])


def _cpuinfo(family: int, model: int, flags: str) -> str:
    first = f"vendor_id\t: AuthenticAMD\ncpu family\t: {family}\nmodel\t\t: {model}\nmodel name\t: AMD EPYC\n"
    return f"processor\t: 0\n{first}flags\t\t: fpu {flags}\n\nprocessor\t: 1\n"


@pytest.mark.parametrize(
    ("family", "model", "flags", "expected"),
    [
        (25, 1, "avx2 fma", "Zen 3, family 25 model 1 = 0x1; AVX2)"),
        (25, 17, "avx2 avx512f", "Zen 4, family 25 model 17 = 0x11; AVX-512, AVX-512 as two 256-bit halves)"),
        (26, 2, "avx2 avx512f", "Zen 5, family 26 model 2 = 0x2; AVX-512, AVX-512 full width"),
    ],
)
def test_the_bench_names_the_cpu(family, model, flags, expected):
    from parlab.bench import cpu_description

    text = cpu_description(_cpuinfo(family, model, flags))
    assert text.startswith("AMD EPYC (AuthenticAMD ") and expected in text, text
