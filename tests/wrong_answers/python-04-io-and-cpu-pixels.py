"""Wrong answers to python/04's exercises; see tests/test_exercises.py for the format."""

QUEUE_HEAD = """
def render_with_queue(draw_tile, threads):
    image = np.zeros((H, W), dtype=np.uint32)
    todo = queue.Queue()
    for tile in tiles:
        todo.put(tile)
"""

NOT_AT_ONCE = "never had 3 tiles in progress at once"

WRONG = [
    {
        "name": "one thread: the main thread draws every tile",
        "cells": {
            "ex1-queue": QUEUE_HEAD
            + """
    while not todo.empty():
        draw_tile(todo.get(), image)
    return image
"""
        },
        "fails": {"ex1-queue-pixels": NOT_AT_ONCE, "ex1-queue-threads": NOT_AT_ONCE},
    },
    {
        "name": "start-then-join: each thread joined before the next starts",
        "cells": {
            "ex1-queue": QUEUE_HEAD
            + """
    def worker():
        while True:
            try:
                tile = todo.get_nowait()
            except queue.Empty:
                return
            draw_tile(tile, image)

    for _ in range(threads):
        w = threading.Thread(target=worker)
        w.start()
        w.join()
    return image
"""
        },
        "fails": {"ex1-queue-pixels": NOT_AT_ONCE, "ex1-queue-threads": NOT_AT_ONCE},
    },
    {
        "name": "lock-serialised: the draw inside a lock",
        "cells": {
            "ex1-queue": QUEUE_HEAD
            + """
    lock = threading.Lock()

    def worker():
        while True:
            try:
                tile = todo.get_nowait()
            except queue.Empty:
                return
            with lock:
                draw_tile(tile, image)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return image
"""
        },
        "fails": {"ex1-queue-pixels": NOT_AT_ONCE, "ex1-queue-threads": NOT_AT_ONCE},
    },
    {
        "name": "off by one: threads - 1 workers",
        "cells": {
            "ex1-queue": QUEUE_HEAD
            + """
    def worker():
        while True:
            try:
                tile = todo.get_nowait()
            except queue.Empty:
                return
            draw_tile(tile, image)

    workers = [threading.Thread(target=worker) for _ in range(threads - 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return image
"""
        },
        "fails": {"ex1-queue-pixels": "at most 2 tiles at a time", "ex1-queue-threads": "at most 2 tiles"},
    },
    {
        "name": "check-then-act race: a shared index read, the tile drawn, then the index advanced",
        "cells": {
            "ex1-queue": """
def render_with_queue(draw_tile, threads):
    image = np.zeros((H, W), dtype=np.uint32)
    next_tile = [0]

    def worker():
        while next_tile[0] < len(tiles):
            i = next_tile[0]
            draw_tile(tiles[i], image)
            next_tile[0] = i + 1

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return image
"""
        },
        "fails": {"ex1-queue-threads": "draw every tile exactly once"},
    },
    {
        "name": "one thread: a pool of 1",
        "cells": {
            "ex2-pool": """
with trace("exercise 2") as t_ex2:
    load_, render_ = t_ex2.task(load), t_ex2.task(render)
    with ThreadPoolExecutor(max_workers=1) as pool:
        list(pool.map(lambda p: render_(load_(p)), range(PIXELS)))
"""
        },
        "fails": {"ex2-pool-test": "ran on 1 thread(s), expected the pool's 4"},
    },
    {
        "name": "start-then-join: each result awaited before the next pixel is submitted",
        "cells": {
            "ex2-pool": """
with trace("exercise 2") as t_ex2:
    load_, render_ = t_ex2.task(load), t_ex2.task(render)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for p in range(PIXELS):
            pool.submit(lambda p=p: render_(load_(p))).result()
"""
        },
        "fails": {"ex2-pool-test": "before waiting for any result"},
    },
    {
        "name": "lock-serialised: each pixel's load and render inside one lock",
        "cells": {
            "ex2-pool": """
with trace("exercise 2") as t_ex2:
    load_, render_ = t_ex2.task(load), t_ex2.task(render)
    lock = threading.Lock()

    def one_pixel(p):
        with lock:
            return render_(load_(p))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one_pixel, range(PIXELS)))
"""
        },
        "fails": {"ex2-pool-test": "the loads never overlapped"},
    },
    {
        "name": "all loads first, then all renders",
        "cells": {
            "ex2-pool": """
with trace("exercise 2") as t_ex2:
    load_, render_ = t_ex2.task(load), t_ex2.task(render)
    with ThreadPoolExecutor(max_workers=4) as pool:
        loaded = list(pool.map(load_, range(PIXELS)))
        list(pool.map(render_, loaded))
"""
        },
        "fails": {"ex2-pool-test": "render each pixel right after its own load"},
    },
    {
        "name": "off by one: the last pixel forgotten",
        "cells": {
            "ex2-pool": """
with trace("exercise 2") as t_ex2:
    load_, render_ = t_ex2.task(load), t_ex2.task(render)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda p: render_(load_(p)), range(PIXELS - 1)))
"""
        },
        "fails": {"ex2-pool-test": "load and render each of the 16 pixels once"},
    },
]
