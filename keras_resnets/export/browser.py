"""Runs an exported `.tflite` through MediaPipe's web Tasks API in headless Chromium.

`run_page(model, image, task)` serves the page of `docs/web` (index.html, main.js and the
pinned `@mediapipe/tasks-vision` that `make web` installs into `docs/web/node_modules`),
the model and the photo from a temporary folder on 127.0.0.1, opens it in headless Chromium
and returns the JSON the page wrote into `<pre id="result">`: classification `categories`
[{index, name, score}] best first; detection `detections` [{box {x, y, width, height} in the
photo's pixels, categories}]; segmentation the category mask (`width`, `height`, `labels`,
`mask` flat, row after row, `counts` per name). `screenshot=` also saves a PNG of the page.

The page lives in the repository, not in the installed package: pass `page=` to use another
copy. Nothing is fetched from the internet; the wasm files are the npm package's own.
"""

import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import urllib.parse
from pathlib import Path

import numpy as np

PAGE = Path(__file__).resolve().parents[2] / "docs" / "web"
PACKAGE = Path("node_modules") / "@mediapipe" / "tasks-vision"
TASKS = ("classification", "detection", "segmentation")
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# --dump-dom alone returns at the load event, before the page's async work. With a virtual
# time budget Chromium holds its clock while requests are pending, skips ahead when only
# timers wait, and dumps the DOM once this much virtual time has passed: the page finished
# first in every run here (3-4 s of real time on 2 cores; 11-18 s with 3 busy processes and
# 2 pages at once). `timeout` bounds the real time.
VIRTUAL_TIME_MS = 60_000
STATE = re.compile(r'<body[^>]*\bdata-state="(\w+)"')
ERROR = re.compile(r'<body[^>]*\bdata-error="([^"]*)"')
RESULT = re.compile(r'<pre id="result">(.*?)</pre>', re.S)


class BrowserUnavailableError(RuntimeError):
    """Chromium or the page's npm package is missing; the message says how to get it."""


class PageError(RuntimeError):
    """The page ran and reported a failure (MediaPipe's own message), or never finished."""


def find_chromium():
    """The Chromium to run: $CHROMIUM, else the first of `BROWSERS` on the PATH."""
    names = [os.environ["CHROMIUM"]] if os.environ.get("CHROMIUM") else BROWSERS
    found = next(filter(None, map(shutil.which, names)), None)
    if not found:
        raise BrowserUnavailableError(
            "headless Chromium is needed: `apt-get install chromium` (Debian; `make web` does it as root), "
            "or set CHROMIUM=/path/to/chrome"
        )
    return found


def check_page(page=PAGE):
    """The page folder, once it holds index.html, main.js and the npm package's wasm files."""
    page = Path(page)
    missing = [name for name in ("index.html", "main.js", PACKAGE / "wasm") if not (page / name).exists()]
    if missing:
        raise BrowserUnavailableError(
            f"{page} lacks {', '.join(map(str, missing))}: run `make web` (npm ci --prefix docs/web) "
            "to install the pinned @mediapipe/tasks-vision"
        )
    return page


def run_page(model, image, task="classification", max_results=-1, screenshot=None, window=(900, 700),
             timeout=120, page=PAGE, chromium=None):  # fmt: skip
    """The page's JSON result for `image` (a photo's path, or an (H, W, 3) uint8 array) run
    through `model` (a `.tflite` with MediaPipe metadata) in `task`.

    max_results: how many categories (classification) or detections to return; -1: all.
    screenshot: a path for a PNG of the page at `window` (width, height) pixels.
    Raises `BrowserUnavailableError` before any work when Chromium or the npm package is
    missing, and `PageError` with MediaPipe's message when the page fails.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")
    page, chromium = check_page(page), chromium or find_chromium()
    for path in (model, *([image] if isinstance(image, (str, os.PathLike)) else [])):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path} is not a file")
    with tempfile.TemporaryDirectory(prefix="keras_resnets_web_") as folder:
        site = Path(folder) / "site"
        site.mkdir()
        for name in ("index.html", "main.js", "node_modules"):
            os.symlink((page / name).resolve(), site / name)
        model_name = _name(model, "model.tflite")
        os.symlink(Path(model).resolve(), site / model_name)
        photo = _photo(image, site)
        query = urllib.parse.urlencode(dict(model=model_name, image=photo, task=task, max_results=int(max_results)))
        with _serve(site) as port:
            command = [
                chromium, "--headless", "--no-first-run", f"--user-data-dir={Path(folder) / 'profile'}",
                # Root (CI's containers) cannot start Chromium's sandbox; the page is our own, on loopback.
                "--no-sandbox",
                # WebGL, as a person's browser has it (MediaPipe takes the photo through it when it
                # can); without a GPU that is SwiftShader, which Chromium now uses only when asked.
                # Without WebGL (--disable-3d-apis) the results were the same, to the bit.
                "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                f"--virtual-time-budget={VIRTUAL_TIME_MS}", "--hide-scrollbars",
                f"--window-size={window[0]},{window[1]}",
                *([f"--screenshot={Path(screenshot).resolve()}"] if screenshot else []),
                "--dump-dom", f"http://127.0.0.1:{port}/index.html?{query}",
            ]  # fmt: skip
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise PageError(f"Chromium did not finish the page in {timeout} s") from None
    return _result(done)


def _photo(image, site):
    """The photo's name in the served folder: a path is linked, an array written as PNG
    (lossless, so the page sees exactly these pixels)."""
    if isinstance(image, (str, os.PathLike)):
        name = _name(image, "photo" + Path(image).suffix.lower())
        os.symlink(Path(image).resolve(), site / name)
        return name
    from PIL import Image

    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(site / "photo.png")
    return "photo.png"


def _name(path, default):
    """A file's own name where it is a plain one (the page shows it), else `default`."""
    name = Path(path).name
    return name if re.fullmatch(r"[\w.-]+", name) and name not in ("index.html", "main.js", "node_modules") else default


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    # Module scripts and wasm streaming compilation need these types.
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
                      ".tflite": "application/octet-stream"}  # fmt: skip

    def log_message(self, format, *args):
        pass


class _serve:
    """Serves `folder` on 127.0.0.1 at a free port, in a thread, for the `with` block."""

    def __init__(self, folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self.server.server_address[1]

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def _result(done):
    dom = done.stdout
    state = STATE.search(dom)
    state = state.group(1) if state else None
    if state == "done":
        return json.loads(html.unescape(RESULT.search(dom).group(1)))
    if state == "error":
        raise PageError(f"the page failed: {html.unescape(ERROR.search(dom).group(1))}")
    log = "\n".join(done.stderr.strip().splitlines()[-15:])
    raise PageError(f"the page did not finish (state {state!r}, Chromium exit {done.returncode}):\n{log}")
