"""Wrong answers to python/10's exercises (format: tests/test_exercises.py)."""

LOCAL = """
def map_tiles(client, width, height, tile, max_iter):
    image = np.zeros((height, width), dtype=np.uint32)
    for x, y, w, h in tile_grid(width, height, tile):
        image[y : y + h, x : x + w] = parlab.render_tile(x, y, w, h, width=width, height=height, max_iter=max_iter)
    return image
"""

ONE_BIG_TASK = """
def map_tiles(client, width, height, tile, max_iter):
    future = client.submit(parlab.render_tile, 0, 0, width, height, width=width, height=height, max_iter=max_iter)
    return client.gather(future)
"""

SWAPPED = """
def map_tiles(client, width, height, tile, max_iter):
    grid = tile_grid(width, height, tile)
    xs, ys, ws, hs = zip(*grid, strict=True)
    futures = client.map(parlab.render_tile, xs, ys, ws, hs, width=width, height=height, max_iter=max_iter)
    image = np.zeros((height, width), dtype=np.uint32)
    for (x, y, w, h), counts in zip(reversed(grid), client.gather(futures), strict=True):
        image[y : y + h, x : x + w] = counts
    return image
"""

WRONG = [
    {
        "name": "renders here, without the cluster",
        "cells": {"cluster-map": LOCAL},
        "fails": {"cluster-map-tests": "0 render_tile task(s) ran on the cluster for 48 tiles"},
    },
    {
        "name": "one big task",
        "cells": {"cluster-map": ONE_BIG_TASK},
        "fails": {"cluster-map-tests": "1 render_tile task(s) ran on the cluster"},
    },
    {
        "name": "tiles pasted at the wrong places",
        "cells": {"cluster-map": SWAPPED},
        "fails": {"cluster-map-tests": "paste each tile at its own (x, y)"},
    },
    {
        "name": "tiles too small",
        "cells": {"cluster-tile": "my_tile = 40"},
        "fails": {"cluster-tile-tests": "tiles of 40×40 = 1,600 pixels"},
    },
    {
        "name": "too few tiles",
        "cells": {"cluster-tile": "my_tile = 400"},
        "fails": {"cluster-tile-tests": "into 4 tiles: too few"},
    },
    {
        "name": "off by one: just too few tiles",
        "cells": {"cluster-tile": "my_tile = 300"},
        "fails": {"cluster-tile-tests": "into 6 tiles: too few"},
    },
    {
        "name": "not an integer",
        "cells": {"cluster-tile": 'my_tile = "200"'},
        "fails": {"cluster-tile-tests": "a tile edge in pixels (1–800), got '200'"},
    },
]
