"""python/11 runs in the free-threaded kernel, which `make setup` builds where it can: where it
could not (make said why), the notebook is skipped rather than failed."""

from jupyter_client.kernelspec import KernelSpecManager

FREE_THREADED = "python3-free-threaded"

collect_ignore_glob = [] if FREE_THREADED in KernelSpecManager().find_kernel_specs() else ["11-*.ipynb"]
