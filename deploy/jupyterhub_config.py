"""JupyterHub for a parlab course (installed as PREFIX/etc/jupyterhub_config.py by
`make hub-install PREFIX=...`; run as root: `PREFIX/venv/bin/jupyterhub -f PREFIX/etc/jupyterhub_config.py`).

- Accounts: the machine's own (PAM). Members of the group parlab-students log in as students,
  members of parlab-instructors as instructors (hub admins, with nbgrader's Formgrader).
- Each user's JupyterLab runs as their own account (the local-process spawner), from the
  shared, read-only install in PREFIX: PREFIX/bin/parlab-singleuser gives them the lessons in
  ~/parlab/notebooks, beside a link to the core (~/parlab/rust_core), and starts the server there.
- nbgrader's exchange: /srv/nbgrader/exchange, mode 1777, made here when the hub starts; the
  course id and the exchange reach every account through PREFIX/venv/etc/jupyter/nbgrader_config.py.

Settings that differ between machines come from the environment (the defaults in brackets):
PARLAB_HUB_URL [http://:8000], PARLAB_HUB_API_URL [http://127.0.0.1:8081],
PARLAB_PROXY_API_URL [http://127.0.0.1:8001], PARLAB_HUB_STATE [/var/lib/parlab-hub: the
database, the cookie secret], PARLAB_EXCHANGE [/srv/nbgrader/exchange],
PARLAB_STUDENTS_GROUP [parlab-students], PARLAB_INSTRUCTORS_GROUP [parlab-instructors],
PARLAB_CPU_LIMIT [2], PARLAB_MEM_LIMIT [2G].
"""

import grp
import os
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub defines it when it runs this file)

PREFIX = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("PARLAB_HUB_STATE", "/var/lib/parlab-hub"))
EXCHANGE = Path(os.environ.get("PARLAB_EXCHANGE", "/srv/nbgrader/exchange"))
STUDENTS = os.environ.get("PARLAB_STUDENTS_GROUP", "parlab-students")
INSTRUCTORS = os.environ.get("PARLAB_INSTRUCTORS_GROUP", "parlab-instructors")

# --- Where the hub listens, and what it keeps --------------------------------------------
c.JupyterHub.bind_url = os.environ.get("PARLAB_HUB_URL", "http://:8000")
c.JupyterHub.hub_bind_url = os.environ.get("PARLAB_HUB_API_URL", "http://127.0.0.1:8081")
c.ConfigurableHTTPProxy.api_url = os.environ.get("PARLAB_PROXY_API_URL", "http://127.0.0.1:8001")
c.ConfigurableHTTPProxy.command = [str(PREFIX / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy")]
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")

# --- Who logs in: system accounts, by group ----------------------------------------------


def members(group):
    """The accounts that have `group` as a supplementary group (useradd -G, usermod -aG)."""
    try:
        return set(grp.getgrnam(group).gr_mem)
    except KeyError:
        return set()


c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {STUDENTS, INSTRUCTORS}
c.PAMAuthenticator.admin_groups = {INSTRUCTORS}
# Known to the hub from its start, so that they can also log in through the REST API
# (POST /hub/api/users/NAME/tokens with their password); accounts added to the groups later
# log in through the form, or after a restart of the hub.
c.Authenticator.allowed_users = members(STUDENTS) | members(INSTRUCTORS)
c.Authenticator.admin_users = members(INSTRUCTORS)

# --- What each user runs: their own JupyterLab, as their own account -----------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(PREFIX / "bin" / "parlab-singleuser")]
c.Spawner.default_url = "/lab"
# A Rust notebook loads the core by ../../rust_core: lessons and fetched assignments sit two
# folders below ~/parlab, beside ~/parlab/rust_core.
c.Spawner.notebook_dir = "~/parlab/notebooks"
c.Spawner.environment = {
    "PATH": f"{PREFIX / 'venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "PARLAB_EXCHANGE": str(EXCHANGE),
}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60
# The lessons measure parallel speedups: at least 2 CPUs per user. The local-process spawner
# does not enforce these (it passes them on as CPU_LIMIT / MEM_LIMIT, which parlab.hardware()
# ignores); jupyterhub-systemdspawner enforces them with cgroups, which parlab.hardware() reads.
c.Spawner.cpu_limit = float(os.environ.get("PARLAB_CPU_LIMIT", "2"))
c.Spawner.mem_limit = os.environ.get("PARLAB_MEM_LIMIT", "2G")


def by_role(spawner):
    """Instructors' servers start in their home (their course directory, ~/parlab-course, must
    lie inside it for Formgrader); students' servers leave nbgrader's instructor tools out."""
    if spawner.user.admin:
        spawner.notebook_dir = "~"
    else:
        spawner.environment["JUPYTER_CONFIG_PATH"] = str(PREFIX / "etc" / "jupyter-student")


c.Spawner.pre_spawn_hook = by_role

# --- nbgrader's exchange: every account writes, nobody removes another's files --------------
if os.geteuid() == 0:
    EXCHANGE.mkdir(parents=True, exist_ok=True)
    EXCHANGE.chmod(0o1777)
