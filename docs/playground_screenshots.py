"""Screenshots of the playground page, one per tab, for docs/guides/playground.md.

Serves a language model (``--lm``, default ``runs/demo`` from ``make demo``) next to a
classifier, a tagger, a translator and a summarizer that this script trains in a few seconds on
small made-up data (the test suite's), opens the page in headless chromium (the browser test's
driver: ``/usr/bin/chromium`` and ``/usr/bin/chromedriver``), uses each tab and saves
``lm.png``, ``classifier.png``, ``tagger.png``, ``translator.png`` and ``summarizer.png``.

Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python docs/playground_screenshots.py --lm runs/demo
"""

from __future__ import annotations

import argparse
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.serve.browser import browser_missing, chromium, running_server
from tests.tiny_runs import COMMON, _classify_rows, _conll, _documents, _pairs, _run

OUT = Path(__file__).resolve().parent / "_static" / "playground"


def train_tasks(root: Path) -> dict[str, Path]:
    """Small classifier, tagger, translator and summarizer on made-up data (seconds each)."""
    rng = random.Random(0)
    files = {
        "classify.tsv": _classify_rows(rng, 300),
        "tag.conll": _conll(rng, 150),
        "translate.tsv": _pairs(rng, 400),
        "summarize.jsonl": _documents(rng, 150),
    }
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    small = ["--model.embedding_size=16", "--model.hidden_size=32", *COMMON]
    words = ["--data.level=word", "--model.encoder_layers=1", "--model.decoder_layers=1"]
    specs = {
        "sentiment": ["classify", "classify.tsv", "--model.pooling=attention",
                      "--trainer.max_steps=150"],
        "ner": ["tag", "tag.conll", "--trainer.max_steps=150"],
        "en-fr": ["translate", "translate.tsv", *words, "--trainer.max_steps=400"],
        "news": ["summarize", "summarize.jsonl", "--model.position_size=8",
                 "--trainer.max_steps=150"],
    }  # fmt: skip
    for name, (task, data, *extra) in specs.items():
        _run(["train", task, "--data", str(root / data), "--out", str(root / name),
              *small, *extra])  # fmt: skip
    return {name: root / name for name in specs}


def wait(driver: Any, script: str, timeout: float = 60.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, 0.2).until(lambda d: d.execute_script(script))


def panel(driver: Any, name: str) -> Any:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f'#tabs button[data-model="{name}"]').click()
    return driver.find_element(By.CSS_SELECTOR, f'.panel[data-model="{name}"]')


def fill(element: Any, text: str) -> None:
    element.clear()
    element.send_keys(text)


def shoot_lm(driver: Any, name: str, prompt: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    tab = panel(driver, name)
    fill(tab.find_element(By.CSS_SELECTOR, "textarea.prompt"), prompt)
    fill(tab.find_element(By.NAME, "max_tokens"), "240")
    fill(tab.find_element(By.NAME, "seed"), "1")
    tab.find_element(By.CSS_SELECTOR, "button.generate").click()
    wait(driver, f"return document.querySelector('.panel[data-model=\"{name}\"] .ch')")
    chars = tab.find_elements(By.CSS_SELECTOR, ".chars .ch")
    ActionChains(driver).move_to_element(chars[len(chars) // 3]).perform()
    wait(driver, f"return document.querySelector('.panel[data-model=\"{name}\"] .next .bar')")
    driver.execute_script("window.scrollTo(0, 0)")  # the hover scrolled; its panel stays


def shoot_task(driver: Any, name: str, text: str, ready: str) -> None:
    from selenium.webdriver.common.by import By

    tab = panel(driver, name)
    fill(tab.find_element(By.CSS_SELECTOR, "textarea"), text)
    tab.find_element(By.CSS_SELECTOR, "button.run").click()
    wait(driver, f"return document.querySelector('.panel[data-model=\"{name}\"] {ready}')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lm", type=Path, default=Path("runs/demo"), help="a language model")
    parser.add_argument("--prompt", default="KING HENRY.\n", help="the LM tab's prompt")
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go")
    args = parser.parse_args()
    missing = browser_missing()
    if missing:
        raise SystemExit(f"playground_screenshots: {missing}")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        runs = train_tasks(root)
        document = ("The plot mary saw rome. The film john saw oslo. The and paul saw paris. "
                    "The was mary saw oslo.")  # fmt: skip
        shots: dict[str, Callable[[Any], None]] = {
            "lm": lambda d: shoot_lm(d, args.lm.resolve().name, args.prompt),
            "classifier": lambda d: shoot_task(d, "sentiment", "the plot was superb", ".bar"),
            "tagger": lambda d: shoot_task(d, "ner", "Mary lives in Oslo .", ".entity"),
            "translator": lambda d: shoot_task(d, "en-fr", "open the new file", ".heatmap"),
            "summarizer": lambda d: shoot_task(d, "news", document, ".sentence"),
        }
        with running_server([args.lm, *runs.values()], root / "serve.log", 600) as url:
            with chromium(root / "profile", 1280, 1150) as driver:
                driver.get(url + "/")
                wait(driver, "return document.querySelectorAll('#tabs button').length == 5")
                for shot, act in shots.items():
                    act(driver)
                    driver.save_screenshot(str(args.out / f"{shot}.png"))
                    print(f"wrote {args.out / f'{shot}.png'}")


if __name__ == "__main__":
    main()
