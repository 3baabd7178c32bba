"""The HTML error browser (`result.html`) in a real headless Chromium driven by selenium through chromedriver: it loads
from a file with no network, shows spans by error class, and its filters (error class, type, dataset) and collapsible
reasoning work. Under CI=true a missing browser fails these tests (`make install-browser` installs one); elsewhere
they skip with the reason.

`REASONING_NER_WRITE_ASSETS=1` also copies the screenshot of the real-looking result (real test sentences, predictions
perturbed as a model errs) to assets/result_html.png, the README's picture."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from helpers.common import ROOT, write_instructuie
from helpers.perturb import INVENTED, realistic_lines
from test_errors import COMPLETIONS, GOLD, S

pytestmark = pytest.mark.slow

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _missing(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason} (run `make install-browser` as root, and install requirements-dev.txt)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_bin = shutil.which("chromedriver")
    if not chromium or not driver_bin:
        _missing(f"no headless browser: chromium={chromium}, chromedriver={driver_bin}")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for f in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1000"):
        opts.add_argument(f)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_bin), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _evaluate(base: Path, names: list[str], preds: Path, out: Path, **kw) -> Path:
    from evaluate import EvalArguments, main

    cfg = out.parent / "datasets.json"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(json.dumps(names))
    args = EvalArguments(
        predictions_file=str(preds), base_path=str(base), dataset_config=str(cfg), result_file=str(out), **kw
    )
    assert main(args) == 0
    return out.with_suffix(".html")


def _rows(driver) -> int:
    from selenium.webdriver.common.by import By

    return len([e for e in driver.find_elements(By.CSS_SELECTOR, "#list .sent") if e.is_displayed()])


def _count(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "count").text


def _click_class(driver, cls: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"button.cls[data-cls='{cls}']").click()


def _select(driver, element_id: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, element_id)).select_by_visible_text(text)


def _severe(driver) -> list:
    """The page's JavaScript errors (console entries of level SEVERE)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def test_browser_filters_spans_and_reasoning(browser, tmp_path):
    from selenium.webdriver.common.by import By

    recs = [{"sentence": s, "entities": g} for s, g in zip(S, GOLD, strict=True)]
    base = tmp_path / "data"
    for name in ("hand", "hand two"):
        write_instructuie(base, name, ["person", "location", "organization"], {"test": recs})
    preds = tmp_path / "p.jsonl"
    with preds.open("w") as f:
        for name in ("hand", "hand two"):
            for i, c in enumerate(COMPLETIONS):
                f.write(json.dumps({"dataset": name, "index": i, "completion": c}) + "\n")
    page = _evaluate(base, ["hand", "hand two"], preds, tmp_path / "eval" / "result.json", plot=False)
    text = page.read_text()
    assert not re.search(r"""(src|href)\s*=|https?://|<link""", text)  # self-contained: nothing to fetch

    browser.get(page.as_uri())
    assert browser.title.endswith("error browser")
    assert _rows(browser) == 14 and _count(browser) == "14 of 14 sentences match"
    # the type confusion of each dataset, folded away at first (counts: tests/test_errors.py, written by hand)
    conf = browser.find_element(By.ID, "confusion")
    tables = conf.find_elements(By.CSS_SELECTOR, ".conf")
    assert conf.get_attribute("open") is None and not tables[0].is_displayed()
    conf.find_element(By.TAG_NAME, "summary").click()
    assert [t.find_element(By.TAG_NAME, "h3").text for t in tables] == ["hand", "hand two"]
    cells = [
        [c.text for c in tr.find_elements(By.CSS_SELECTOR, "th, td")]
        for tr in tables[0].find_elements(By.TAG_NAME, "tr")
    ]
    assert cells == [
        ["gold \\ predicted", "location", "organization", "person", "(missed)"],
        ["location", "2", "2", "2", ""],
        ["organization", "", "", "", "1"],
        ["person", "", "", "2", "2"],
        ["(spurious)", "3", "", "2", ""],
    ]
    _click_class(browser, "missed")  # sentences 2, 4 and 7 of each dataset have a missed gold pair
    assert _rows(browser) == 6 and _count(browser).startswith("6 of 14")
    _click_class(browser, "boundary")  # or a boundary error: sentences 1 and 5 as well
    assert _rows(browser) == 10
    _click_class(browser, "missed")  # off again: boundary alone
    assert _rows(browser) == 4
    _select(browser, "f-dataset", "hand two")
    assert _rows(browser) == 2
    assert [t.is_displayed() for t in tables] == [False, True]  # the selected dataset's confusion alone
    browser.find_element(By.ID, "f-clear").click()
    assert _rows(browser) == 14 and all(t.is_displayed() for t in tables)
    _select(browser, "f-type", "organization")  # a gold or predicted organization: sentences 1, 2 and 7
    assert _rows(browser) == 6
    _click_class(browser, "missed")  # a missed organization: the ICC of sentence 2
    assert _rows(browser) == 2
    row = browser.find_elements(By.CSS_SELECTOR, "#list .sent")[0]
    assert "The Hague hosts the ICC" in row.text
    missed = row.find_element(By.CSS_SELECTOR, ".line.gold .hl.missed")
    assert missed.text == "ICC"
    assert row.find_element(By.CSS_SELECTOR, ".line.pred .hl.spurious_in_text").text == "Paris"
    assert row.find_element(By.CSS_SELECTOR, ".line.pred .hl.boundary_type").text == "Hague hosts"
    assert "Atlantis" in row.find_element(By.CSS_SELECTOR, ".line.pred .chip").text  # not in the sentence
    details = row.find_element(By.CSS_SELECTOR, "details.reasoning")
    pre = details.find_element(By.TAG_NAME, "pre")
    assert details.get_attribute("open") is None and not pre.is_displayed()
    details.find_element(By.TAG_NAME, "summary").click()
    assert details.get_attribute("open") is not None and pre.is_displayed() and pre.text == "some reasoning"
    shot = tmp_path / "shot.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:4] == b"\x89PNG"
    assert not _severe(browser)


