"""The course's nbgrader assignments (issue 12 §4), for every notebook with nbgrader cells:
the lessons in notebooks/ that have exercises, and the two fixtures in tests/fixtures/ (one
Python, one Rust) that test the machinery itself.

One module fixture builds a scratch course directory with the repository's nbgrader_config.py
(scripts/assignments.py: `nbgrader generate_assignment`), hands in two submissions per
assignment, the released notebook unchanged ("blank") and the source notebook with its
solutions ("solution"), and runs `nbgrader autograde` on them. The source notebooks themselves
run under nbval like every notebook (`pytest --nbval-lax`).
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ClearHiddenTests
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = [ROOT / "tests" / "fixtures" / "python", ROOT / "tests" / "fixtures" / "rust"]

_spec = importlib.util.spec_from_file_location("assignments", ROOT / "scripts" / "assignments.py")
assignments = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(assignments)

NOTEBOOKS = assignments.exercise_notebooks(FIXTURES + assignments.FOLDERS)
#: The notebooks that nbgrader itself autogrades here (blank and solution, then feedback): the
#: two fixtures and one lesson per kernel. Every lesson's exercises, blank answers, wrong
#: answers and reference solutions run cell by cell in tests/test_exercises.py, as autograde
#: runs them, without nbgrader's per-assignment cost.
AUTOGRADED = [
    path
    for path in NOTEBOOKS
    if path.is_relative_to(FIXTURES[0].parent) or path.stem in ("05-mandelbrot-tiles", "01-tiles-and-threads")
]
LESSONS = sorted(ROOT.glob("notebooks/*/*.ipynb"))
#: the issue's floor for the whole course, once every lesson has its exercises
COURSE_MINIMUM = 25
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
STUBS = {"python": "raise NotImplementedError()", "rust": "todo!()"}
#: assignments autograded at once (PARLAB_GRADING_JOBS; 1 keeps the lessons' timings honest)
JOBS = int(os.environ.get("PARLAB_GRADING_JOBS", "1"))


def ids(paths):
    return [f"{path.parent.name}/{path.name}" for path in paths]


def cells(path):
    return json.loads(Path(path).read_text())["cells"]


def source(cell):
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def autograded_tests(path):
    """The autograded test cells: graded code cells that are not answers."""
    return [
        cell
        for cell in cells(path)
        if cell["cell_type"] == "code" and nbgrader(cell).get("grade") and not nbgrader(cell).get("solution")
    ]


def secret_lines(path):
    """Lines that the source has only between solution or hidden-test markers (at least 8
    characters, so that `}` or `pass` do not count): none of them may reach a student."""
    inside, outside = set(), set()
    for cell in cells(path):
        hidden = False
        for line in source(cell).splitlines():
            text = line.strip()
            if "BEGIN SOLUTION" in text or "BEGIN HIDDEN TESTS" in text:
                hidden = True
            elif "END SOLUTION" in text or "END HIDDEN TESTS" in text:
                hidden = False
            elif len(text) >= 8:
                (inside if hidden else outside).add(text)
    return inside - outside


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course directory with every assignment generated, submitted twice and autograded.

    Returns the directory and the grades, {assignment: {"blank"|"solution": {"score",
    "max_score", "cells": {grade_id: score}}}}; prints the time that each step took."""
    root = tmp_path_factory.mktemp("course")
    start = time.perf_counter()
    assignments.generate(NOTEBOOKS, root)
    timings = [f"generate_assignment, {len(NOTEBOOKS)} notebooks: {time.perf_counter() - start:.1f} s"]
    for notebook in AUTOGRADED:
        name = assignments.assignment_id(notebook)
        handed_in = {"blank": root / "release" / name / notebook.name, "solution": notebook}
        for student, path in handed_in.items():
            folder = root / "submitted" / student / name
            folder.mkdir(parents=True)
            shutil.copy(path, folder / notebook.name)

    # Each assignment is graded into its own copy of the gradebook, so that several can run at
    # once (SQLite takes one writer); by default one at a time, because the lessons' measurements
    # expect the machine to themselves.
    def autograde(notebook):
        name = assignments.assignment_id(notebook)
        database = root / f"gradebook-{name}.db"
        shutil.copy(root / "gradebook.db", database)
        db_url = f"--CourseDirectory.db_url=sqlite:///{database}"
        # evcxr (0.22) reports a panic only as stderr text, which may arrive after the cell has
        # finished and then lands on the next cell: a failing Rust test cell can score. Such a
        # race is rare; a blank answer that scores twice in a row is no race.
        for attempt in (1, 2) if assignments.language(notebook) == "rust" else (1,):
            start = time.perf_counter()
            assignments.nbgrader("autograde", name, "--force", "--log-level=WARN", db_url, root=root)
            grades = read_grades(database, notebook)
            timing = f"autograde {name} (blank and solution, attempt {attempt}): {time.perf_counter() - start:.1f} s"
            timings.append(timing)
            if grades["blank"]["score"] == 0:
                break
        return name, grades

    with ThreadPoolExecutor(JOBS) as pool:
        results = dict(pool.map(autograde, AUTOGRADED))
    print("\n".join(timings))
    return root, results


