"""Wrong answers to python/06's exercises; see tests/test_exercises.py for the format."""

TOO_MUCH = "take the tiles from the most to the least costly"

STRETCH = """
def predicted_stretch(threads, cpus):
    return max(1.0, threads / cpus)


"""

WRONG = [
    {
        "name": "round-robin: tile i to thread i mod threads",
        "cells": {
            "06-balanced-split": """
def balanced_split(costs, threads):
    return [list(range(k, len(costs), threads)) for k in range(threads)]
"""
        },
        "fails": {"06-balanced-split-test": TOO_MUCH},
    },
    {
        "name": "static chunks: contiguous runs of tiles",
        "cells": {
            "06-balanced-split": """
def balanced_split(costs, threads):
    chunk = -(-len(costs) // threads)
    return [list(range(k * chunk, min((k + 1) * chunk, len(costs)))) for k in range(threads)]
"""
        },
        "fails": {"06-balanced-split-test": "beat the static split"},
    },
    {
        "name": "greedy without sorting: each tile, as it comes, to the least loaded thread",
        "cells": {
            "06-balanced-split": """
def balanced_split(costs, threads):
    shares = [[] for _ in range(threads)]
    loads = [0] * threads
    for index in range(len(costs)):
        lightest = loads.index(min(loads))
        shares[lightest].append(index)
        loads[lightest] += costs[index]
    return shares
"""
        },
        "fails": {"06-balanced-split-test": TOO_MUCH},
    },
    {
        "name": "greedy from the cheapest tile up",
        "cells": {
            "06-balanced-split": """
def balanced_split(costs, threads):
    shares = [[] for _ in range(threads)]
    loads = [0] * threads
    for index in sorted(range(len(costs)), key=lambda i: costs[i]):
        lightest = loads.index(min(loads))
        shares[lightest].append(index)
        loads[lightest] += costs[index]
    return shares
"""
        },
        "fails": {"06-balanced-split-test": TOO_MUCH},
    },
    {
        "name": "off by one: the cheapest tile left out",
        "cells": {
            "06-balanced-split": """
def balanced_split(costs, threads):
    shares = [[] for _ in range(threads)]
    loads = [0] * threads
    for index in sorted(range(len(costs)), key=lambda i: costs[i], reverse=True)[:-1]:
        lightest = loads.index(min(loads))
        shares[lightest].append(index)
        loads[lightest] += costs[index]
    return shares
"""
        },
        "fails": {"06-balanced-split-test": "every tile exactly once"},
    },
    {
        "name": "the costs returned instead of the tile indices",
        "cells": {
            "06-balanced-split": """
def balanced_split(costs, threads):
    shares = [[] for _ in range(threads)]
    loads = [0] * threads
    for cost in sorted(costs, reverse=True):
        lightest = loads.index(min(loads))
        shares[lightest].append(cost)
        loads[lightest] += cost
    return shares
"""
        },
        "fails": {"06-balanced-split-test": "every tile exactly once"},
    },
    {
        "name": "typed-in constant: measured_stretch written down",
        "cells": {
            "06-stretch": STRETCH
            + """
four = parlab.render(strategy="dynamic", threads=4, kernel="scalar")
measured_stretch = 2.0
"""
        },
        "fails": {"06-stretch-test": "but four and fit give"},
    },
    {
        "name": "typed-in constant, nothing rendered",
        "cells": {
            "06-stretch": STRETCH
            + """
globals().pop("four", None)  # as in a fresh notebook
measured_stretch = predicted_stretch(4, K)
"""
        },
        "fails": {"06-stretch-test": "store four"},
    },
    {
        "name": "the ratio upside down",
        "cells": {
            "06-stretch": STRETCH
            + """
four = parlab.render(strategy="dynamic", threads=4, kernel="scalar")
measured_stretch = us_per_million_iterations(fit) / us_per_million_iterations(four)
"""
        },
        "fails": {"06-stretch-test": "but four and fit give"},
    },
    {
        "name": "the 4-thread run with the static schedule",
        "cells": {
            "06-stretch": STRETCH
            + """
four = parlab.render(strategy="static", threads=4, kernel="scalar")
measured_stretch = us_per_million_iterations(four) / us_per_million_iterations(fit)
"""
        },
        "fails": {"06-stretch-test": "four: a dynamic render on 4 threads"},
    },
    {
        "name": "no floor at 1.0: fewer threads than CPUs shrink",
        "cells": {
            "06-stretch": """
def predicted_stretch(threads, cpus):
    return threads / cpus


four = parlab.render(strategy="dynamic", threads=4, kernel="scalar")
measured_stretch = us_per_million_iterations(four) / us_per_million_iterations(fit)
"""
        },
        "fails": {"06-stretch-test": "enough CPUs: no stretch"},
    },
    {
        "name": "off by one: integer division",
        "cells": {
            "06-stretch": """
def predicted_stretch(threads, cpus):
    return float(max(1, threads // cpus))


four = parlab.render(strategy="dynamic", threads=4, kernel="scalar")
measured_stretch = us_per_million_iterations(four) / us_per_million_iterations(fit)
"""
        },
        "fails": {"06-stretch-test": "more threads than CPUs: threads / cpus"},
    },
]
