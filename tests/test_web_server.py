"""The running web page: ``compogan serve`` in its own process with a tiny CycleGAN trained
here (and an untrained tiny EdgeConnect), driven by Debian's Chromium through Playwright, then
loaded with concurrent requests.

Needs gradio and playwright (the ``web`` extra) and a Chromium at ``$COMPOGAN_CHROMIUM`` or
``/usr/bin/chromium`` (``make test`` installs Debian's); never ``playwright install``. When one
is missing the tests skip visibly, and fail in CI (``$CI`` set).

Set ``$COMPOGAN_WEB_SCREENSHOT`` to a PNG path to also write the browser test's screenshot
there, small (palette colours): that is how docs/web.png is made.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_PIXELS = 128 * 128
WAITING = 2
START_TIMEOUT_S = 90
MEMORY_BOUND_MB = 1000
"""The server's peak resident memory (VmHWM) must stay under this, load test included: about
520 MB was measured (torch, gradio, the tiny CycleGAN and EdgeConnect). One worker runs at a
time, so 20 requests cost one computation's memory, not twenty."""
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
TRAINING = [
    "data.size=32",
    "model.ngf=8",
    "model.n_blocks=1",
    "model.ndf=8",
    "data.length=4",
    "data.test_length=2",
    "train.steps=2",
    "train.batch_size=1",
    "train.progress=false",
]


def missing(what: str) -> None:
    """Skip (fail in CI) for a missing dependency of these tests."""
    message = f"{what}; `make test` installs it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def need(module: str) -> None:
    """Skip (fail in CI) unless ``module`` can be imported."""
    if importlib.util.find_spec(module) is None:
        missing(f"the Python package {module} is not installed (pip install -e '.[web]')")


def chromium_path() -> str:
    path = os.environ.get("COMPOGAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        missing("no Chromium found (apt-get install chromium)")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def compogan_process(*args: str | Path, **kwargs: Any) -> Any:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "CUDA_VISIBLE_DEVICES": "",
    }
    return subprocess.Popen([sys.executable, "-m", "compogan", *map(str, args)], env=env, **kwargs)


class Server:
    """A ``compogan serve`` process; its output is collected in :attr:`log`."""

    def __init__(self, models: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log: list[str] = []
        self.process = compogan_process(
            "serve", "--models", models, "--port", port, "--device", "cpu",
            "--max-pixels", MAX_PIXELS, "--workers", 1, "--waiting", WAITING, "--timeout", 60,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(START_TIMEOUT_S):
            self.stop()
            pytest.fail(f"the server did not start in {START_TIMEOUT_S} s:\n{self.text}")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)
            if "open http://" in line:
                self.ready.set()

    @property
    def text(self) -> str:
        return "".join(self.log)

    def peak_memory_mb(self) -> float:
        """The process's peak resident memory (Linux VmHWM), in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The page on a free loopback port, serving a CycleGAN trained for 2 steps here."""
    need("gradio")
    models = tmp_path_factory.mktemp("models")
    training = compogan_process("train", "cyclegan", *TRAINING, "--run-dir", models / "dn")
    assert training.wait(120) == 0
    untrained_inpainter().save_pretrained(models / "fill")
    running = Server(models, free_port())
    yield running
    running.stop()


def untrained_inpainter() -> Any:
    """A tiny, untrained EdgeConnect: what it paints is noise, but where is exact."""
    import torch

    from compogan.models.edgeconnect import EdgeConnect, EdgeConnectConfig

    torch.manual_seed(0)
    config = EdgeConnectConfig(residual_blocks=1, content_weight=0.0, style_weight=0.0)
    return EdgeConnect(config).eval()


def photo(size: int) -> Image.Image:
    """A real photo (scikit-image's astronaut, inside its wheel) at ``size`` x ``size``."""
    from skimage import data

    return Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.LANCZOS)


# ---- the browser --------------------------------------------------------------------------------
def wait_status(page: Any, task: str, start: str) -> str:
    """The tab's status line once it starts with ``start``."""
    status = f"#{task}-status"
    page.wait_for_function(
        f"document.querySelector('{status}').innerText.trim().startsWith('{start}')",
        timeout=30_000,
    )
    return page.locator(status).inner_text().strip()


def upload(page: Any, elem_id: str, path: Path) -> None:
    """Put the file ``path`` into the image input ``elem_id`` (clearing what it shows)."""
    clear = page.locator(f"#{elem_id} button[aria-label='Clear']")
    if clear.count():
        clear.first.click()
    page.locator(f"#{elem_id} input[type=file]").set_input_files(path)
    page.locator(f"#{elem_id} img").first.wait_for(timeout=10_000)


def shown_image(page: Any, elem_id: str) -> Image.Image:
    source = page.locator(f"#{elem_id} img").first.get_attribute("src")
    return Image.open(io.BytesIO(page.request.get(source).body())).convert("RGB")


