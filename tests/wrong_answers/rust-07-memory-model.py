"""Wrong answers for notebooks/rust/07-memory-model.ipynb (format: tests/test_exercises.py).

Each fails by a panic in its test cell: graded::check_lock / check_channel run loom models
and panic with the failure in plain words."""

LOCK = """struct SpinLock {{
    locked: AtomicBool,
}}

impl RawLock for SpinLock {{
    fn new() -> Self {{
        SpinLock {{ locked: AtomicBool::new(false) }}
    }}

    fn lock(&self) {{
{lock}
    }}

    fn unlock(&self) {{
{unlock}
    }}
}}"""

CAS_LOOP = """        while self.locked.compare_exchange(false, true, {order}, Relaxed).is_err() {{
            spin_loop();
        }}"""

CHANNEL = """struct OneShot<T> {{
    message: UnsafeCell<Option<T>>,
    ready: AtomicBool,
}}

unsafe impl<T: Send> Sync for OneShot<T> {{}}

impl<T: Send + 'static> Channel<T> for OneShot<T> {{
    fn new() -> Self {{
        OneShot {{ message: UnsafeCell::new(None), ready: AtomicBool::new(false) }}
    }}

    fn send(&self, message: T) {{
{send}
    }}

    fn try_receive(&self) -> Option<T> {{
{receive}
    }}
}}"""

WRITE = "        self.message.with_mut(|slot| unsafe { *slot = Some(message) });"
TAKE = "        self.message.with_mut(|slot| unsafe { (*slot).take() })"

WRONG = [
    {
        "name": "Relaxed everywhere",
        "cells": {
            "spin-lock": LOCK.format(
                lock=CAS_LOOP.format(order="Relaxed"), unlock="        self.locked.store(false, Relaxed);"
            )
        },
        "fails": {"spin-lock-test": "data race on UnsafeCell"},
    },
    {
        "name": "unlock with a Relaxed store",
        "cells": {
            "spin-lock": LOCK.format(
                lock=CAS_LOOP.format(order="Acquire"), unlock="        self.locked.store(false, Relaxed);"
            )
        },
        "fails": {"spin-lock-test": "data race on UnsafeCell"},
    },
    {
        "name": "swap without Acquire",
        "cells": {
            "spin-lock": LOCK.format(
                lock="        while self.locked.swap(true, Relaxed) { spin_loop(); }",
                unlock="        self.locked.store(false, Release);",
            )
        },
        "fails": {"spin-lock-test": "data race on UnsafeCell"},
    },
    {
        "name": "no loop in lock: one compare_exchange, its failure ignored",
        "cells": {
            "spin-lock": LOCK.format(
                lock="        let _ = self.locked.compare_exchange(false, true, Acquire, Relaxed);",
                unlock="        self.locked.store(false, Release);",
            )
        },
        "fails": {"spin-lock-test": "data race on UnsafeCell"},
    },
    {
        "name": "channel with a Relaxed flag",
        "cells": {
            "one-shot": CHANNEL.format(
                send=WRITE + "\n        self.ready.store(true, Relaxed);",
                receive="        if !self.ready.load(Relaxed) {\n            return None;\n        }\n" + TAKE,
            )
        },
        "fails": {"one-shot-test": "data race on UnsafeCell"},
    },
    {
        "name": "channel that reads before the flag",
        "cells": {
            "one-shot": CHANNEL.format(
                send=WRITE + "\n        self.ready.store(true, Release);",
                receive="        let message = self.message.with_mut(|slot| unsafe { (*slot).take() });\n"
                "        if self.ready.load(Acquire) { message } else { None }",
            )
        },
        "fails": {"one-shot-test": "data race on UnsafeCell"},
    },
    {
        "name": "channel that raises the flag before writing the message",
        "cells": {
            "one-shot": CHANNEL.format(
                send="        self.ready.store(true, Release);\n" + WRITE,
                receive="        if !self.ready.load(Acquire) {\n            return None;\n        }\n" + TAKE,
            )
        },
        "fails": {"one-shot-test": "data race on UnsafeCell"},
    },
]
