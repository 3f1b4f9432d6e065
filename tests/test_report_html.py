"""The HTML report (``--html FILE``, ``restore.report_html``): one self-contained page, its
text escaped, written by every command that ends with a report; and, in headless
Chromium, its timeline drawn: a bar per step and operation, tooltips with the ARM
requests, pixels of the step colours in a screenshot.

CI installs Chromium (`.ci/run`) and sets RESTORELAB_REQUIRE_CHROMIUM=1, so there the
browser tests never skip; elsewhere they skip when Chromium is not installed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

import restore
from restore.cli import app
from restore.report_html import render_html, step_colours
from restore.sessions import SESSIONS_ENV, Sessions
from restore.shipped import find_scenario

runner = CliRunner()
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--virtual-time-budget=5000")
DATA_BLOCK = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)


def cli(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def report() -> dict:
    """orig-hot-backup on fake-arm with its disk creations failing once: retried
    operations, each with its ARM requests."""
    scenario = restore.load_scenario(find_scenario("orig-hot-backup"))
    return restore.simulate(scenario, backend="fake-arm", faults=[
        restore.Fault(at="create_empty_disks", kind="transient", times=2)]).to_dict()


def embedded(page: str) -> dict:
    """The report the page carries (its JSON data block)."""
    return json.loads(DATA_BLOCK.search(page).group(1))["report"]


def sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


# -- the page ----------------------------------------------------------------------------

def test_the_page_is_self_contained_and_allows_only_its_own_script_and_style(report):
    page = render_html(report)
    assert re.findall(r"(?:src|href|action)\s*=\s*[\"']?\s*(?:https?:)?//", page) == []
    for fetching in ("<link", "<img", "<iframe", "url(", "@import", "fetch(", "XMLHttpRequest"):
        assert fetching not in page
    [script] = re.findall(r"<script>(.*?)</script>", page, re.S)
    [style] = re.findall(r"<style>(.*?)</style>", page, re.S)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert policy == f"default-src 'none'; style-src {sha256(style)}; script-src {sha256(script)}"
    assert embedded(page) == report


def test_hostile_text_is_escaped_and_the_data_survives(report):
    hostile = copy.deepcopy(report)
    hostile["scenario"] = "<script>alert(1)</script>"
    hostile["status"] = "failed"
    hostile["error"] = {"step": "create_vm", "operation": "create_vm", "code": "Bad<b>",
                        "message": "</script><img src=x onerror=alert(2)>"}
    hostile["leaked"] = ["/subscriptions/s/resourceGroups/rg/providers/T/x/<i>disk</i>"]
    hostile["final_state"]["resources"][0]["name"] = "<svg onload=alert(3)>"
    page = render_html(hostile)
    assert page.count("<script") == 2 and "<img" not in page and "<i>" not in page
    assert "<svg" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert embedded(page) == hostile


def test_the_page_shows_summary_cost_final_state_and_what_is_left(report):
    page = render_html(report)
    cost = report["cost"]
    assert f"{cost['total']:,.4f} {cost['currency']}" in page
    assert f"<dd>{report['restore_id']}</dd>" in page and f"<dd>{report['seed']}</dd>" in page
    assert all(f"<td>{r['name']}</td>" in page for r in report["final_state"]["resources"])
    leftovers = page.split('id="left-behind-and-kept"')[1].split("</section>")[0]
    assert report["leaked"] == report["kept"] == [] and leftovers.count(">none<") == 3
    assert 'id="drill"' not in page


def test_a_drill_shows_its_checks():
    drill = restore.simulate(restore.load_scenario(find_scenario("drill-hot-backup"))).to_dict()
    section = render_html(drill).split('id="drill"')[1].split("</section>")[0]
    assert all(f"<td>{c['check']}</td><td>{c['status']}</td>" in section
               for c in drill["drill"]["checks"])


def test_every_file_of_the_page_is_installed():
    from fnmatch import fnmatch

    from helpers import ROOT

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = config["package-data"]["restore.report_page"]
    assert "restore.report_page" in config["packages"]
    assert [f.name for f in (ROOT / "restore" / "report_page").iterdir()
            if f.suffix != ".py" and f.name != "__pycache__"
            and not any(fnmatch(f.name, g) for g in globs)] == []


# -- the commands ------------------------------------------------------------------------

def test_simulate_writes_the_page_and_json_stays_alone_on_stdout(tmp_path):
    page = tmp_path / "report.html"
    result = cli("simulate", "orig-hot-backup", "--json", "--html", str(page))
    assert result.exit_code == 0, result.output
    assert embedded(page.read_text()) == json.loads(result.stdout)
    assert result.stderr.strip() == f"report written to {page}"


def test_a_drill_writes_its_page_with_its_checks(tmp_path):
    page = tmp_path / "drill.html"
    result = cli("drill", "drill-hot-backup", "--json", "--html", str(page))
    assert result.exit_code == 0, result.output
    shown = embedded(page.read_text())
    assert shown == json.loads(result.stdout) and shown["drill"]["passed"]
    assert 'id="drill"' in page.read_text()


def test_a_failed_restore_still_writes_its_page(tmp_path):
    page = tmp_path / "failed.html"
    result = cli("simulate", "faulted-rolled-back", "--html", str(page))
    shown = embedded(page.read_text())
    assert result.exit_code == 1 and shown["status"] == "rolled_back"
    assert f"<dd>{shown['error']['code']} in {shown['error']['step']}" in page.read_text()
    assert "rolled_back" in result.stdout and "report written to" in result.stderr


@pytest.mark.parametrize(("where", "says"), [
    ("missing/report.html", "there is no directory"), (".", "is a directory")])
def test_a_page_that_cannot_be_written_is_refused_before_the_restore(tmp_path, where, says):
    journal, target = tmp_path / "j.db", tmp_path / where
    result = cli("simulate", "orig-hot-backup", "--journal", str(journal), "--html", str(target))
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {target}: --html: ")
    assert says in result.stderr and "Traceback" not in result.output
    assert not journal.exists()


def test_a_fleet_refuses_html(tmp_path):
    result = cli("simulate", "fleet-40-vms", "--html", str(tmp_path / "f.html"))
    assert result.exit_code == 2 and "--html: not available for a fleet" in result.stderr
    assert not (tmp_path / "f.html").exists()


def test_resume_and_sessions_show_write_pages(tmp_path, monkeypatch):
    monkeypatch.setenv(SESSIONS_ENV, str(tmp_path / "sessions.db"))
    journal, resumed, stored = tmp_path / "j.db", tmp_path / "resumed.html", tmp_path / "s.html"
    assert cli("simulate", "orig-hot-backup", "--crash-at", "restore_data",
               "--journal", str(journal)).exit_code == 3
    result = cli("resume", str(journal), "--json", "--html", str(resumed))
    assert result.exit_code == 0 and embedded(resumed.read_text()) == json.loads(result.stdout)
    shown = cli("sessions", "show", "1", "--html", str(stored))
    assert shown.exit_code == 0 and f"report written to {stored}" in shown.stderr
    with Sessions(tmp_path / "sessions.db") as sessions:
        assert embedded(stored.read_text()) == sessions.get(1)["report"]
        assert sessions.get(1)["report"]["status"] == "interrupted"


def test_sessions_show_of_a_session_without_report_is_refused(tmp_path):
    with Sessions(tmp_path / "sessions.db") as sessions:
        session = sessions.start("restore", {"name": "t"}, "azure")  # still running
    result = cli("sessions", "show", str(session), "--sessions", str(tmp_path / "sessions.db"),
                 "--html", str(tmp_path / "s.html"))
    assert result.exit_code == 2 and "has no report" in result.stderr
    assert not (tmp_path / "s.html").exists()


def test_a_real_restore_writes_its_page(tmp_path, managed_identity):
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    from helpers import SUBSCRIPTION
    from test_live_restore import region_of

    from restore.backends.data import REPOSITORY_URL

    page = tmp_path / "live.html"
    _, _, mocked = region_of("new-hot-backup")
    with mocked:
        result = cli("restore", "new-hot-backup", "--subscription", SUBSCRIPTION, "--json",
                     "--repository", REPOSITORY_URL, "--html", str(page))
    assert result.exit_code == 0, result.stderr
    shown = embedded(page.read_text())
    assert shown == json.loads(result.stdout) and shown["backend"] == "azure"
    assert all("arm_requests" in o for o in shown["operations"])


# -- in the browser ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium() -> str:
    binary = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if binary is None:
        if os.environ.get("RESTORELAB_REQUIRE_CHROMIUM"):
            pytest.fail("Chromium is required here but chromium is not on PATH")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI installs it")
    return binary


@pytest.fixture
def browse(chromium, tmp_path):
    """Open an HTML page in headless Chromium with a fresh profile: its DOM after the
    scripts ran (``dump``), or a 1280x1600 screenshot's path."""
    pages = iter(range(1000))

    def run(html: str, screenshot: bool = False) -> str | Path:
        n = next(pages)
        page, png = tmp_path / f"page{n}.html", tmp_path / f"page{n}.png"
        page.write_text(html, encoding="utf-8")
        action = (f"--screenshot={png}", "--window-size=1280,1600") if screenshot else (
            "--dump-dom",)
        done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p'}",
                               *action, page.as_uri()], capture_output=True, text=True,
                              timeout=120, check=True)
        return png if screenshot else done.stdout

    return run


