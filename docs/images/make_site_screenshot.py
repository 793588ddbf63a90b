"""Regenerate docs/images/site.png: the demo site after an update against the fake arXiv.

    python docs/images/make_site_screenshot.py      # needs /usr/bin/chromium and playwright
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from dailypapers.scaffold import write_config

OUT = Path(__file__).with_name("site.png")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "papers.toml"
        write_config(config)
        text = config.read_text(encoding="utf-8")
        text = text.replace('outputs = ["readme"]', 'outputs = ["readme", "site"]', 1)
        config.write_text(text, encoding="utf-8")
        fake = [sys.executable, "-m", "dailypapers.offline.fake_arxiv", "--corpus", "demo", "--"]
        update = [sys.executable, "-m", "dailypapers.cli", "update"]
        subprocess.run([*fake, *update], cwd=folder, check=True)
        page_url = (Path(folder) / "site" / "index.html").as_uri() + "#q=reward+model"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 820})
            page.goto(page_url)
            page.locator("#results li summary").first.click()
            page.screenshot(path=str(OUT))
            browser.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
