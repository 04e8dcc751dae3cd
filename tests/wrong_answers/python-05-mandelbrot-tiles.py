"""Wrong answers to python/05's exercises; see tests/test_exercises.py for the format."""

HEAD = """
W, H, TILE = *SCHEDULED, 50
tiles = [(x, y, min(TILE, W - x), min(TILE, H - y)) for y in range(0, H, TILE) for x in range(0, W, TILE)]


def queue_render(tile_fn, threads, t):
    image = np.zeros((H, W), dtype=np.uint32)
    todo = queue.Queue()
    for tile in tiles:
        todo.put(tile)
    traced = t.task(tile_fn)
"""

WORKER = """
    def worker():
        while True:
            try:
                x, y, w, h = todo.get_nowait()
            except queue.Empty:
                return
            image[y : y + h, x : x + w] = traced(x, y, w, h)
"""

START_ALL_JOIN_ALL = """
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return image
"""

NOT_AT_ONCE = "never had 3 tiles in progress at once"

PREDICT = """
def predict_speedup(threads, cpus_free, releases_gil):
    if not releases_gil:
        return 1.0
    return max(1.0, min(threads, cpus_free))


"""

MEASURE = """
with trace("1") as t1:
    queue_render(rust_tile, 1, t1)
with trace("k") as tk:
    queue_render(rust_tile, THREADS, tk)
"""