def read_grades(database, notebook):
    """{"blank"|"solution": {"score", "max_score", "cells": {grade_id: score}}} from a gradebook."""
    grades = {}
    name = assignments.assignment_id(notebook)
    with Gradebook(f"sqlite:///{database}", course_id="parlab") as gradebook:
        for student in ("blank", "solution"):
            submitted = gradebook.find_submission_notebook(notebook.stem, name, student)
            grades[student] = {
                "score": submitted.score,
                "max_score": submitted.max_score,
                "cells": {grade.name: grade.score for grade in submitted.grades},
            }
    return grades


def released(root, path):
    return root / "release" / assignments.assignment_id(path) / path.name


def test_there_are_assignments_on_both_kernels():
    assert {assignments.language(path) for path in NOTEBOOKS} >= {"python", "rust"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_each_notebook_has_two_exercises_with_autograded_tests(path):
    marked = [nbgrader(cell) for cell in cells(path) if nbgrader(cell)]
    grade_ids = [meta["grade_id"] for meta in marked]
    assert len(grade_ids) == len(set(grade_ids)), f"grade_ids repeat: {grade_ids}"
    solutions = [meta for meta in marked if meta.get("solution")]
    tests = autograded_tests(path)
    assert len(solutions) >= 2, "at least two cells where the student writes code"
    assert len(tests) >= 2, "at least two autograded test cells"
    for cell in tests:
        assert nbgrader(cell)["locked"] and nbgrader(cell)["points"] > 0, nbgrader(cell)["grade_id"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_markers_stand_only_in_their_cells(path):
    """nbgrader finds a marker anywhere in a line, prose included, and refuses an unmarked cell."""
    for cell in cells(path):
        text = source(cell)
        for marker in MARKERS:
            if marker in text:
                kind = "solution" if "SOLUTION" in marker else "grade"
                assert nbgrader(cell).get(kind), f"{marker!r} in a cell that is not a {kind} cell: {text[:80]!r}"
                assert cell["cell_type"] == "code", f"{marker!r} in a {cell['cell_type']} cell"


def test_the_course_counts_its_autograded_cells(capsys):
    lessons = [path for path in LESSONS if assignments.nbgrader_cells(path)]
    per_lesson = {f"{path.parent.name}/{path.stem}": len(autograded_tests(path)) for path in lessons}
    total = sum(per_lesson.values())
    with capsys.disabled():
        print(f"\nautograded test cells: {total} in {len(per_lesson)} of {len(LESSONS)} lessons {per_lesson}")
    if len(per_lesson) == len(LESSONS):  # every lesson has its exercises: the course is complete
        assert total >= COURSE_MINIMUM


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_the_release_holds_no_solution_and_no_hidden_test(course, path):
    student = released(course[0], path)
    text = "\n".join(source(cell) for cell in cells(student))
    for marker in MARKERS:
        assert marker not in text
    lines = {line.strip() for line in text.splitlines()}
    leaked = sorted(secret_lines(path) & lines)
    assert not leaked, f"solution or hidden-test lines in the student version: {leaked}"
    stub = STUBS[assignments.language(path)]
    answers = [cell for cell in cells(student) if nbgrader(cell).get("solution") and cell["cell_type"] == "code"]
    assert answers and all(stub in source(cell) for cell in answers)
    assert all(not cell.get("outputs") for cell in cells(student))


@pytest.mark.parametrize("path", AUTOGRADED, ids=ids(AUTOGRADED))
def test_the_blank_release_scores_zero(course, path):
    blank = course[1][assignments.assignment_id(path)]["blank"]
    tests = [nbgrader(cell)["grade_id"] for cell in autograded_tests(path)]
    passed = {grade_id: blank["cells"][grade_id] for grade_id in tests if blank["cells"][grade_id]}
    assert not passed, f"test cells that pass without an answer: {passed}"
    assert blank["score"] == 0


@pytest.mark.parametrize("path", AUTOGRADED, ids=ids(AUTOGRADED))
def test_the_solutions_score_full_marks(course, path):
    solution = course[1][assignments.assignment_id(path)]["solution"]
    tests = {nbgrader(cell)["grade_id"]: nbgrader(cell)["points"] for cell in autograded_tests(path)}
    lost = {
        grade_id: solution["cells"][grade_id]
        for grade_id, points in tests.items()
        if solution["cells"][grade_id] < points
    }
    assert not lost, f"test cells that fail on the solutions: {lost}"
    assert solution["score"] == solution["max_score"] == sum(tests.values())


def test_a_student_checks_their_answers_with_nbgrader_validate(course, tmp_path):
    """What a student runs on Binder: validate lists the failing tests, then passes once the
    answers are written (here: the solutions, without their markers)."""
    path = next(p for p in NOTEBOOKS if p.is_relative_to(FIXTURES[0]))
    student = tmp_path / path.name
    shutil.copy(released(course[0], path), student)

    def validate():
        command = [sys.executable, "-m", "nbgrader", "validate", str(student)]
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, check=True).stdout

    assert "VALIDATION FAILED ON" in validate()
    answers = {nbgrader(cell)["grade_id"]: source(cell) for cell in cells(path) if nbgrader(cell).get("solution")}
    notebook = json.loads(student.read_text())
    for cell in notebook["cells"]:
        if nbgrader(cell).get("solution"):
            cell["source"] = re.sub(r".*(BEGIN|END) SOLUTION.*\n", "", answers[nbgrader(cell)["grade_id"]])
    student.write_text(json.dumps(notebook))
    assert "Success! Your notebook passes all the tests." in validate()


@pytest.mark.parametrize("path", AUTOGRADED, ids=ids(AUTOGRADED))
def test_feedback_shows_messages_not_the_hidden_tests(course, path):
    """nbgrader's feedback of a blank submission: each failing test says what failed, without
    the hidden tests' source, a Python traceback quoting them, or a Rust backtrace."""
    root, _ = course
    name = assignments.assignment_id(path)
    database = root / f"gradebook-{name}.db"
    assignments.nbgrader(
        "generate_feedback", name, "--student=blank", "--force", f"--CourseDirectory.db_url=sqlite:///{database}",
        root=root,
    )  # fmt: skip
    html = (root / "feedback" / "blank" / name / f"{path.stem}.html").read_text()
    hidden = {line for line in secret_lines(path) if line.startswith(("assert", "if ", "for "))}
    shown = sorted(line for line in hidden if line in html or line.replace("<", "&lt;").replace(">", "&gt;") in html)
    assert not shown, f"hidden test lines in the feedback: {shown}"
    # The test cells as feedback shows them: nbgrader_config.py's preprocessors on the
    # autograded notebook (the student's own cells keep their tracebacks).
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    notebook = nbformat.read(root / "autograded" / "blank" / name / path.name, as_version=4)
    for preprocessor in config.GenerateFeedback.preprocessors:
        if issubclass(preprocessor, ClearHiddenTests):  # the others read nbgrader's resources
            notebook, _ = preprocessor(config=config).preprocess(notebook, {})
    assert any(issubclass(p, ClearHiddenTests) for p in config.GenerateFeedback.preprocessors)
    for cell in notebook.cells:
        if not (nbgrader(cell).get("grade") and not nbgrader(cell).get("solution")):
            continue
        for output in cell.get("outputs", []):
            text = "\n".join(output.get("traceback", [])) + output.get("text", "")
            assert len(output.get("traceback", [])) <= 1, f"{nbgrader(cell)['grade_id']}: a traceback in feedback"
            for noise in ("stack backtrace:", "RUST_BACKTRACE", "Cell In["):
                assert noise not in text, f"{nbgrader(cell)['grade_id']}: {noise!r} in the feedback"
