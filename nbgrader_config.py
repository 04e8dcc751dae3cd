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
