"""What a Rust (evcxr) cell's output says about it: did it panic, and with which message.

evcxr reports a compile error as a Jupyter error, but a panic at run time (a failed `assert!`,
`unwrap`, `todo!()`) only as text on stderr, "thread '…' panicked at src/lib.rs:3:1:\\nmessage",
while the cell's reply says "ok". Three readers need the same answer: the notebooks' nbval hook
(a panic fails the cell), the exercise harness (a wrong answer must panic in its test cell) and
nbgrader's feedback (the panic's message, not its backtrace). This module is that one answer.

evcxr forwards the panic's stderr on its own thread, so the text may trail the cell's reply.
The Rust kernel's prelude (`scripts/evcxr-prelude.rs`, run by evcxr when a kernel starts)
installs a panic hook that prints the message without a backtrace and waits a moment before
the cell goes on, so that the text reaches the kernel's output before the reply; `settle` is the
harness's second line of defence.
"""

from __future__ import annotations

import re

__all__ = ["PANIC", "panic_message", "without_backtrace"]

#: The words every Rust panic message carries ("thread 'main' panicked at", "panicked at").
PANIC = "panicked at "
_FRAME = re.compile(r"\s+\d+: ")


def without_backtrace(text: str) -> str:
    """A Rust panic's text without its backtrace (from `stack backtrace:` or the first numbered
    frame on) and without the `note: run with RUST_BACKTRACE` hint."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("stack backtrace:") or _FRAME.match(line):
            break
        if not line.startswith("note: "):
            lines.append(line)
    return "".join(lines)


def panic_message(stderr: str, limit: int = 2000) -> str | None:
    """The panic in a cell's stderr, from "panicked at" on, without its backtrace; None when the
    cell did not panic."""
    if PANIC not in stderr:
        return None
    start = stderr.index(PANIC)
    line_start = stderr.rfind("\n", 0, start) + 1
    return without_backtrace(stderr[line_start:]).strip()[:limit]
