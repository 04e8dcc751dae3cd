"""Wrong answers for notebooks/rust/05-hardware.ipynb (format: tests/test_exercises.py)."""


def effective(body: str) -> str:
    return f"""fn effective(affinity: usize, quota: Option<f64>) -> usize {{
{body}
}}"""


def amdahl(amdahl_body: str, fraction_body: str = "    (1.0 - 1.0 / speedup) / (1.0 - 1.0 / n)") -> str:
    return f"""fn amdahl(p: f64, n: f64) -> f64 {{
{amdahl_body}
}}

fn parallel_fraction(speedup: f64, n: f64) -> f64 {{
{fraction_body}
}}"""


RIGHT_AMDAHL = "    1.0 / ((1.0 - p) + p / n)"

WRONG = [
    {
        "name": "quota rounded down",
        "cells": {"rust05-effective": effective("    affinity.min(quota.map_or(usize::MAX, |q| q as usize)).max(1)")},
        "fails": {"rust05-effective-test": "rounded up"},
    },
    {
        "name": "quota rounded to nearest, no floor at 1",
        "cells": {"rust05-effective": effective("    affinity.min(quota.map_or(usize::MAX, |q| q.round() as usize))")},
        "fails": {"rust05-effective-test": "never 0"},
    },
    {
        "name": "quota ignored",
        "cells": {"rust05-effective": effective("    let _ = quota;\n    affinity")},
        "fails": {"rust05-effective-test": "a quota of 2 CPUs caps 8"},
    },
    {
        "name": "the larger of the two instead of the smaller",
        "cells": {"rust05-effective": effective("    affinity.max(quota.map_or(0, |q| q.ceil() as usize)).max(1)")},
        "fails": {"rust05-effective-test": "a quota of 2 CPUs caps 8"},
    },
    {
        "name": "typed-in: this machine's value",
        # the value of a 2-CPU machine, typed in (the test's own cases use 8 CPUs)
        "cells": {"rust05-effective": effective("    let _ = (affinity, quota);\n    2")},
        "fails": {"rust05-effective-test": "no quota: all 8 CPUs"},
    },
    {
        "name": "Amdahl with p × n instead of p / n",
        "cells": {"rust05-amdahl": amdahl("    1.0 / ((1.0 - p) + p * n)")},
        "fails": {"rust05-amdahl-test": "amdahl(1, 4) = 4"},
    },
    {
        "name": "parallel fraction as (s - 1) / (n - 1): right at the ends only",
        "cells": {"rust05-amdahl": amdahl(RIGHT_AMDAHL, "    (speedup - 1.0) / (n - 1.0)")},
        "fails": {"rust05-amdahl-test": "parallel_fraction inverts amdahl"},
    },
    {
        "name": "typed-in: the speedup is the CPUs",
        "cells": {"rust05-amdahl": amdahl("    let _ = p;\n    n", "    let _ = (speedup, n);\n    1.0")},
        "fails": {"rust05-amdahl-test": "all serial"},
    },
]
