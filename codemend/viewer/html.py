"""Small HTML helpers: escaping, elements, the page shell. Every page is complete static HTML
that links ``assets/`` relatively, so the site opens from ``file://`` with no server or network."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

ASSETS = "assets"


def e(value: object) -> str:
    """Text for an element or an attribute, escaped."""
    return escape("" if value is None else str(value), quote=True)


def attrs(**values: object) -> str:
    """``class_="x"`` and ``data_step=1`` become ``class="x" data-step="1"``; None and False drop out."""
    out = []
    for key, value in values.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        out.append(f" {name}" if value is True else f' {name}="{e(value)}"')
    return "".join(out)


def tag(name: str, body: str = "", **values: object) -> str:
    """The element ``<name ...>body</name>``; ``body`` is HTML already (escape text with ``e``)."""
    return f"<{name}{attrs(**values)}>{body}</{name}>"


def pre(text: str | None, **values: object) -> str:
    """A ``<pre>`` of ``text``, escaped (empty for None)."""
    return tag("pre", e(text or ""), **values)


def details(summary: str, body: str, *, open_: bool = False, **values: object) -> str:
    """A collapsible block; ``summary`` is HTML."""
    return tag("details", tag("summary", summary) + body, open=open_, **values)


def table(head: Iterable[str], rows: Iterable[Iterable[str]], **values: object) -> str:
    """Cells are HTML (escape text with ``e`` first)."""
    thead = tag("thead", tag("tr", "".join(tag("th", h) for h in head)))
    body = "".join(tag("tr", "".join(tag("td", c) for c in row)) for row in rows)
    return tag("table", thead + tag("tbody", body), **values)


def badge(text: str, kind: str) -> str:
    """A small label: ``text`` in a span of class ``badge`` and ``kind``."""
    return tag("span", e(text), class_=f"badge {kind}")


def page(title: str, body: str, *, root: str = ".", scripts: Iterable[str] = ()) -> str:
    """A whole page; ``root`` is the relative path from the page to the site's root."""
    extra = "".join(f'<script src="{e(src)}"></script>' for src in scripts)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title>"
        f'<link rel="stylesheet" href="{root}/{ASSETS}/viewer.css">'
        f"</head><body>{body}{extra}"
        f'<script src="{root}/{ASSETS}/viewer.js"></script></body></html>\n'
    )
