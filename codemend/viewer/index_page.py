"""The run's page: settings, model, summary and pass@k by round, infrastructure errors apart, and
the problem list. The list's rows are data (``data/index.js``, a script so it loads from
``file://``) that the page renders 100 at a time, searchable and filterable."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from codemend.viewer.html import details, e, page, pre, table, tag
from codemend.viewer.load import RunSource
from codemend.viewer.outcome import CATEGORIES
from codemend.viewer.trajectory_page import LEAK

DATA_SCRIPT = "data/index.js"
INFRA_LINKS = 200  # infrastructure errors linked by name; the filter shows all of them


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One trajectory in the problem list."""

    problem_id: str
    sample: int
    href: str
    categories: tuple[str, ...]
    by_round: tuple[bool, ...] | None
    stop_reason: str
    stop_label: str
    steps: int
    tokens: int
    wall_s: float
    final_reward: float | None
    infra_cause: str | None

    def data(self) -> dict[str, Any]:
        """The row as the index page's script reads it (short keys: the data file is loaded whole)."""
        return {
            "id": self.problem_id,
            "s": self.sample,
            "h": self.href,
            "c": list(self.categories),
            "r": None if self.by_round is None else [int(v) for v in self.by_round],
            "stop": self.stop_label,
            "sr": self.stop_reason,
            "n": self.steps,
            "tok": self.tokens,
            "w": round(self.wall_s, 2),
            "fr": None if self.final_reward is None else round(self.final_reward, 3),
            "err": self.infra_cause,
        }


def data_script(rows: Sequence[Row], rounds: int | None) -> str:
    """The JavaScript of ``data/index.js``: every row and the run's rounds as
    ``window.CODEMEND_INDEX``, safe inside a page."""
    payload = {"rounds": rounds, "rows": [r.data() for r in rows]}
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return "window.CODEMEND_INDEX = " + text.replace("</", "<\\/") + ";\n"


def _run_section(source: RunSource) -> str:
    run = source.run
    facts = [
        ("run", run.run_id),
        ("model", run.model or "unknown"),
        ("endpoint", run.endpoint or ""),
        ("critic model", run.critic_model or ""),
        ("codemend", run.codemend_version),
        ("started", run.created_at.isoformat(timespec="seconds")),
        ("ended", run.ended_at.isoformat(timespec="seconds") if run.ended_at else "not finished"),
    ]
    if "wall_s" in source.summary:
        facts.append(("wall time", f"{source.summary['wall_s']:.1f} s"))
    rows = [[e(k), e(v)] for k, v in facts if v]
    settings = [[e(k), e(json.dumps(v))] for k, v in sorted(run.settings.items())]
    hashes = [[e(k), e(v)] for k, v in sorted(run.prompt_hashes.items())]
    body = table(("", "value"), rows, class_="facts-table") + tag("h3", "Settings")
    body += table(("setting", "value"), settings, class_="settings")
    if hashes:
        body += details("Prompt template hashes", table(("template", "sha256"), hashes))
    return tag("section", tag("h2", "Run") + body, id="run")


def _passk_table(metrics: dict[str, Any]) -> str:
    by_round: dict[str, dict[str, float]] = metrics.get("pass_at_k_by_round", {})
    if not by_round:
        return ""
    ks = sorted({int(k) for scores in by_round.values() for k in scores})
    passing = metrics.get("passing_by_round", {})
    tokens = metrics.get("generator_tokens_by_round", {})
    scored = (
        metrics.get("trajectories", 0) - metrics.get("infrastructure_errors", 0) - metrics.get("unscored", 0)
    )
    intervals: dict[str, dict[str, dict[str, Any]]] = metrics.get("pass_at_k_ci_by_round", {})
    rows = []
    for r in sorted(by_round, key=int):
        cells = [e(r)] + [e(_estimate(by_round[r].get(str(k)), intervals.get(r, {}).get(str(k)))) for k in ks]
        cells += [e(f"{passing.get(r, 0)}/{scored}"), e(f"{tokens.get(r, 0):.0f}")]
        rows.append(cells)
    head = ["round", *(f"pass@{k}" for k in ks), "passing trajectories", "generator tokens (mean, to date)"]
    return table(head, rows, class_="passk")


