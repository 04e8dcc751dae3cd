"""Every exercise rejects wrong answers, with a message that names the fault (issue 22 §1).

The wrong answers live in tests/wrong_answers/<assignment>.py, one file per notebook with
exercises, as a list `WRONG` of dicts:

    {"name": "lock-serialised",                       # what kind of wrong
     "cells": {"05-queue-render": "def queue_render(...): ..."},   # grade_id → the answer
     "fails": {"05-queue-render-test": "never had 3 tiles in progress"}}  # grade_id → message

(a message may be a tuple of alternatives, when which check catches the answer first depends on
the run).

One kernel runs each notebook, cell by cell, as nbgrader's autograde would. Before the first
cell that a wrong answer replaces, the harness runs that answer instead of the solution, then
the cells after it up to its last failing test cell, and checks that every test cell in
`fails` raised an error whose text contains the message (and that no test cell *not* listed
raised, so a wrong answer is rejected for the stated reason). Then it runs the reference
solution and the cells after it, and goes on. A test cell that passes a wrong answer, or
fails it with another message, fails this test, naming the answer and the cell.
"""

from __future__ import annotations

import importlib.util
import json
import re
from copy import deepcopy
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbgrader.preprocessors import ClearSolutions
from traitlets.config import Config

from parlab.rust_output import panic_text

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ROOT / "tests" / "wrong_answers"
NOTEBOOKS = {f"{p.parent.name}-{p.stem}": p for p in sorted(ROOT.glob("notebooks/*/*.ipynb"))}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def load_wrong(assignment: str) -> list[dict]:
    path = ANSWERS / f"{assignment}.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"wrong_{assignment.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.WRONG)


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_solution(cell) -> bool:
    return cell.cell_type == "code" and bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def blank_answers(notebook) -> list[dict]:
    """The student's starting point for each answer cell, as nbgrader releases it (its
    ClearSolutions, with the course's stubs): each must fail every test cell after it, up to
    the next answer cell."""
    config = Config()
    config.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
    config.ClearSolutions.end_solution_delimeter = "END SOLUTION"
    config.ClearSolutions.code_stub = {"python": "raise NotImplementedError()", "rust": "todo!()"}
    clear = ClearSolutions(config=config)
    language = notebook.metadata["kernelspec"]["language"]
    answers, cells = [], notebook.cells
    for i, cell in enumerate(cells):
        if not is_solution(cell):
            continue
        copy = nbformat.from_dict(json.loads(json.dumps(cell)))
        clear.preprocess_cell(copy, {"language": language}, i)
        tests = []
        for later in cells[i + 1 :]:
            if is_solution(later):
                break
            if is_test(later):
                tests.append(grade_id(later))
        if tests:
            answers.append({"name": "blank", "cells": {grade_id(cell): copy.source}, "fails": dict.fromkeys(tests, "")})
    return answers


def messages(expected: str | tuple[str, ...]) -> tuple[str, ...]:
    """The messages a test cell may fail a wrong answer with: one, or a tuple of alternatives
    (when which check catches it first depends on the run, e.g. on which thread got which tile)."""
    return (expected,) if isinstance(expected, str) else tuple(expected)


def is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def error_text(cell, reply) -> str | None:
    """The error a cell raised, as plain text (traceback, stderr), or None when it passed."""
    failed = reply is not None and reply.get("content", {}).get("status") == "error"
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            failed = True
            parts += [output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])]
        elif output.get("output_type") == "stream" and output.get("name") == "stderr":
            parts.append(output.get("text", ""))
    # evcxr answers "ok" to a cell that panicked: the kernel's prelude reports the panic in the
    # cell's result (parlab.rust_output)
    panic = panic_text(cell.get("outputs", []))
    if panic is not None:
        failed = True
        parts.append(panic)
    if reply is not None:
        content = reply.get("content", {})
        parts += [content.get("ename", ""), content.get("evalue", ""), *content.get("traceback", [])]
    return ANSI.sub("", "\n".join(map(str, parts))) if failed else None


