"""Screenshots of the studio for the docs: the page mid-painting and when done.

    python scripts/make_web_screenshots.py          # writes docs/studio_painting.png, docs/studio_done.png

Starts ``neuralpaint serve --port 0`` on 127.0.0.1 with a fresh data folder, opens the page in
Debian's chromium (Playwright) at 1280x900, paints ``test_images/astronaut.png`` with 300 oil
strokes at 256 px and takes one screenshot a few seconds into the painting and one when it is done.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--strokes", type=int, default=300)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--after", type=float, default=8.0, help="seconds into the painting of the first screenshot")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([sys.executable, "-m", "neuralpaint", "serve", "--port", "0", "--data", data],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        try:
            url = server.stdout.readline().split()[2]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(600_000)
                page.goto(url)
                page.wait_for_selector("input[name=stroke][value=oilpaintbrush]", state="attached")
                page.get_by_test_id("photo-input").set_input_files(str(ROOT / "test_images" / "astronaut.png"))
                page.fill("#max_strokes", str(args.strokes))
                page.fill("#size", str(args.size))
                page.get_by_test_id("paint-button").click()
                page.wait_for_function("() => Number(document.querySelector('#live-canvas').dataset.frames) > 0")
                time.sleep(args.after)
                args.out.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out / "studio_painting.png"))
                page.wait_for_function("() => /^Done/.test(document.querySelector('#progress').textContent)")
                time.sleep(0.5)
                page.screenshot(path=str(args.out / "studio_done.png"))
                browser.close()
        finally:
            server.terminate()
            server.wait(30)
    print(f"wrote {args.out / 'studio_painting.png'} and {args.out / 'studio_done.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
