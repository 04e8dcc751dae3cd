"""nbval for the evcxr notebooks: a failed `assert!` must fail its cell.

evcxr reports a compile error as a Jupyter error (nbval sees it), but a panic at run time
(`assert!`, `unwrap`, `todo!()`) only in the cell's output (the kernel's prelude makes it the
cell's result, see `parlab.rust_output`), and the cell still "succeeds". This hook fails such a
cell, unless it is tagged `raises-exception`.
"""

import pytest

from parlab.rust_output import panic_text


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield  # raises when nbval failed the cell itself
    if not hasattr(item, "test_outputs") or "raises-exception" in item.cell.get("metadata", {}).get("tags", []):
        return result
    message = panic_text(item.test_outputs or [], limit=400)
    if message is not None:
        pytest.fail(f"cell {item.cell_num} panicked: {message}", pytrace=False)
    return result
