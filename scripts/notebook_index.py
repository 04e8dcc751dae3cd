"""Writes the README's table of notebooks from the notebooks themselves: each notebook's
title (its first heading) and abstract (the "*You will see: …*" line under it).

    python scripts/notebook_index.py           # rewrite the table in README.md
    python scripts/notebook_index.py --check   # exit 1 if the table is out of date
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"


def describe(path: Path) -> tuple[str, str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "".join(cells[0]["source"]) if cells and cells[0]["cell_type"] == "markdown" else ""
    title = re.search(r"^#\s+(.+)$", text, re.M)
    abstract = re.search(r"^\*You will see: (.+)\*\s*$", text, re.M)
    if not title or not abstract:
        raise SystemExit(f"{path}: the first cell needs a '# title' and a '*You will see: …*' line")
    return title.group(1).strip(), abstract.group(1).strip()


def table() -> str:
    rows = ["| notebook | kernel | you will see |", "|---|---|---|"]
    for kernel, folder in (("Python", "python"), ("Rust", "rust")):
        for path in sorted((ROOT / "notebooks" / folder).glob("*.ipynb")):
            title, abstract = describe(path)
            link = path.relative_to(ROOT).as_posix()
            rows.append(f"| [{title}]({link}) | {kernel} | {abstract} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    readme = README.read_text(encoding="utf-8")
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md needs the markers {START} and {END}")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    updated = f"{head}{START}\n{table()}\n{END}{tail}"
    if "--check" in argv:
        if updated != readme:
            print("README.md's notebook table is out of date: run `make index`", file=sys.stderr)
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
