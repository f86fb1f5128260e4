"""The playground page in a real browser: headless Debian chromium against ``rnnkit serve``
with a tiny language model and a tiny attention-pooling classifier.

Skipped only when chromium, chromedriver or selenium is missing and ``CI`` is not set; in CI a
missing browser fails the test (``.ci/run`` installs it).
"""

import json
import os
import re
import urllib.request

import pytest

from tests.serve.browser import browser_missing, chromium, running_server

PROMPT = 'the cat "sat" (on)\n'


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"content-type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def wait_for(driver, script: str, timeout: float = 20.0):
    """Poll a JavaScript expression until it is truthy; its value."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, 0.1).until(lambda d: d.execute_script(script))


def wait_count(driver, selector: str, n: int) -> None:
    """Wait until ``selector`` matches ``n`` elements."""
    wait_for(driver, f"return document.querySelectorAll({json.dumps(selector)}).length == {n}")


def alpha(style: str) -> float:
    found = re.search(r"rgba\(\d+, \d+, \d+, ([\d.]+)\)", style)
    return float(found.group(1)) if found else 0.0


def generate_and_color(driver, url: str, tmp_path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    panel = driver.find_element(By.CSS_SELECTOR, '.panel[data-model="demo"]')
    prompt = panel.find_element(By.CSS_SELECTOR, "textarea.prompt")
    prompt.clear()
    prompt.send_keys(PROMPT)
    for name, value in (("max_tokens", "30"), ("seed", "3")):
        box = panel.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)
    driver.execute_script(  # count the changes of the generated text
        "window.mutations = 0; new MutationObserver((r) => { window.mutations += r.length; })"
        ".observe(document.querySelector('.panel[data-model=demo] .generated'),"
        "{childList: true, characterData: true, subtree: true});"
    )
    panel.find_element(By.CSS_SELECTOR, "button.generate").click()
    wait_for(driver, "return document.querySelector('.panel[data-model=demo] .finish').textContent")
    expected = post(f"{url}/generate", {"model": "demo", "prompt": PROMPT, "max_tokens": 30,
                                        "temperature": 0.8, "seed": 3})  # fmt: skip
    shown = panel.find_element(By.CSS_SELECTOR, ".generated").get_attribute("textContent")
    assert shown == expected["text"] and len(expected["tokens"]) == 30
    assert driver.execute_script("return window.mutations") >= 30  # one update per token event

    wait_count(driver, ".panel[data-model=demo] .ch", len(PROMPT + shown))
    chars = panel.find_elements(By.CSS_SELECTOR, ".chars .ch")
    styles = [c.get_attribute("style") for c in chars]
    assert sum(alpha(s) > 0.01 for s in styles) > len(chars) // 2 and len(set(styles)) > 5
    units = panel.find_elements(By.CSS_SELECTOR, "select.unit option")
    assert len(units) == 32 and re.search(r"#\d+ · \w+ r=[+-]\d\.\d\d", units[0].text)
    ActionChains(driver).move_to_element(chars[4]).perform()
    wait_count(driver, ".panel[data-model=demo] .next .bar", 8)
    widths = [b.size["width"] for b in panel.find_elements(By.CSS_SELECTOR, ".next .bar")]
    assert widths[0] > 0 and widths == sorted(widths, reverse=True)

    before = panel.find_element(By.CSS_SELECTOR, ".about").text
    panel.find_element(By.CSS_SELECTOR, "select.signal option[value='f']").click()
    wait_for(driver, "return document.querySelector('.panel[data-model=demo] .about')"
                     f".textContent != {json.dumps(before)}")  # fmt: skip
    assert "forget gate" in panel.find_element(By.CSS_SELECTOR, ".about").text
    driver.save_screenshot(str(tmp_path / "lm.png"))


def classify(driver, tmp_path) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, '#tabs button[data-model="sentiment"]').click()
    panel = driver.find_element(By.CSS_SELECTOR, '.panel[data-model="sentiment"]')
    assert panel.is_displayed()
    box = panel.find_element(By.CSS_SELECTOR, "textarea")
    box.clear()
    box.send_keys("the plot was superb")
    panel.find_element(By.CSS_SELECTOR, "button.run").click()
    wait_count(driver, ".panel[data-model=sentiment] .bar", 2)
    bars = panel.find_elements(By.CSS_SELECTOR, ".bars .bar")
    assert sum(b.size["width"] for b in bars) > 0
    words = panel.find_elements(By.CSS_SELECTOR, ".words .word")
    assert [w.text for w in words] == ["the", "plot", "was", "superb"]
    assert all(alpha(w.get_attribute("style")) > 0 for w in words)
    info = driver.find_element(By.ID, "info-body").get_attribute("textContent")
    assert "sentiment" in info and "layer backends" in info and "attention" in info
    driver.save_screenshot(str(tmp_path / "classifier.png"))


@pytest.fixture(scope="module")
def page(playground, runs, tmp_path_factory):
    """The page of a server with a model of each task but the biLM, open in chromium."""
    missing = browser_missing()
    if missing and os.environ.get("CI"):
        pytest.fail(f"the browser test must run in CI: {missing}")
    if missing:
        pytest.skip(missing)
    tmp = tmp_path_factory.mktemp("browser")
    dirs = [playground["lm"], playground["classify"], runs["tag"], runs["translate"],
            runs["summarize"]]  # fmt: skip
    with running_server(dirs, tmp / "serve.log") as url, chromium(tmp / "profile") as driver:
        driver.get(url + "/")
        wait_count(driver, "#tabs button", 5)
        yield url, driver


def severe(driver) -> list[dict]:
    """The browser console's errors since the last call."""
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_the_page_streams_colors_and_classifies(page, tmp_path):
    url, driver = page
    generate_and_color(driver, url, tmp_path)
    classify(driver, tmp_path)
    assert severe(driver) == []
    assert (tmp_path / "lm.png").stat().st_size > 10_000
    assert (tmp_path / "classifier.png").stat().st_size > 10_000


def test_tagger_translator_and_summarizer_tabs_draw_their_results(page, tmp_path):
    from selenium.webdriver.common.by import By

    _, driver = page
    cases = {
        "tag": ("John lives in Rome .", ".tagged .entity"),
        "translate": ("open the file", ".heatmap td"),
        "summarize": ("The cat sat. The dog ran. A bird sang.", ".sentences .sentence"),
    }
    for name, (text, drawn) in cases.items():
        driver.find_element(By.CSS_SELECTOR, f'#tabs button[data-model="{name}"]').click()
        tab = driver.find_element(By.CSS_SELECTOR, f'.panel[data-model="{name}"]')
        box = tab.find_element(By.CSS_SELECTOR, "textarea")
        box.clear()
        box.send_keys(text)
        tab.find_element(By.CSS_SELECTOR, "button.run").click()
        wait_for(driver, f"return document.querySelector('.panel[data-model={name}] {drawn}')")
        assert tab.find_elements(By.CSS_SELECTOR, drawn)[0].is_displayed()
    sentences = driver.find_elements(By.CSS_SELECTOR, ".panel[data-model=summarize] .sentence")
    assert len(sentences) == 3 and any("picked" in s.get_attribute("class") for s in sentences)
    driver.save_screenshot(str(tmp_path / "summarizer.png"))
    assert severe(driver) == []
