"""Wrong answers to python/11's exercises (format: tests/test_exercises.py)."""

BOOK = """
import threading

seats_lock = threading.Lock()


def book_safe(seats, seat, me):
{body}
"""

TOTAL = """
def total_in_threads(work, chunks, threads):
{body}
"""

THREADS_SHARING_TOTAL = """    total = 0
    lock = threading.Lock()

    def worker(i):
        nonlocal total
        for chunk in chunks[i::threads]:
{add}

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return total"""

WRONG = [
    {
        "name": "check-then-act: no lock",
        "cells": {
            "book-safe": BOOK.format(
                body="    if seat in seats:\n        return False\n    seats[seat] = me\n    return True"
            )
        },
        "fails": {"book-safe-test": "check-then-act"},
    },
    {
        "name": "a lock around the check only",
        "cells": {
            "book-safe": BOOK.format(
                body=(
                    "    with seats_lock:\n"
                    "        free = seat not in seats\n"
                    "    if free:\n"
                    "        seats[seat] = me\n"
                    "    return free"
                )
            )
        },
        "fails": {"book-safe-test": "Hold one lock from the check to the booking"},
    },
    {
        "name": "checks without the lock, books with it",
        "cells": {
            "book-safe": BOOK.format(
                body=(
                    "    if seat in seats:\n"
                    "        return False\n"
                    "    with seats_lock:\n"
                    "        seats[seat] = me\n"
                    "    return True"
                )
            )
        },
        "fails": {"book-safe-test": "check-then-act"},
    },
    {
        "name": "never books",
        "cells": {"book-safe": BOOK.format(body="    return False")},
        "fails": {"book-safe-test": "nobody booked"},
    },
    {
        "name": "sequential: a loop",
        "cells": {"per-thread": TOTAL.format(body="    return sum(work(chunk) for chunk in chunks)")},
        "fails": {"per-thread-test": "never had 2 chunks in progress"},
    },
    {
        "name": "start-then-join in one loop",
        "cells": {
            "per-thread": TOTAL.format(
                body=(
                    "    results = []\n"
                    "    for chunk in chunks:\n"
                    "        t = threading.Thread(target=lambda c=chunk: results.append(work(c)))\n"
                    "        t.start()\n"
                    "        t.join()\n"
                    "    return sum(results)"
                )
            )
        },
        "fails": {"per-thread-test": "never had 2 chunks in progress"},
    },
    {
        "name": "threads add into one shared total (the += race)",
        "cells": {
            "per-thread": TOTAL.format(body=THREADS_SHARING_TOTAL.format(add="            total += work(chunk)"))
        },
        "fails": {"per-thread-test": "added into one shared total at the same time"},
    },
    {
        "name": "lock-serialised: the work inside the lock",
        "cells": {
            "per-thread": TOTAL.format(
                body=THREADS_SHARING_TOTAL.format(add="            with lock:\n                total += work(chunk)")
            )
        },
        "fails": {"per-thread-test": "never had 2 chunks in progress"},
    },
    {
        "name": "skips chunks",
        "cells": {
            "per-thread": TOTAL.format(
                body=THREADS_SHARING_TOTAL.format(add="            pass").replace(
                    "chunks[i::threads]", "chunks[i : i + 1]"
                )
            )
        },
        "fails": {"per-thread-test": "once per chunk"},
    },
]
