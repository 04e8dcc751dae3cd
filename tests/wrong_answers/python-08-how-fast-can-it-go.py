"""Wrong answers to python/08's exercises (format: tests/test_exercises.py)."""

GIPS = """
def gips_per_core(run):
    iterations = sum(record.iterations for record in run.records)
    return {formula}
"""

APPLY = """
def threaded_apply(fn, array, threads, t):
    slices = np.array_split(array, threads)
    results = [None] * threads
    traced = t.task(fn)
{body}
    return np.concatenate(results)


x = np.linspace(0, 10, 3_000_000)
with trace("threads") as t:
    y = threaded_apply(np.sqrt, x, 3, t)
"""

START_THEN_JOIN = """
    for i in range(threads):
        worker = threading.Thread(target=lambda i=i: results.__setitem__(i, traced(slices[i])))
        worker.start()
        worker.join()
"""

ONE_THREAD = """
    for i in range(threads):
        results[i] = traced(slices[i])
"""

LOCKED = """
    lock = threading.Lock()

    def work(i):
        with lock:
            results[i] = traced(slices[i])

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
"""

TOO_FEW_WORKERS = """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, threads - 1)) as pool:
        results[:] = pool.map(traced, slices)
"""

UNTRACED = """
    def work(i):
        results[i] = fn(slices[i])

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
"""

WRONG = [
    {
        "name": "forgets the threads (not per core)",
        "cells": {"08-gips": GIPS.format(formula="iterations / (run.elapsed_us / 1e6) / 1e9")},
        "fails": {"08-gips-test": "divide by the run's threads"},
    },
    {
        "name": "milliseconds taken for seconds",
        "cells": {"08-gips": GIPS.format(formula="iterations / (run.elapsed_us / 1e3) / run.threads / 1e9")},
        "fails": {"08-gips-test": "elapsed_us is in microseconds"},
    },
    {
        "name": "not in billions",
        "cells": {"08-gips": GIPS.format(formula="iterations / (run.elapsed_us / 1e6) / run.threads")},
        "fails": {"08-gips-test": "in billions"},
    },
    {
        "name": "the threads' busy time instead of the elapsed time",
        "cells": {
            "08-gips": GIPS.format(
                formula="iterations / (sum(r.duration_us for r in run.records) / 1e6) / run.threads / 1e9"
            )
        },
        "fails": {"08-gips-test": "seconds of elapsed_us"},
    },
    {
        "name": "start-then-join",
        "cells": {"08-threaded-apply": APPLY.format(body=START_THEN_JOIN)},
        "fails": {"08-threaded-apply-test": "each finished before the next started"},
    },
    {
        "name": "one thread",
        "cells": {"08-threaded-apply": APPLY.format(body=ONE_THREAD)},
        "fails": {"08-threaded-apply-test": "never had 3 slices in progress at once: at most 1 slice"},
    },
    {
        "name": "lock-serialised",
        "cells": {"08-threaded-apply": APPLY.format(body=LOCKED)},
        "fails": {"08-threaded-apply-test": "do not hold a lock around the work"},
    },
    {
        "name": "one worker too few (off by one)",
        "cells": {"08-threaded-apply": APPLY.format(body=TOO_FEW_WORKERS)},
        "fails": {"08-threaded-apply-test": "at most 2 slices at a time"},
    },
    {
        "name": "not traced",
        "cells": {"08-threaded-apply": APPLY.format(body=UNTRACED)},
        "fails": {"08-threaded-apply-test": "the trace has 0 calls for 3 slices"},
    },
]