WRONG = [
    {
        "name": "one thread: the main thread renders every tile",
        "cells": {
            "05-queue-render": HEAD
            + """
    while not todo.empty():
        x, y, w, h = todo.get()
        image[y : y + h, x : x + w] = traced(x, y, w, h)
    return image
"""
        },
        "fails": {"05-queue-render-test": NOT_AT_ONCE},
    },
    {
        "name": "lock-serialised: the render inside a lock",
        "cells": {
            "05-queue-render": HEAD
            + """
    lock = threading.Lock()

    def worker():
        while True:
            try:
                x, y, w, h = todo.get_nowait()
            except queue.Empty:
                return
            with lock:
                image[y : y + h, x : x + w] = traced(x, y, w, h)
"""
            + START_ALL_JOIN_ALL
        },
        "fails": {"05-queue-render-test": NOT_AT_ONCE},
    },
    {
        "name": "start-then-join: each thread joined before the next starts",
        "cells": {
            "05-queue-render": HEAD
            + WORKER
            + """
    for _ in range(threads):
        w = threading.Thread(target=worker)
        w.start()
        w.join()
    return image
"""
        },
        "fails": {"05-queue-render-test": "each finished before the next started"},
    },
    {
        "name": "a static split in disguise: one queue per thread, filled in advance",
        "cells": {
            "05-queue-render": """
W, H, TILE = *SCHEDULED, 50
tiles = [(x, y, min(TILE, W - x), min(TILE, H - y)) for y in range(0, H, TILE) for x in range(0, W, TILE)]


def queue_render(tile_fn, threads, t):
    image = np.zeros((H, W), dtype=np.uint32)
    chunk = -(-len(tiles) // threads)
    queues = [queue.Queue() for _ in range(threads)]
    for i, tile in enumerate(tiles):
        queues[i // chunk].put(tile)
    traced = t.task(tile_fn)

    def worker(todo):
        while True:
            try:
                x, y, w, h = todo.get_nowait()
            except queue.Empty:
                return
            image[y : y + h, x : x + w] = traced(x, y, w, h)

    workers = [threading.Thread(target=worker, args=(q,)) for q in queues]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return image
"""
        },
        "fails": {"05-queue-render-test": "the static split of the same tiles"},
    },
    {
        "name": "check-then-act race: a shared index read, the tile rendered, then the index advanced",
        "cells": {
            "05-queue-render": """
W, H, TILE = *SCHEDULED, 50
tiles = [(x, y, min(TILE, W - x), min(TILE, H - y)) for y in range(0, H, TILE) for x in range(0, W, TILE)]


def queue_render(tile_fn, threads, t):
    image = np.zeros((H, W), dtype=np.uint32)
    traced = t.task(tile_fn)
    next_tile = [0]

    def worker():
        while next_tile[0] < len(tiles):
            i = next_tile[0]
            x, y, w, h = tiles[i]
            image[y : y + h, x : x + w] = traced(x, y, w, h)
            next_tile[0] = i + 1
"""
            + START_ALL_JOIN_ALL
        },
        "fails": {"05-queue-render-test": "every tile exactly once"},
    },
    {
        "name": "off by one: the last tile never queued",
        "cells": {
            "05-queue-render": """
W, H, TILE = *SCHEDULED, 50
tiles = [(x, y, min(TILE, W - x), min(TILE, H - y)) for y in range(0, H, TILE) for x in range(0, W, TILE)]


def queue_render(tile_fn, threads, t):
    image = np.zeros((H, W), dtype=np.uint32)
    todo = queue.Queue()
    for tile in tiles[:-1]:
        todo.put(tile)
    traced = t.task(tile_fn)
"""
            + WORKER
            + START_ALL_JOIN_ALL
        },
        "fails": {"05-queue-render-test": "every tile rendered once, in its place"},
    },
    {
        "name": "typed-in constants: measured and predicted written down, nothing measured",
        "cells": {
            "05-predict": PREDICT
            + """
for name in ("t1", "tk", "cpus_free"):
    globals().pop(name, None)  # as in a fresh notebook
predicted, measured = 1.0, 1.0
"""
        },
        "fails": {"05-predict-test": "store cpus_free, t1, tk"},
    },
    {
        "name": "typed-in measurement beside real traces",
        "cells": {
            "05-predict": PREDICT
            + MEASURE
            + """
cpus_free = 2.0
predicted = predict_speedup(THREADS, cpus_free, True)
measured = 1.9
"""
        },
        "fails": {"05-predict-test": "but your traces give"},
    },
    {
        "name": "the ratio upside down",
        "cells": {
            "05-predict": PREDICT
            + MEASURE
            + """
cpus_free = parlab.contention().available_parallelism_now
predicted = predict_speedup(THREADS, cpus_free, True)
measured = tk.elapsed_s / t1.elapsed_s
"""
        },
        "fails": {"05-predict-test": "but your traces give"},
    },
    {
        "name": "both runs on THREADS threads",
        "cells": {
            "05-predict": PREDICT
            + """
cpus_free = parlab.contention().available_parallelism_now
predicted = predict_speedup(THREADS, cpus_free, True)
with trace("1") as t1:
    queue_render(rust_tile, THREADS, t1)
with trace("k") as tk:
    queue_render(rust_tile, THREADS, tk)
measured = t1.elapsed_s / tk.elapsed_s
"""
        },
        "fails": {"05-predict-test": "a 1-thread run, but its tiles ran on"},
    },
    {
        "name": "predicted typed in",
        "cells": {
            "05-predict": PREDICT
            + MEASURE
            + """
cpus_free = parlab.contention().available_parallelism_now
predicted = float(THREADS) + 0.5
measured = t1.elapsed_s / tk.elapsed_s
"""
        },
        "fails": {"05-predict-test": "predicted: predict_speedup(THREADS, cpus_free, True)"},
    },
    {
        "name": "predict_speedup ignores the free CPUs",
        "cells": {
            "05-predict": """
def predict_speedup(threads, cpus_free, releases_gil):
    return float(threads) if releases_gil else 1.0
"""
            + MEASURE
            + """
cpus_free = parlab.contention().available_parallelism_now
predicted = predict_speedup(THREADS, cpus_free, True)
measured = t1.elapsed_s / tk.elapsed_s
"""
        },
        "fails": {"05-predict-test": "as many as are free"},
    },
    {
        "name": "off by one: fractions of a CPU rounded down",
        "cells": {
            "05-predict": """
def predict_speedup(threads, cpus_free, releases_gil):
    if not releases_gil:
        return 1.0
    return max(1.0, min(threads, int(cpus_free)))
"""
            + MEASURE
            + """
cpus_free = parlab.contention().available_parallelism_now
predicted = predict_speedup(THREADS, cpus_free, True)
measured = t1.elapsed_s / tk.elapsed_s
"""
        },
        "fails": {"05-predict-test": "fractions of a CPU count"},
    },
]
