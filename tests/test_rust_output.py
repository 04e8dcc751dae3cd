"""parlab.rust_output: a Rust cell's panics, read from what the kernel's prelude reports."""

import json

import nbformat
from nbgrader.utils import determine_grade

from parlab.rust_output import cell_panics, mark_panic, panic_text, without_backtrace


def result(*panics, plain="thread 'main' panicked at src/lib.rs:1:1:\nboom"):
    data = {f"application/vnd.parlab.panic-{n}+json": p for n, p in panics}
    data["text/plain"] = plain
    return {"output_type": "execute_result", "execution_count": 1, "data": data, "metadata": {}}


WORKER = {"thread": "<unnamed>", "location": "src/lib.rs:7:9", "message": "assertion failed: x > 0"}
MAIN = {"thread": "main", "location": "src/lib.rs:9:5", "message": "called `Result::unwrap()` on an `Err` value"}


def test_the_prelude_entries_are_read_in_the_order_of_their_panics():
    # 10 sorts before 9 as text: the order is the number's
    outputs = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}, result((10, MAIN), (9, WORKER))]
    assert cell_panics(outputs) == [WORKER, MAIN]
    text = panic_text(outputs)
    assert text.index("assertion failed: x > 0") < text.index("Result::unwrap")
    assert text.startswith("thread '<unnamed>' panicked at src/lib.rs:7:9:\n")


def test_a_json_entry_sent_as_text_is_read_too():
    assert cell_panics([result((0, json.dumps(MAIN)))]) == [MAIN]


def test_a_cell_without_a_panic_reports_none():
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": "panicked at nothing: it is a print\n"},
        {"output_type": "execute_result", "data": {"text/plain": "3"}, "metadata": {}, "execution_count": 2},
    ]
    assert cell_panics(outputs) == [] and panic_text(outputs) is None


def test_without_the_prelude_the_panic_on_stderr_counts_without_its_backtrace():
    stderr = (
        "thread 'main' panicked at src/lib.rs:3:5:\nassertion `left == right` failed\n"
        "stack backtrace:\n   0: rust_begin_unwind\nnote: run with `RUST_BACKTRACE=1`\n"
    )
    outputs = [{"output_type": "stream", "name": "stderr", "text": stderr}]
    assert cell_panics(outputs) == [
        {"thread": "main", "location": "src/lib.rs:3:5", "message": "assertion `left == right` failed"}
    ]
    assert "rust_begin_unwind" not in panic_text(outputs)
    assert without_backtrace(stderr) == "thread 'main' panicked at src/lib.rs:3:5:\nassertion `left == right` failed\n"


def grade(outputs):
    cell = nbformat.v4.new_code_cell("assert!(false);")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 2, "grade_id": "t", "locked": True}
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell, determine_grade(cell)


def test_nbgrader_gives_a_panicking_cell_no_points_once_marked():
    # The prelude's result alone would earn full marks (nbgrader reads a result as a grade).
    cell, before = grade([result((0, MAIN))])
    assert before == (2.0, 2.0)
    assert mark_panic(cell)
    assert determine_grade(cell) == (0, 2.0)
    assert cell.outputs[0].output_type == "error" and "Result::unwrap" in cell.outputs[0].evalue
    assert mark_panic(cell) and sum(o.output_type == "error" for o in cell.outputs) == 1  # once
    passed, _ = grade([{"output_type": "stream", "name": "stdout", "text": "ok\n"}])
    assert not mark_panic(passed) and determine_grade(passed) == (2.0, 2.0)