# ----------------------------------------------------------------------------------------------------------------------
# a real-looking result: real test sentences, predictions perturbed the way a model errs (helpers/perturb.py)


def test_browser_on_a_real_looking_result(browser, ner_data, tmp_path):
    from selenium.webdriver.common.by import By

    from reasoning_ner.scoring import load_splits

    names = ["CrossNER_AI", "mit-restaurant"]
    rng = random.Random(7)
    preds = tmp_path / "predictions.jsonl"
    with preds.open("w") as f:
        for split in load_splits(ner_data, names):
            for line in realistic_lines(split, rng):
                f.write(json.dumps(line) + "\n")
    out = tmp_path / "perturbed-gold-example" / "result.json"
    page = _evaluate(ner_data, names, preds, out)
    rows = json.loads(out.read_text())["rows"]
    n = sum(r["n_examples"] for r in rows[:-1])
    browser.get(page.as_uri())
    assert _count(browser) == f"{n} of {n} sentences match (first 200 shown)" and _rows(browser) == 200
    invented = re.compile("|".join(INVENTED))
    halluc = [line for line in preds.read_text().splitlines() if invented.search(line)]
    _click_class(browser, "spurious_hallucinated")
    assert _count(browser) == f"{len(halluc)} of {n} sentences match" and _rows(browser) == len(halluc) > 10
    _click_class(browser, "spurious_hallucinated")
    _click_class(browser, "boundary")
    _select(browser, "f-dataset", "CrossNER_AI")
    first = browser.find_element(By.CSS_SELECTOR, "#list .sent details.reasoning summary")
    first.click()  # one reasoning open, for the picture
    shot = tmp_path / "result_html.png"
    assert browser.save_screenshot(str(shot))
    assert not _severe(browser)
    if os.environ.get("REASONING_NER_WRITE_ASSETS") == "1":
        (ROOT / "assets").mkdir(exist_ok=True)
        shutil.copy(shot, ROOT / "assets" / "result_html.png")
