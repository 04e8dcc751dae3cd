"""nbgrader's system-wide configuration on the course hub (installed as
PREFIX/venv/etc/jupyter/nbgrader_config.py, read by every account's nbgrader): the course and
its exchange. The instructor's own ~/.jupyter/nbgrader_config.py (written by parlab-course)
adds the course directory and the repository's grading settings (nbgrader_config.py at the
repository's root: stubs, timeouts, feedback without hidden tests or backtraces)."""

import os

c = get_config()  # noqa: F821 (nbgrader defines it when it runs this file)

c.CourseDirectory.course_id = "parlab"
# Every account writes here: mode 1777 (sticky, like /tmp), which jupyterhub_config.py sets
# when the hub starts; nbgrader makes the course's inbound/outbound/feedback folders inside.
c.Exchange.root = os.environ.get("PARLAB_EXCHANGE", "/srv/nbgrader/exchange")
