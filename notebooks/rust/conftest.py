"""nbval for the evcxr notebooks: a failed `assert!` must fail its cell.

evcxr reports a compile error as a Jupyter error (nbval sees it), but a panic at run time
(`assert!`, `unwrap`, `todo!()`) only as text on stderr, "thread '…' panicked at …", and the
cell still "succeeds". This hook fails such a cell, unless it is tagged `raises-exception`.
"""

import pytest

PANIC = "panicked at "


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield  # raises when nbval failed the cell itself
    if not hasattr(item, "test_outputs") or "raises-exception" in item.cell.get("metadata", {}).get("tags", []):
        return result
    stderr = "".join(o.get("text", "") for o in item.test_outputs or [] if o.get("name") == "stderr")
    if PANIC in stderr:
        start = stderr.index(PANIC)
        pytest.fail(f"cell {item.cell_num} panicked: {stderr[start : start + 400]}", pytrace=False)
    return result
