"""The report opened in a real headless Chromium, offline: every figure decodes, nothing is fetched."""

import os
import re
import shutil

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    required = os.environ.get("RNNBENCH_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed")
    if CHROMIUM is None:
        if required:
            pytest.fail("no chromium on PATH and RNNBENCH_REQUIRE_BROWSER=1")
        pytest.skip("no chromium on PATH")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def test_report_renders_offline(browser, finished_tiny_run, tmp_path):
    report = finished_tiny_run.root / "reports" / "summary.html"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(report.as_uri(), wait_until="load")

    images = page.eval_on_selector_all("img", "els => els.map(e => [e.alt, e.complete, e.naturalWidth])")
    assert len(images) >= 2
    for alt, complete, width in images:
        assert complete and width > 100, f"figure {alt!r} did not decode"
    remote = [url for url in requests if not url.startswith(("file:", "data:"))]
    assert remote == [] and errors == []

    leaderboard = page.locator("table.leaderboard")
    assert leaderboard.locator("tr").count() == 1 + 2  # header + one row per variant
    assert leaderboard.locator("tr.best").count() == 1
    assert page.locator("h2", has_text="Provenance").is_visible()
    page.screenshot(path=str(tmp_path / "summary.png"), full_page=True)
    assert (tmp_path / "summary.png").stat().st_size > 10_000

    # on a narrow window every table scrolls inside its own box: the page itself never gets wider
    page.set_viewport_size({"width": 640, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 640
    for index in range(page.locator("table").count()):
        table = page.locator("table").nth(index)
        box = table.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 640, f"table {index} is wider than the page"
    assert page.evaluate("Math.max(...[...document.querySelectorAll('table')].map(t => t.scrollWidth))") > 640, \
        "some table is wider than the window and scrolls"


def test_split_tables_render_within_the_page(browser, finished_studies):
    """The robustness study's tables (seeds against splits, paired tests, seeds needed, ensembles): visible,
    one row per variant or pair, none wider than the page."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((finished_studies.root / "reports" / "robustness.html").as_uri(), wait_until="load")
    for selector, rows in (("table.variance", 2), ("table.documents", 1), ("table.seeds-needed", 1),
                           ("table.ensembles", 2)):
        table = page.locator(selector)
        assert table.is_visible(), selector
        assert table.locator("tr").count() == 1 + rows, selector
        box = table.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, selector
    reading = page.locator("table.documents tr").nth(1).inner_text()
    assert "on every split" in reading or "no evidence of an order on the documents" in reading


def test_a_users_tables_show_their_class_names_and_per_class_scores(browser, finished_studies):
    """The tables study (a user's CSV, TSV, JSON Lines and Parquet files, brought in by YAML only): each
    dataset's section shows its per-class table with the class names, the binary one its positive class."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((finished_studies.root / "reports" / "tables.html").as_uri(), wait_until="load")
    tables = page.locator("table.per-class")
    assert tables.count() == 4 and errors == []

    def names(index):
        return sorted(tables.nth(index).locator("td.name").all_inner_texts())

    sections = page.locator("h2").all_inner_texts()
    order = [name for name in sections if name in ("codes", "notes", "tickets", "triage")]
    assert order == ["codes", "notes", "tickets", "triage"]
    assert names(0) == ["11", "30", "7"]
    assert names(1) == ["topic00", "topic01", "topic02"]
    assert names(2) == [f"topic{c:02d}" for c in range(12)]
    assert names(3) == ["routine", "urgent"]
    assert tables.nth(3).is_visible()
    for index in range(4):
        cells = tables.nth(index).locator("tr").nth(1).locator("td").all_inner_texts()
        assert len(cells) == 5 and all(cell != "" for cell in cells)
        assert 0.0 <= float(cells[2]) <= 1.0  # precision
    assert "urgent precision" in page.locator("table.leaderboard").nth(3).inner_text()
    images = page.eval_on_selector_all("img[alt^='Confusion']", "els => els.map(e => e.naturalWidth)")
    assert len(images) == 4 and min(images) > 100


def test_a_search_studys_budget_shows_its_curves_leaders_and_chosen_trials(browser, finished_studies):
    """The search study: the budget figure decodes, each search has its row with the trial it chose,
    and the read-out says who leads from n = 1 to the whole budget."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((finished_studies.root / "reports" / "budget.html").as_uri(), wait_until="load")
    table = page.locator("table.budget")
    assert table.count() == 1 and table.is_visible() and errors == []
    rows = table.locator("tr")
    assert rows.count() == 3
    searches = sorted(rows.nth(i).locator("td").first.inner_text() for i in (1, 2))
    assert searches == ["tiny_bow", "tiny_lstm"]
    chosen = [rows.nth(i).locator("td.name").nth(1).inner_text() for i in (1, 2)]
    assert all(re.fullmatch(r"tiny_(bow|lstm)\.t\d", trial) for trial in chosen)
    readings = page.locator("ul.readings li").all_inner_texts()
    spans = [re.match(r"n = (\d+)(?:–(\d+))?: (tiny_\w+) leads", line) for line in readings]
    spans = [match for match in spans if match]
    assert spans and spans[0].group(1) == "1" and int(spans[-1].group(2) or spans[-1].group(1)) == 3
    widths = page.eval_on_selector_all("img[alt^='Expected best']", "els => els.map(e => e.naturalWidth)")
    assert len(widths) == 1 and widths[0] > 100
