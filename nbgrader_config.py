"""nbgrader's configuration for parlab; `nbgrader` reads it when run from the repository root,
which is the course directory (`CourseDirectory.root`, the current directory by default).

The course directory, in nbgrader's layout:

    notebooks/{python,rust}/NN-topic.ipynb  the lessons with their solutions: the only copy
    build/source/<assignment>/NN-topic.ipynb  a symbolic link to the lesson, one assignment per
                                            notebook with exercises (`make assignments` writes
                                            them; the assignment is `python-NN-topic` or
                                            `rust-NN-topic`)
    release/<assignment>/                   the student versions (`make assignments`, that is
                                            `nbgrader generate_assignment`)
    submitted/, autograded/, feedback/      nbgrader's grading steps, per student
    gradebook.db                            the grades (SQLite)

Everything but `notebooks/` is generated and git-ignored.
"""

c = get_config()  # noqa: F821 (nbgrader defines it when it runs this file)

c.CourseDirectory.course_id = "parlab"
c.CourseDirectory.source_directory = "build/source"

# Solution regions are marked `### BEGIN SOLUTION` / `### END SOLUTION` in Python and
# `// BEGIN SOLUTION` / `// END SOLUTION` in Rust: nbgrader's delimiters match anywhere in a
# line, so its defaults ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS") serve both languages. The stub
# that replaces a solution must make the tests fail: `todo!()` type-checks wherever a value is
# expected (a function body, a `let`) and panics when run.
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
    "rust": "// YOUR CODE HERE\ntodo!()",
}

# Autograding runs every cell of a submission. nbgrader's default of 30 s per cell is too short
# for the lessons' measurements and for the Rust kernel's first compilation of parlab_core on
# a busy machine.
c.Execute.timeout = 600

# evcxr (the Rust kernel) answers a cell that fails to compile with an error reply that has no
# `ename`, `evalue` or `traceback` (the Jupyter protocol asks for them); nbgrader 0.9's
# Execute.on_cell_executed reads them and would stop autograding with a KeyError on a lesson
# that shows a compile error on purpose (rust/06). Give such replies the missing fields.
# nbgrader and Formgrader load this file again and again in one process (each command, each
# reload of the configuration): the method is wrapped once, the wrapper marked `_parlab`.
from nbgrader.preprocessors import Execute  # noqa: E402


def _any_kernel(on_cell_executed):
    def on_cell_executed_any_kernel(self, **kwargs):
        # A Rust cell that panicked answers "ok" (the prelude reports the panic as its result):
        # an error output before that result makes nbgrader give the cell no points.
        from parlab.rust_output import mark_panic

        mark_panic(kwargs["cell"])
        content = kwargs["execute_reply"]["content"]
        if content.get("status") == "error":
            content.setdefault("ename", "Error")
            content.setdefault("evalue", "")
            content.setdefault("traceback", [])
        return on_cell_executed(self, **kwargs)

    on_cell_executed_any_kernel._parlab = True
    return on_cell_executed_any_kernel


if not getattr(Execute.on_cell_executed, "_parlab", False):
    Execute.on_cell_executed = _any_kernel(Execute.on_cell_executed)

# A live widget (python/05's bars and replay) is a reference to the kernel; its picture (an SVG
# output beside it, parlab.widgets) is what a reader without the kernel can show. With the
# widgets' state stored, nbconvert's HTML (the feedback) would show the widget instead, whose
# JavaScript comes from the network: an empty box offline. Keep the picture.
c.Execute.store_widget_state = False

# Feedback shows a student what failed, not how the hidden tests test it: the hidden-test
# regions are removed from the test cells' source, and a failing test cell's output is cut to
# the error's message (no Python traceback quoting the test's lines, no Rust backtrace).
import nbformat  # noqa: E402
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402
from nbgrader.utils import is_grade, is_solution  # noqa: E402

from parlab.rust_output import without_backtrace  # noqa: E402


class MessagesOnly(ClearHiddenTests):
    """Test cells in feedback: hidden regions removed, errors reduced to `Name: message`."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
            return cell, resources
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        kept, stderr = [], []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                stderr.append(output.get("text", ""))  # evcxr sends a panic line by line
                continue
            kept.append(output)
        text = without_backtrace("".join(stderr)).strip()
        if text:
            kept.append(nbformat.v4.new_output("stream", name="stderr", text=text + "\n"))
        cell["outputs"] = kept
        return cell, resources


c.GenerateFeedback.preprocessors = [GetGrades, MessagesOnly, CSSHTMLHeaderPreprocessor]
