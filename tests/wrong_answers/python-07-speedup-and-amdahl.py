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
]