def _estimate(value: float | None, interval: dict[str, Any] | None) -> str:
    """A pass@k with its 95% interval, or why there is none (a summary written before intervals
    existed has the number alone)."""
    if interval is None:
        return "n/a" if value is None else f"{value:.3f}"
    if interval.get("low") is None or interval.get("high") is None or interval.get("value") is None:
        return str(interval.get("missing") or "not enough data")
    return f"{interval['value']:.3f} [{interval['low']:.3f}, {interval['high']:.3f}]"


def _summary_section(source: RunSource, plot: str | None) -> str:
    summary = source.summary
    if not summary:
        return tag(
            "section",
            tag("h2", "Summary") + tag("p", "No summary.json beside this store.", class_="muted"),
            id="summary",
        )
    lines = "\n".join(summary.get("summary", []))
    body = pre(lines, class_="summary-lines") + _passk_table(summary.get("metrics", {}))
    if plot:
        body += tag("img", src=plot, alt="pass@k by repair round", class_="plot")
    return tag("section", tag("h2", "Summary") + body, id="summary")


def _infra_section(rows: Sequence[Row], source: RunSource) -> str:
    infra = [r for r in rows if "infra" in r.categories]
    title = tag("h2", e(f"Infrastructure errors: {len(infra)} (not scored, never counted as wrong answers)"))
    if not infra:
        return tag("section", title, id="infra")
    causes: dict[str, int] = dict(source.summary.get("metrics", {}).get("infrastructure_causes", {}))
    if not causes:
        for r in infra:
            causes[r.infra_cause or "unknown"] = causes.get(r.infra_cause or "unknown", 0) + 1
    cause_rows = [[e(n), e(c)] for c, n in sorted(causes.items(), key=lambda kv: -kv[1])]
    links = [
        tag(
            "li",
            tag("a", e(f"{r.problem_id} (sample {r.sample})"), href=r.href)
            + " "
            + tag("span", e(r.infra_cause or ""), class_="muted"),
        )
        for r in infra[:INFRA_LINKS]
    ]
    more = (
        tag("p", e(f"and {len(infra) - INFRA_LINKS} more: filter the list by 'infra'"))
        if len(infra) > INFRA_LINKS
        else ""
    )
    body = table(("count", "cause"), cause_rows) + tag("ul", "".join(links), class_="infra-list") + more
    return tag("section", title + body, id="infra")


def _list_section(rows: Sequence[Row]) -> str:
    counts = {c: sum(c in r.categories for r in rows) for c in CATEGORIES}
    buttons = tag("button", e(f"all ({len(rows)})"), type="button", data_filter="all", class_="active")
    buttons += "".join(
        tag("button", e(f"{label} ({counts[c]})"), type="button", data_filter=c)
        for c, label in CATEGORIES.items()
    )
    controls = tag(
        "div",
        tag("input", type="search", id="search", placeholder="search problem, stop reason…")
        + tag("span", buttons, class_="filters"),
        class_="controls",
    )
    body = controls + tag("div", "", id="problem-list") + tag("div", "", id="pager", class_="pager")
    return tag("section", tag("h2", "Problems") + body, id="problems")


def index_html(source: RunSource, rows: Sequence[Row], plot: str | None) -> str:
    """The run's index page: a warning when the loop saw the hidden tests, the summary and plot,
    the trajectories stopped by infrastructure, the filterable problem list and the run's facts."""
    run = source.run
    leak = run.settings.get("feedback_tests") == "all"
    head = tag("h1", e(f"codemend run {run.run_id}"))
    if leak:
        head += tag("p", e(LEAK), class_="banner warn")
    body = head + _summary_section(source, plot) + _infra_section(rows, source) + _list_section(rows)
    body += _run_section(source)
    return page(f"codemend · {run.run_id}", tag("main", body, class_="index"), scripts=[DATA_SCRIPT])