def save_small_png(path: Path, target: Path) -> None:
    """``path`` as a palette PNG at ``target`` (a few tens of KB)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(path) as shot:
        shot.convert("RGB").quantize(64).save(target, optimize=True)


def test_a_user_translates_an_upload_and_bad_uploads_show_their_errors(
    server: Server, tmp_path: Path
) -> None:
    need("playwright")
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    good, too_large = tmp_path / "photo.png", tmp_path / "large.png"
    photo(96).save(good)
    photo(160).save(too_large)
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("shopping list, not a picture\n")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 820})
            page.goto(server.url)
            page.wait_for_selector("#translate-run")
            upload(page, "translate-in-image", good)
            page.click("#translate-run")
            assert wait_status(page, "translate", "done").startswith("done in")
            result = shown_image(page, "translate-out-image")
            assert result.size == (96, 96)
            difference = np.abs(np.asarray(result, np.int16) - np.asarray(photo(96), np.int16))
            assert difference.mean() > 1
            screenshot = tmp_path / "page.png"
            page.screenshot(path=screenshot, full_page=True)

            upload(page, "translate-in-image", too_large)
            page.click("#translate-run")
            message = wait_status(page, "translate", "error")
            assert message == (
                "error: the image is 160x160 = 25600 pixels; this server takes at most "
                f"{MAX_PIXELS} pixels per image"
            )

            upload(page, "translate-in-image", not_an_image)
            page.click("#translate-run")
            message = wait_status(page, "translate", "error")
            assert message == (
                "error: the image: cannot read image 'notes.png': not a PNG, JPEG, WebP, BMP "
                "or TIFF image"
            )

            upload(page, "translate-in-image", good)
            page.click("#translate-run")
            assert wait_status(page, "translate", "done").startswith("done in")
            assert shown_image(page, "translate-out-image").size == (96, 96)

            page.get_by_role("tab", name="Models").click()
            panel = page.locator("#models-panel")
            panel.get_by_text("loaded on cpu").wait_for(timeout=10_000)
            assert "dn: cyclegan (translate)" in panel.inner_text()
        finally:
            browser.close()

    assert screenshot.stat().st_size > 10_000
    if os.environ.get("COMPOGAN_WEB_SCREENSHOT"):
        save_small_png(screenshot, Path(os.environ["COMPOGAN_WEB_SCREENSHOT"]))
    assert "Traceback" not in server.text


def test_a_user_paints_a_hole_with_the_brush_and_only_the_hole_is_filled(
    server: Server, tmp_path: Path
) -> None:
    need("playwright")
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    image = tmp_path / "photo.png"
    photo(128).save(image)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(server.url)
            page.wait_for_selector("#translate-run")
            page.get_by_role("tab", name="Inpaint").click()
            upload(page, "inpaint-in-image", image)
            page.wait_for_timeout(1000)  # the mask editor takes the image as its background
            page.locator("#inpaint-in-mask button[aria-label='Brush']").click()
            page.keyboard.press("Escape")
            box = page.locator("#inpaint-in-mask canvas").first.bounding_box()
            middle_x, middle_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(middle_x - 20, middle_y)
            page.mouse.down()
            page.mouse.move(middle_x + 20, middle_y, steps=8)
            page.mouse.up()
            page.click("#inpaint-run")
            assert wait_status(page, "inpaint", "done").startswith("done in")
            result = np.asarray(shown_image(page, "inpaint-out-image"), np.int16)
        finally:
            browser.close()

    changed = np.abs(result - np.asarray(photo(128), np.int16)).sum(-1) > 0
    assert result.shape == (128, 128, 3)
    assert 0.01 < changed.mean() < 0.5
    rows, columns = np.nonzero(changed)
    assert rows.min() > 10 and rows.max() < 118 and columns.min() > 0 and columns.max() < 127


# ---- load ---------------------------------------------------------------------------------------
def translate_over_http(url: str, image: bytes) -> str:
    """One translate request through gradio's HTTP API (upload, call, read the event stream);
    returns the page's status line, gradio's own error, or gradio's queue-full refusal (which
    can come before our busy gate sees the request when many arrive at once)."""
    import httpx

    with httpx.Client(base_url=url, timeout=60) as client:
        uploaded = client.post("/gradio_api/upload", files={"files": ("in.png", image)}).json()
        file = {"path": uploaded[0], "meta": {"_type": "gradio.FileData"}}
        call = client.post(
            "/gradio_api/call/run_translate", json={"data": ["dn", file, "AtoB", 1024, 64]}
        ).json()
        if "event_id" not in call:
            return f"queue full: {call.get('detail', call)}"
        stream = client.get(f"/gradio_api/call/run_translate/{call['event_id']}").text
    if "event: complete" not in stream:
        return f"gradio: {stream.strip()[-200:]}"
    data = stream.split("event: complete", 1)[1].split("data:", 1)[1].strip()
    return str(json.loads(data)[0])


def test_twenty_concurrent_requests_are_served_or_refused_as_busy(server: Server) -> None:
    buffer = io.BytesIO()
    photo(128).save(buffer, format="PNG")
    image = buffer.getvalue()

    start = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: translate_over_http(server.url, image), range(20)))
    elapsed = time.monotonic() - start

    done = [answer for answer in answers if answer.startswith("done")]
    busy = [answer for answer in answers if answer.startswith("busy: ")]
    queue_full = [answer for answer in answers if answer.startswith("queue full: Queue is full")]
    assert len(done) + len(busy) + len(queue_full) == 20, answers
    assert done and elapsed < 60, (answers, elapsed)
    assert all("try again" in answer for answer in busy)
    peak = server.peak_memory_mb()
    print(
        f"{len(done)} done, {len(busy)} busy, {len(queue_full)} refused by gradio's queue "
        f"in {elapsed:.1f} s; peak memory {peak:.0f} MB"
    )
    assert peak < MEMORY_BOUND_MB
    assert translate_over_http(server.url, image).startswith("done")
    assert server.process.poll() is None
