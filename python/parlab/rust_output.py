"""What a Rust (evcxr) cell's output says about it: did it panic, and with which message.

evcxr reports a compile error as a Jupyter error, but a panic at run time (a failed `assert!`,
`unwrap`, `todo!()`) only as text on stderr, "thread '…' panicked at src/lib.rs:3:1:\\nmessage",
while the cell's reply says "ok". Three readers need the same answer: the notebooks' nbval hook
(a panic fails the cell), the exercise harness (a wrong answer must panic in its test cell) and
nbgrader (a panicking test cell earns no points; its feedback shows the panic's message, not
its backtrace). This module is that one answer.

evcxr forwards stderr on a thread of its own, so that text may trail the cell's reply, land on
the next cell or be lost. The Rust kernel's prelude (`scripts/evcxr-prelude.rs`, which evcxr
runs when a kernel starts) reports every panic as part of the cell's *result* instead, which
evcxr sends before its reply: one `application/vnd.parlab.panic-N+json` entry per panic, plus
HTML and plain text for people. `cell_panics` reads those; on a kernel without the prelude it
falls back to the panic text on stderr.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "PANIC",
    "PANIC_MIME",
    "cell_panics",
    "mark_panic",
    "panic_message",
    "panic_text",
    "without_backtrace",
]

#: The words every Rust panic message carries ("thread 'main' panicked at", "panicked at").
PANIC = "panicked at "
#: The prefix of the result keys under which the kernel's prelude reports each panic.
PANIC_MIME = "application/vnd.parlab.panic-"
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


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def cell_panics(outputs: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The panics a Rust cell's outputs report, in order: dicts with "thread", "location" and
    "message". The prelude's result entries when there are any, else the panic on stderr (a
    kernel started without the prelude); [] when the cell did not panic."""
    outputs = list(outputs)
    found = []
    for output in outputs:
        if output.get("output_type") not in ("execute_result", "display_data"):
            continue
        data = output.get("data", {})
        keys = sorted((k for k in data if k.startswith(PANIC_MIME)), key=lambda k: int(re.sub(r"\D", "", k) or 0))
        for key in keys:
            value = data[key]
            if isinstance(value, (str, list)):
                try:
                    value = json.loads(_text(value))
                except ValueError:
                    value = {"message": _text(value)}
            if isinstance(value, Mapping):
                found.append({f: str(value.get(f, "")) for f in ("thread", "location", "message")})
    if found:
        return found
    stderr = "".join(_text(o.get("text", "")) for o in outputs if o.get("name") == "stderr")
    message = panic_message(stderr)
    if message is None:
        return []
    head, _, rest = message.partition("\n")
    location = head.partition(PANIC)[2].rstrip(":")
    thread = head.partition("'")[2].partition("'")[0]
    return [{"thread": thread, "location": location, "message": rest.strip() or head}]


def panic_text(outputs: Iterable[Mapping[str, Any]], limit: int = 2000) -> str | None:
    """The panics of a Rust cell as a person reads them ("thread 'main' panicked at …:" and the
    message, one after the other), without backtraces; None when the cell did not panic."""
    panics = cell_panics(outputs)
    if not panics:
        return None
    text = "\n".join(f"thread '{p['thread']}' panicked at {p['location']}:\n{p['message']}" for p in panics)
    return text[:limit]


def mark_panic(cell: Any) -> bool:
    """Adds an error output to an executed Rust cell that panicked, before the prelude's result
    (nbgrader gives a cell no points when an error comes before any result; evcxr's own reply
    says "ok"). True when the cell panicked."""
    import nbformat

    outputs = cell.get("outputs", [])
    text = panic_text(outputs)
    if text is None:
        return False
    if not any(o.get("output_type") == "error" for o in outputs):
        at = next((i for i, o in enumerate(outputs) if o.get("output_type") == "execute_result"), len(outputs))
        outputs.insert(at, nbformat.v4.new_output("error", ename="panic", evalue=text, traceback=[text]))
    return True
