"""``codemend view``: a real bench run (scripted endpoint, real sandbox) as a static site.
What the browser does with it is in ``test_viewer_browser.py``; here, the files themselves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from viewer_data import ViewerRun, hidden_only_lines

from codemend.records import SecurityFinding, SecurityReport, StructureScore
from codemend.trajectories import TrajectoryStore, trajectory_id_for
from codemend.viewer import Site, build_site, open_run

pytest_plugins = ["viewer_fixtures"]
ROOT = Path(__file__).resolve().parent.parent


def index_rows(site: Site) -> dict[str, dict[str, object]]:
    text = (site.index.parent / "data" / "index.js").read_text()
    payload = json.loads(text.removeprefix("window.CODEMEND_INDEX = ").rstrip().removesuffix(";"))
    return {row["id"]: row for row in payload["rows"]}


def view(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codemend", "view", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_index_classifies_every_trajectory_by_its_hidden_verdicts(viewer_site: Site) -> None:
    rows = index_rows(viewer_site)
    assert {pid: row["c"] for pid, row in rows.items()} == {
        "HumanEval/0": ["unsolved"],
        "HumanEval/1": ["unsolved"],
        "HumanEval/2": ["solved", "fixed"],
        "HumanEval/3": ["solved"],
        "HumanEval/4": ["infra"],
    }
    assert rows["HumanEval/2"]["r"] == [0, 1, 1] and rows["HumanEval/4"]["r"] is None
    assert (rows["HumanEval/1"]["stop"], rows["HumanEval/1"]["sr"]) == ("repair budget spent", "max_rounds")
    assert rows["HumanEval/1"]["n"] == 3
    assert "HTTP 500" in str(rows["HumanEval/4"]["err"])
    for row in rows.values():
        assert (viewer_site.index.parent / str(row["h"])).is_file()
    assert viewer_site.trajectories == 5 and viewer_site.bytes > 0


def test_a_stop_on_the_visible_tests_is_not_called_solved_beside_unsolved(viewer_site: Site) -> None:
    """HumanEval/0 passed its visible tests, not the hidden ones: the list said stop reason
    "solved" beside the outcome "unsolved"."""
    row = index_rows(viewer_site)["HumanEval/0"]
    assert (row["c"], row["stop"], row["sr"]) == (["unsolved"], "visible tests passed", "solved")
    html = (viewer_site.index.parent / str(row["h"])).read_text()
    stop = re.search(r'<p class="stop"[^>]*>(.*?)</p>', html)
    assert stop is not None and 'data-stop="solved"' in stop.group(0)
    assert stop.group(1) == (
        "<b>Stopped: </b>visible tests passed: every visible test passed; the hidden tests judge the "
        "answer apart"
    )


def test_index_shows_run_summary_and_infrastructure_errors_apart(viewer_site: Site) -> None:
    html = viewer_site.index.read_text()
    # four scored problems: too few for an interval, so no number without one either
    too_few = "not enough data: 4 problem(s), an interval needs 10"
    assert f"pass@1 at round 0 and after 2 round(s): {too_few}" in html and f"<td>{too_few}</td>" in html
    assert (
        '<img src="passk_by_round.png"' in html
        and (viewer_site.index.parent / "passk_by_round.png").is_file()
    )
    infra = html[html.index('id="infra"') : html.index('id="problems"')]
    assert "Infrastructure errors: 1" in infra and "HumanEval/4" in infra and "HumanEval/3" not in infra
    assert "scripted" in html[html.index('id="run"') :]  # the model, with the settings


def test_pages_load_nothing_from_the_network(viewer_site: Site) -> None:
    pages = [viewer_site.index, *viewer_site.index.parent.glob("t/*.html")]
    for page in pages:
        links = re.findall(r'(?:src|href)="([^"]*)"', page.read_text())
        assert links and not [link for link in links if re.match(r"[a-z]+:", link)], page
        for link in links:
            assert (page.parent / link).exists(), (page, link)


def test_trajectory_page_keeps_hidden_tests_in_their_panel(viewer_site: Site, viewer_run: ViewerRun) -> None:
    rows = index_rows(viewer_site)
    for problem in viewer_run.problems[:4]:  # /4 ended on an infrastructure error: nothing scored
        html = (viewer_site.index.parent / str(rows[problem.id]["h"])).read_text()
        before, marker, panel = html.partition('<section id="hidden-result"')
        lines = [line.replace("'", "&#x27;").replace('"', "&quot;") for line in hidden_only_lines(problem)]
        assert marker and lines, problem.id
        assert [line for line in lines if line.replace("<", "&lt;").replace(">", "&gt;") in before] == []
        assert any(line.replace("<", "&lt;").replace(">", "&gt;") in panel for line in lines), problem.id


def test_cli_writes_the_site_rewrites_its_own_and_refuses_a_foreign_folder(
    viewer_run: ViewerRun, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    first = view(str(viewer_run.run_dir), "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == (out / "index.html").resolve().as_uri()
    assert "5 trajectories" in first.stderr and len(list((out / "t").glob("*.html"))) == 5
    again = view(str(viewer_run.run_dir), "--out", str(out))
    assert again.returncode == 0 and len(list((out / "t").glob("*.html"))) == 5
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("keep me")
    refused = view(str(viewer_run.run_dir), "--out", str(foreign))
    assert refused.returncode == 2 and "not written by codemend view" in refused.stderr
    assert (foreign / "mine.txt").read_text() == "keep me"
    missing = view(str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no run at" in missing.stderr


def test_a_bare_store_is_shown_with_its_final_verdicts(viewer_run: ViewerRun, tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    shutil.copyfile(viewer_run.run_dir / "trajectories.db", db)
    site = build_site(open_run(db), tmp_path / "site")
    rows = index_rows(site)
    assert rows["HumanEval/2"]["c"] == ["solved"] and rows["HumanEval/2"]["r"] is None  # no hidden.jsonl
    assert rows["HumanEval/4"]["c"] == ["infra"]
    assert "No summary.json beside this store" in site.index.read_text()


def large_site(viewer_run: ViewerRun, folder: Path, count: int) -> Site:
    """``count`` trajectories: the real ones, stored again under other problem ids."""
    db = folder / "large.db"
    source = open_run(viewer_run.run_dir)
    records = list(source.trajectories())
    with TrajectoryStore(db) as store:
        store.start_run(source.run)
        for n in range(count):
            t = records[n % len(records)]
            problem = t.problem.model_copy(update={"id": f"P/{n}"})
            tid = trajectory_id_for(source.run.run_id, problem.id, 0)
            store.add_trajectory(t.model_copy(update={"problem": problem, "trajectory_id": tid}))
    return build_site(open_run(db), folder / "site")


def test_a_large_run_is_one_small_page_per_trajectory(viewer_run: ViewerRun, tmp_path: Path) -> None:
    """The index holds the rows as data, and no page grows with the size of the run."""
    site = large_site(viewer_run, tmp_path, 250)
    pages = list((tmp_path / "site" / "t").glob("*.html"))
    assert site.trajectories == 250 and len(pages) == 250
    assert site.index.stat().st_size < 20_000  # the list is data, rendered 100 rows at a time
    assert max(p.stat().st_size for p in pages) < 60_000
    assert list(index_rows(site))[:3] == ["P/0", "P/1", "P/2"] and list(index_rows(site))[10] == "P/10"


def test_a_step_shows_its_security_findings_and_structure_score_escaped(
    viewer_run: ViewerRun, tmp_path: Path
) -> None:
    source = open_run(viewer_run.run_dir)
    t = next(t for t in source.trajectories() if len(t.steps) >= 2 and t.steps[1].critique is not None)
    hostile = "<script>alert(1)</script> eval of input"
    findings = [
        SecurityFinding(line=5, severity="high", rule="B602", message="subprocess call with shell=True"),
        SecurityFinding(line=2, severity="medium", rule="B307", message=hostile),
    ]
    first, second = t.steps[0], t.steps[1]
    assert first.critique is not None and second.critique is not None
    signals = {
        "security": SecurityReport(available=True, analyser="bandit 1.9.4", findings=findings),
        "structure": StructureScore(
            available=True, syntax_match=0.25, dataflow_match=0.5, closeness=0.625, statements=7, credited=3,
            score=0.875,
        ),
    }
    missing = {
        "security": SecurityReport(available=False, reason="bandit is not installed: pip install x"),
        "structure": StructureScore(available=False, reason="the problem has no reference solution"),
    }
    steps = [
        first.model_copy(update={"critique": first.critique.model_copy(update=signals)}),
        second.model_copy(update={"critique": second.critique.model_copy(update=missing)}),
        *t.steps[2:],
    ]
    db = tmp_path / "signals.db"
    with TrajectoryStore(db) as store:
        store.start_run(source.run)
        store.add_trajectory(t.model_copy(update={"steps": steps}))
    site = build_site(open_run(db), tmp_path / "site")
    (row,) = index_rows(site).values()
    html = (site.index.parent / str(row["h"])).read_text()
    step0, _, rest = html.partition('id="step-1"')
    assert "Security analysis (bandit 1.9.4)" in step0 and "B602" in step0 and "shell=True" in step0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in step0 and "<script>alert(1)" not in html
    assert "Structure against the reference solution (not shown to the model)" in step0
    assert "0.250" in step0 and "0.500" in step0 and "0.625" in step0 and "0.875" in step0
    assert "3 of 7 (those a passing visible test needs)" in step0
    assert "not available: bandit is not installed: pip install x" in rest
    assert "not available: the problem has no reference solution" in rest