class Elements(HTMLParser):
    """Every element's tag and attributes, in document order."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    def classed(self, name: str) -> list[dict[str, str]]:
        return [a for _, a in self.found if name in a.get("class", "").split()]


def test_the_timeline_has_a_bar_per_step_and_operation(report, browse):
    dom = Elements(browse(render_html(report)))
    assert [a["data-step"] for a in dom.classed("step-bar")] == [
        s["name"] for s in report["steps"]]
    assert sorted(int(a["data-op-index"]) for a in dom.classed("op-bar")) == list(
        range(len(report["operations"])))
    fills = [a["fill"] for a in dom.classed("step-bar")]
    assert fills == step_colours(report) and len(set(fills)) == len(fills)  # one each
    assert any(tag == "svg" for tag, _ in dom.found)


def test_a_retried_operations_tooltip_has_its_attempts_and_arm_requests(report, browse):
    retried = [i for i, o in enumerate(report["operations"]) if o["attempts"] > 1]
    bars = {int(a["data-op-index"]): a for a in Elements(browse(render_html(report))).classed(
        "op-bar")}
    assert retried and all("retried" in bars[i]["class"] for i in retried)
    for i in retried:
        op, tip = report["operations"][i], bars[i]["data-tooltip"]
        assert f"attempts: {op['attempts']}" in tip and op["resource"] in tip
        assert " 503" in op["arm_requests"][0]  # the failed attempt, then the retry
        assert all(request in tip for request in op["arm_requests"])


def test_hovering_a_bar_shows_its_tooltip(report, browse):
    """A mouseover dispatched on a retried operation's bar (a script the page's policy
    allows by its hash) fills and shows the tooltip; a script it does not allow is kept
    from running."""
    hover = ("document.querySelector('.op-bar.retried').dispatchEvent(new MouseEvent("
             "'mouseover', {clientX: 400, clientY: 300}))")
    blocked = "document.body.setAttribute('data-injected', 'ran')"
    page = render_html(report).replace("script-src ", f"script-src {sha256(hover)} ").replace(
        "</body>", f"<script>{hover}</script><script>{blocked}</script></body>")
    dom = browse(page)
    tooltip = re.search(r'<div id="tooltip"([^>]*)>(.*?)</div>\s*<script', dom, re.S)
    op = next(o for o in report["operations"] if o["attempts"] > 1)
    assert "hidden" not in tooltip.group(1) and 'data-injected="ran"' not in dom
    text = re.sub(r"<[^>]+>", " ", tooltip.group(2))
    assert f"{op['step']} / {op['op']}" in text and "ARM requests" in text
    assert all(request in text for request in op["arm_requests"])


def step_colour_pixels(png: Path, colours: list[str]) -> int:
    """Pixels of the screenshot in (nearly) one of ``colours``."""
    from PIL import Image

    palette = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in colours]
    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(maxcolors=image.width * image.height)
    return sum(n for n, rgb in colours
               if any(max(abs(a - b) for a, b in zip(rgb, p, strict=True)) <= 8
                      for p in palette))


def test_a_screenshot_shows_the_timeline_and_an_empty_one_does_not(report, browse):
    colours = step_colours(report)  # the real page's: the other two have no steps to colour
    drawn = step_colour_pixels(browse(render_html(report), screenshot=True), colours)
    empty = step_colour_pixels(browse(render_html({**report, "steps": [], "operations": []}),
                                      screenshot=True), colours)
    broken = step_colour_pixels(browse(DATA_BLOCK.sub(
        '<script type="application/json" id="report-data">{broken</script>',
        render_html(report)), screenshot=True), colours)
    assert drawn > 5000 and empty == broken == 0
