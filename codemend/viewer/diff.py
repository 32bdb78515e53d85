"""A line diff of two candidates as HTML: removed, added and context lines, hunk headers."""

from __future__ import annotations

import difflib

from codemend.viewer.html import e, tag

_KINDS = {"+": "add", "-": "del", "@": "hunk", " ": "ctx"}


def diff_lines(before: str, after: str, context: int = 3) -> list[str]:
    """Unified-diff lines without the file headers; empty when the code is the same."""
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), "before", "after", n=context, lineterm=""
    )
    return [line for line in lines if not line.startswith(("--- ", "+++ "))]


def diff_html(before: str, after: str) -> str:
    """A unified diff of ``before`` and ``after`` as a ``<pre>``, a line per change, with the counts
    of added and removed lines (a note instead when the code is the same)."""
    lines = diff_lines(before, after)
    if not lines:
        return tag("p", "The code is the same as before.", class_="muted")
    body = "".join(tag("span", e(line) or " ", class_=f"d-{_KINDS.get(line[:1], 'ctx')}") for line in lines)
    added = sum(line.startswith("+") for line in lines)
    removed = sum(line.startswith("-") for line in lines)
    return tag("pre", body, class_="diff", data_added=added, data_removed=removed)