class CellRunner:
    """One kernel running a notebook's cells on demand, keeping each cell's reply."""

    def __init__(self, notebook: nbformat.NotebookNode, path: Path) -> None:
        self.replies: dict[int, dict] = {}

        def keep(cell, cell_index, execute_reply):
            self.replies[cell_index] = execute_reply

        self.client = NotebookClient(
            deepcopy(notebook),  # its own: run() puts each cell it runs in it
            timeout=600,
            allow_errors=True,
            kernel_name=notebook.metadata["kernelspec"]["name"],
            resources={"metadata": {"path": str(path.parent)}},
            on_cell_executed=keep,
        )

    def run(self, cell, index: int, source: str | None = None) -> str | None:
        """Runs a copy of the cell (with `source` instead of its own, if given): its error or None."""
        copy = nbformat.from_dict(json.loads(json.dumps(cell)))
        if source is not None:
            copy.source = source
        copy.outputs = []
        self.replies.pop(index, None)
        # nbclient routes a display's later updates (a live widget's picture) to the cell at
        # `index` of its notebook: make that the copy, and forget the displays of earlier runs.
        self.client.nb.cells[index] = copy
        for cells in self.client._display_id_map.values():
            cells.pop(index, None)
        self.client.execute_cell(copy, index)
        return error_text(copy, self.replies.get(index))


def has_exercises(path: Path) -> bool:
    return any(is_solution(cell) for cell in nbformat.read(path, as_version=4).cells)


def cases() -> list:
    return [pytest.param(name, id=name) for name, path in NOTEBOOKS.items() if has_exercises(path)]


@pytest.mark.parametrize("assignment", cases())
def test_wrong_answers_are_rejected(assignment):
    path = NOTEBOOKS[assignment]
    kernel = nbformat.read(path, as_version=4).metadata["kernelspec"]["name"]
    if kernel not in KernelSpecManager().find_kernel_specs():
        pytest.skip(f"no {kernel} kernel here (make setup says why)")
    if kernel == "rust":  # without the prelude a panic's text may trail into another cell
        prelude = Path(KernelSpecManager().get_kernel_spec(kernel).env.get("EVCXR_CONFIG_DIR", "")) / "prelude.rs"
        assert prelude.is_file(), f"the Rust kernel runs no panic prelude ({prelude}): `make setup` installs it"
    notebook = nbformat.read(path, as_version=4)
    wrong = blank_answers(notebook) + load_wrong(assignment)
    cells = notebook.cells
    index_of = {grade_id(cell): i for i, cell in enumerate(cells) if grade_id(cell)}
    for answer in wrong:
        for gid in [*answer["cells"], *answer["fails"]]:
            assert gid in index_of, f"{answer['name']}: no cell {gid!r} in {assignment}"
        for gid in answer["fails"]:
            assert is_test(cells[index_of[gid]]), f"{answer['name']}: {gid!r} is not a test cell"
    # Each answer runs right before its first replaced cell.
    starts: dict[int, list[dict]] = {}
    for answer in wrong:
        starts.setdefault(min(index_of[g] for g in answer["cells"]), []).append(answer)

    problems = []
    runner = CellRunner(notebook, path)
    with runner.client.setup_kernel():
        for i, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            for answer in starts.get(i, []):
                replaced = {index_of[g]: src for g, src in answer["cells"].items()}
                expected = {index_of[g]: message for g, message in answer["fails"].items()}
                last = max([*expected, *replaced])
                for j in range(i, last + 1):
                    if cells[j].cell_type != "code":
                        continue
                    error = runner.run(cells[j], j, replaced.get(j))
                    name = f"{answer['name']} → {grade_id(cells[j]) or f'cell {j}'}"
                    if j in expected:
                        if error is None:
                            problems.append(f"{name}: the test passed a wrong answer")
                        elif not any(m.lower() in error.lower() for m in messages(expected[j])):
                            problems.append(f"{name}: failed without {expected[j]!r}:\n{error[-1500:]}")
                    elif is_test(cells[j]) and error is not None and j not in replaced:
                        problems.append(f"{name}: a test not expected to fail failed:\n{error[-800:]}")
            error = runner.run(cell, i)
            assert error is None or not is_test(cell), f"the reference failed {grade_id(cell)}:\n{error[-2000:]}"
    assert not problems, "\n\n".join(problems)
