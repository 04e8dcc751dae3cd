"""Wrong answers to python/09's exercises (format: tests/test_exercises.py)."""

DEPOSIT = """
deposit_lock = threading.Lock()


def deposit_safe(thread_id, account, times):
{body}
"""

MOVE = """
def move(thread_id, source, target, meet, log):
{body}
"""

WRONG = [
    {
        "name": "no lock: the lost-update race",
        "cells": {"deposit-safe": DEPOSIT.format(body="    for _ in range(times):\n        account.balance += 1")},
        "fails": {"deposit-safe-test": "the race that loses deposits"},
    },
    {
        "name": "check-then-act: waits until the lock looks free, then deposits without it",
        "cells": {
            "deposit-safe": DEPOSIT.format(
                body=(
                    "    for _ in range(times):\n"
                    "        while deposit_lock.locked():\n"
                    "            pass\n"
                    "        account.balance += 1"
                )
            )
        },
        "fails": {"deposit-safe-test": "Hold one lock from the read to the write"},
    },
    {
        "name": "check-then-act: deposits only when the lock is free",
        "cells": {
            "deposit-safe": DEPOSIT.format(
                body=(
                    "    for _ in range(times):\n"
                    "        if deposit_lock.acquire(blocking=False):\n"
                    "            try:\n"
                    "                account.balance += 1\n"
                    "            finally:\n"
                    "                deposit_lock.release()"
                )
            )
        },
        "fails": {"deposit-safe-test": "no deposit skipped"},
    },
    {
        "name": "a lock around only the read",
        "cells": {
            "deposit-safe": DEPOSIT.format(
                body=(
                    "    for _ in range(times):\n"
                    "        with deposit_lock:\n"
                    "            current = account.balance\n"
                    "        account.balance = current + 1"
                )
            )
        },
        "fails": {"deposit-safe-test": "read the balance while another had read it"},
    },
    {
        "name": "a lock per thread (nothing shared, nothing excluded)",
        "cells": {
            "deposit-safe": DEPOSIT.format(
                body=(
                    "    mine = threading.Lock()\n"
                    "    for _ in range(times):\n"
                    "        with mine:\n"
                    "            account.balance += 1"
                )
            )
        },
        "fails": {"deposit-safe-test": "the race that loses deposits"},
    },
    {
        "name": "all at once (+= times)",
        "cells": {"deposit-safe": DEPOSIT.format(body="    with deposit_lock:\n        account.balance += times")},
        "fails": {"deposit-safe-test": "one read-modify-write of the property per deposit"},
    },
    {
        "name": "off by one deposit",
        "cells": {
            "deposit-safe": DEPOSIT.format(
                body="    for _ in range(times - 1):\n        with deposit_lock:\n            account.balance += 1"
            )
        },
        "fails": {"deposit-safe-test": "no deposit skipped"},
    },
    {
        "name": "no order: the caller's",
        "cells": {"lock-order": MOVE.format(body="    return transfer(thread_id, source, target, meet, log)")},
        "fails": {"lock-order-test": "a deadlock. Take the two locks in one order"},
    },
    {
        "name": "check-then-act: takes first the lock that looks free",
        "cells": {
            "lock-order": MOVE.format(
                body=(
                    "    if locks[source].locked():\n"
                    "        source, target = target, source\n"
                    "    return transfer(thread_id, source, target, meet, log)"
                )
            )
        },
        "fails": {"lock-order-test": "a deadlock"},
    },
    {
        "name": "one order, but not the alphabetical one",
        "cells": {
            "lock-order": MOVE.format(
                body=(
                    "    first, second = sorted((source, target), reverse=True)\n"
                    "    return transfer(thread_id, first, second, meet, log)"
                )
            )
        },
        "fails": {"lock-order-test": "both transfers must take A, then B"},
    },
    {
        "name": "one global lock around every transfer (serialises everything)",
        "cells": {
            "lock-order": (
                "everything = threading.Lock()\n\n\n"
                + MOVE.format(
                    body=(
                        "    first, second = sorted((source, target))\n"
                        "    with everything:\n"
                        "        return transfer(thread_id, first, second, meet, log)"
                    )
                )
            )
        },
        "fails": {"lock-order-test": "a lock around the whole transfer makes every transfer wait"},
    },
]
