"""Wrong answers to python/07's exercises (format: tests/test_exercises.py)."""

PREDICT = """
def predict_s(k, serial_s, parallel_s, cpus):
    {body}


predicted_2 = {p2}
predicted_here = {here}
"""
RIGHT = "return serial_s + parallel_s / min(k, cpus)"
COMPUTED_2 = "predict_s(1, serial_s, parallel_s, 2) / predict_s(2, serial_s, parallel_s, 2)"
COMPUTED_HERE = "predict_s(1, serial_s, parallel_s, K) / predict_s(2, serial_s, parallel_s, K)"


def predict(body=RIGHT, p2=COMPUTED_2, here=COMPUTED_HERE):
    return PREDICT.format(body=body, p2=p2, here=here)


GROW = """
def grow(size, k):
    {serial}
    parlab.render({width}, {height}, strategy={strategy!r}{threads}, kernel=KERNEL)
"""
SERIAL_PHASE = 'parlab.render(*SERIAL, strategy="sequential", kernel=KERNEL)'


def grow(
    serial=SERIAL_PHASE, width="PARALLEL[0] * size", height="PARALLEL[1]", strategy="dynamic", threads=", threads=k"
):
    return GROW.format(serial=serial, width=width, height=height, strategy=strategy, threads=threads)


WORK_SPAN = """
def work_and_span(work, edges):
    {body}


work_and_span([1, 3, 5, 1], [(0, 1), (0, 2), (1, 3), (2, 3)])
"""
GREEDY = """heavy = {}
    for a, b in edges:
        heavy.setdefault(a, []).append(b)
    waited = {b for _, b in edges}
    node = max((i for i in range(len(work)) if i not in waited), key=lambda i: work[i], default=None)
    if node is None:
        return sum(work), 0
    span = work[node]
    while heavy.get(node):
        node = max(heavy[node], key=lambda b: work[b])
        span += work[node]
    return sum(work), span"""
DEPTH = """depth = [1] * len(work)
    for a, b in sorted(edges):
        depth[b] = max(depth[b], depth[a] + 1)
    return sum(work), max(depth, default=0)"""
NO_OWN_WORK = """heaviest = [0] * len(work)
    for a, b in sorted(edges):
        heaviest[b] = max(heaviest[b], heaviest[a] + work[b])
    return sum(work), max(heaviest, default=0)"""


def work_span(body):
    return WORK_SPAN.format(body=body)


WRONG = [
    {
        "name": "typed-in constants",
        "cells": {"07-predict": predict(p2="1.6", here="1.6")},
        "fails": {"07-predict-test": "predicted_2 = 1.6: predict it with predict_s"},
    },
    {
        "name": "the measured speedup instead of a prediction",
        "cells": {"07-predict": predict(p2="float(S[2])", here="float(S[2])")},
        "fails": {"07-predict-test": "not a number typed in or the measured speedup"},
    },
    {
        "name": "ignores the CPUs (more threads always faster)",
        "cells": {"07-predict": predict(body="return serial_s + parallel_s / k")},
        "fails": {"07-predict-test": "more threads than CPUs take turns"},
    },
    {
        "name": "divides the serial part too",
        "cells": {"07-predict": predict(body="return (serial_s + parallel_s) / min(k, cpus)")},
        "fails": {"07-predict-test": "only the parallel part is halved"},
    },
    {
        "name": "off by one thread",
        "cells": {"07-predict": predict(body="return serial_s + parallel_s / min(k + 1, cpus)")},
        "fails": {"07-predict-test": "one thread: the serial part, then the whole parallel part"},
    },
    {
        "name": "predicted on the wrong CPUs",
        "cells": {"07-predict": predict(p2=COMPUTED_HERE.replace("K)", "1)"))},
        "fails": {"07-predict-test": "predicted_2 = 1.0"},
    },
    {
        "name": "taller, not wider",
        "cells": {"07-grow": grow(width="PARALLEL[0]", height="PARALLEL[1] * size")},
        "fails": {"07-grow-test": "3 times wider than PARALLEL"},
    },
    {
        "name": "off by one in the size",
        "cells": {"07-grow": grow(width="PARALLEL[0] * (size + 1)")},
        "fails": {"07-grow-test": "3 times wider than PARALLEL"},
    },
    {
        "name": "one thread",
        "cells": {"07-grow": grow(threads=", threads=1")},
        "fails": {"07-grow-test": "on 2 threads, got 1"},
    },
    {
        "name": "serial phase skipped",
        "cells": {"07-grow": grow(serial="pass")},
        "fails": {"07-grow-test": "grow made 1 render call(s)"},
    },
    {
        "name": "serial phase on k threads",
        "cells": {"07-grow": grow(serial='parlab.render(*SERIAL, strategy="dynamic", threads=k, kernel=KERNEL)')},
        "fails": {"07-grow-test": "the SERIAL image on one thread"},
    },
    {
        "name": "sequential strategy",
        "cells": {"07-grow": grow(strategy="sequential", threads="")},
        "fails": {"07-grow-test": "with the dynamic strategy, got 'sequential'"},
    },
    {
        "name": "span as the largest task (the waiting ignored)",
        "cells": {"07-work-span": work_span("return sum(work), max(work, default=0)")},
        "fails": {"07-work-span-test": "each task waits for the one before"},
    },
    {
        "name": "span as the work (as if nothing ran at the same time)",
        "cells": {"07-work-span": work_span("return sum(work), sum(work)")},
        "fails": {"07-work-span-test": "with nothing to wait for, the span is the largest task"},
    },
    {
        "name": "greedy: follows the heaviest next task",
        "cells": {"07-work-span": work_span(GREEDY)},
        "fails": {"07-work-span-test": "the span is the heaviest path in total work"},
    },
    {
        "name": "counts tasks on the path, not their work",
        "cells": {"07-work-span": work_span(DEPTH)},
        "fails": {"07-work-span-test": "span of a chain 2 → 3 → 4"},
    },
    {
        "name": "a path's first task left out",
        "cells": {"07-work-span": work_span(NO_OWN_WORK)},
        "fails": {"07-work-span-test": "span of a chain 2 → 3 → 4"},
    },
    {
        "name": "typed-in constants (the example's answer)",
        "cells": {"07-work-span": work_span("return 10, 7")},
        "fails": {"07-work-span-test": "the work is the sum of every task's work"},
    },
]
