"""nbval for the evcxr notebooks: a failed `assert!` must fail its cell.

evcxr reports a compile error as a Jupyter error (nbval sees it), but a panic at run time
(`assert!`, `unwrap`, `todo!()`) only as text on stderr, and the cell still "succeeds". This
hook fails such a cell (`parlab.rust_output` reads the panic), unless it is tagged
`raises-exception`.
"""

import pytest

from parlab.rust_output import panic_message


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield  # raises when nbval failed the cell itself
    if not hasattr(item, "test_outputs") or "raises-exception" in item.cell.get("metadata", {}).get("tags", []):
        return result
    stderr = "".join(o.get("text", "") for o in item.test_outputs or [] if o.get("name") == "stderr")
    message = panic_message(stderr, limit=400)
    if message is not None:
        pytest.fail(f"cell {item.cell_num} panicked: {message}", pytrace=False)
    return result
