"""The web page's handlers, model store and page layout, without a server or a browser."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

import compogan
from compogan.models.cyclegan import CycleGAN
from compogan.pipelines import PIPELINES, PORT_KINDS, Pipeline, PipelineResult, Port
from compogan.web.handlers import (
    BusyError,
    Gate,
    Limits,
    RequestTimeout,
    editor_mask,
    foreground,
    prepare,
    readable,
    run_request,
)
from compogan.web.models import ModelStore, discover

LIMITS = Limits(max_pixels=64 * 64, timeout_s=30)


def random_image(height: int, width: int, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture
def models_dir(tiny_cyclegan: CycleGAN, tmp_path: Path) -> Path:
    """A models folder holding one save_pretrained CycleGAN as ``dn``."""
    root = tmp_path / "models"
    tiny_cyclegan.save_pretrained(root / "dn")
    return root


@pytest.fixture
def store(models_dir: Path) -> ModelStore:
    return ModelStore(models_dir, device="cpu")


def translate(store: ModelStore, image: Any, **inputs: Any) -> Any:
    gate = Gate(LIMITS.workers, LIMITS.waiting)
    return run_request(store, gate, LIMITS, "translate", "dn", {"image": image, **inputs})


# ---- discovery and the model store --------------------------------------------------------------
def test_discover_finds_checkpoints_stopped_runs_and_official_files(models_dir: Path) -> None:
    early = models_dir / "runs" / "early" / "checkpoints" / "step_00000002"
    shutil.copytree(models_dir / "dn", early)
    (models_dir / "horse2zebra.pth").write_bytes(b"not read by discovery")
    (models_dir / "notes.txt").write_text("not a model")
    broken = models_dir / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    alien = models_dir / "alien"
    shutil.copytree(models_dir / "dn", alien)
    metadata = json.loads((alien / "config.json").read_text())
    (alien / "config.json").write_text(json.dumps({**metadata, "model": "nosuchmodel"}))

    entries, problems = discover(models_dir)

    by_key = {entry.key: entry for entry in entries}
    assert sorted(by_key) == ["dn", "horse2zebra.pth", "runs/early"]
    assert by_key["dn"].tasks == ("translate",) and by_key["dn"].model == "cyclegan"
    assert "dataset daynight" in by_key["dn"].trained_on
    assert by_key["horse2zebra.pth"].source == "official weights"
    assert sorted(problem.split(":")[0] for problem in problems) == ["alien", "broken"]
    assert any("nosuchmodel" in problem for problem in problems)


def test_a_missing_models_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(compogan.CompoganError, match="does not exist"):
        ModelStore(tmp_path / "nothing", device="cpu")


def test_a_model_is_loaded_once_under_concurrent_requests(
    store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    original = compogan.load

    def counting_load(path: Any, task: str | None = None) -> Any:
        calls.append(Path(path))
        time.sleep(0.1)
        return original(path, task)

    monkeypatch.setattr(compogan, "load", counting_load)
    found: list[Pipeline] = []
    threads = [
        threading.Thread(target=lambda: found.append(store.pipeline("dn", "translate")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(calls) == 1
    assert len({id(pipeline) for pipeline in found}) == 1
    assert "loaded on cpu" in store.panel()


# ---- requests -----------------------------------------------------------------------------------
def test_a_translate_request_returns_the_translation_of_the_input(store: ModelStore) -> None:
    image = random_image(24, 30)
    assert "not loaded yet" in store.panel()

    output = translate(store, image, direction="BtoA")

    assert output.ok, output.message
    result = output.values["image"]
    assert result.size == image.size
    assert np.abs(np.asarray(result, np.int16) - np.asarray(image, np.int16)).mean() > 1
    assert "dn**: cyclegan (translate)" in store.panel() and "loaded on cpu" in store.panel()


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"image": random_image(80, 80)}, "80x80 = 6400 pixels; this server takes at most 4096"),
        ({"image": None}, "Image is required"),
        ({"image": "missing.png"}, "file 'missing.png' is missing"),
        ({"image": np.zeros((4, 4, 3), np.float32)}, "uint8"),
        ({"image": random_image(8, 8), "direction": "sideways"}, "cannot translate 'sideways'"),
    ],
    ids=["too-many-pixels", "no-image", "missing-file", "float-array", "bad-direction"],
)
def test_bad_inputs_are_one_line_errors_and_the_next_request_works(
    inputs: dict[str, Any], message: str, store: ModelStore
) -> None:
    output = translate(store, **inputs)

    assert not output.ok and output.message.startswith("error: ")
    assert message in output.message and "\n" not in output.message
    assert output.values == {}
    assert translate(store, random_image(16, 16)).ok


def test_no_model_or_an_unknown_model_is_a_readable_error(store: ModelStore) -> None:
    gate = Gate(1, 0)
    image = {"image": random_image(8, 8)}
    assert "choose a model" in run_request(store, gate, LIMITS, "translate", None, image).message
    unknown = run_request(store, gate, LIMITS, "translate", "other", image).message
    assert unknown.startswith("error: no model 'other'")


def test_an_unexpected_failure_names_its_type_without_a_traceback(
    store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise KeyError("secret internals")

    monkeypatch.setattr(PIPELINES["translate"], "__call__", broken)
    message = translate(store, random_image(8, 8)).message
    assert message == "error: internal error (KeyError); the server's log has the details"
    assert readable(MemoryError()) == "error: out of memory; try a smaller image"


# ---- the gate: busy, timeouts, memory bound -----------------------------------------------------
def _run_in_thread(gate: Gate, work: Any, timeout_s: float = 5.0) -> threading.Thread:
    thread = threading.Thread(target=lambda: gate.run(work, timeout_s, lambda *_: None))
    thread.start()
    return thread


def test_the_gate_refuses_as_busy_once_workers_and_waiting_places_are_taken() -> None:
    gate = Gate(workers=1, waiting=1)
    release = threading.Event()
    running = _run_in_thread(gate, release.wait)
    waiting = _run_in_thread(gate, lambda: None)
    time.sleep(0.2)

    with pytest.raises(BusyError, match=r"^busy: the server is running or queueing 2 requests"):
        gate.run(lambda: None, 5.0, lambda *_: None)

    release.set()
    running.join()
    waiting.join()
    assert gate.run(lambda: 42, 5.0, lambda *_: None) == 42


def test_a_request_past_its_time_limit_times_out_and_keeps_its_worker_until_done() -> None:
    gate = Gate(workers=1, waiting=2)
    release = threading.Event()
    reports: list[str] = []

    with pytest.raises(RequestTimeout, match=r"ran longer than this server's limit of 0\.3 s"):
        gate.run(release.wait, 0.3, lambda fraction, message: reports.append(message))

    assert reports[0] == "waiting for a free worker" and reports[-1].startswith("running")
    with pytest.raises(BusyError, match=r"no worker became free within 0\.2 s"):
        gate.run(lambda: None, 0.2, lambda *_: None)
    release.set()
    assert gate.run(lambda: "free again", 1.0, lambda *_: None) == "free again"


def test_the_error_of_the_work_reaches_the_caller() -> None:
    def fail() -> None:
        raise compogan.CompoganError("bad input")

    with pytest.raises(compogan.CompoganError, match="bad input"):
        Gate(1, 0).run(fail, 1.0, lambda *_: None)


# ---- page values --------------------------------------------------------------------------------
def test_the_painted_strokes_of_an_editor_are_the_mask() -> None:
    background = random_image(10, 12)
    stroke = Image.new("RGBA", (12, 10), (0, 0, 0, 0))
    stroke.paste((255, 255, 255, 255), (2, 3, 6, 5))
    value = {"background": background, "layers": [stroke], "composite": background}

    mask = np.asarray(editor_mask(value, "mask", LIMITS, linked=True))

    assert mask.shape == (10, 12) and mask.dtype == np.uint8
    assert (mask[3:5, 2:6] == 255).all() and mask.sum() == 255 * 8
    unpainted = {"background": background, "layers": [], "composite": background}
    assert editor_mask(unpainted, "mask", LIMITS, linked=True) is None
    uploaded = Image.fromarray(
        np.where(np.arange(12) < 6, 255, 0).astype(np.uint8)[None].repeat(10, 0)
    )
    as_mask = editor_mask({"background": uploaded, "layers": []}, "mask", LIMITS, linked=False)
    assert np.array_equal(np.asarray(as_mask) > 127, np.asarray(uploaded) > 127)


def test_a_foreground_takes_its_alpha_from_the_mask_of_its_pair() -> None:
    image = random_image(6, 8)
    mask = Image.new("L", (8, 6), 0)
    mask.paste(255, (0, 0, 4, 6))

    rgba = foreground((image, mask), "foreground", LIMITS)

    assert rgba.mode == "RGBA"
    assert (np.asarray(rgba)[..., 3] > 127).sum() == 4 * 6
    with pytest.raises(compogan.CompoganError, match="mask is 3x3 but the foreground is 8x6"):
        foreground((image, Image.new("L", (3, 3))), "foreground", LIMITS)


def test_numbers_are_checked_against_their_port_range() -> None:
    port = Port("steps", "number", minimum=1, maximum=10, step=1)
    assert prepare(port, 3.0, LIMITS) == 3 and isinstance(prepare(port, 3.0, LIMITS), int)
    assert prepare(port, None, LIMITS) is None
    assert prepare(Port("weight", "number"), 0.25, LIMITS) == 0.25
    with pytest.raises(compogan.CompoganError, match="Steps must be at most 10, not 11"):
        prepare(port, 11, LIMITS)
    with pytest.raises(compogan.CompoganError, match="Steps must be a finite number"):
        prepare(port, float("nan"), LIMITS)
    choice = Port("blend", "choice", choices=("none", "poisson"))
    with pytest.raises(compogan.CompoganError, match="Blend must be one of none, poisson"):
        prepare(choice, "median", LIMITS)


# ---- the page: a tab per pipeline, built from the declarations ----------------------------------
@pytest.fixture
def pipeline_with_a_new_port_kind(monkeypatch: pytest.MonkeyPatch) -> type[Pipeline]:
    """A pipeline registered at run time whose required input is of a kind the page lacks."""
    monkeypatch.setitem(PORT_KINDS, "volume", "a 3-D scan")

    class ScanResult(PipelineResult):
        main = "image"

    class Scanner(Pipeline):
        task = "scan"
        inputs: ClassVar[tuple[Port, ...]] = (
            Port("scan", "volume", required=True, help="the scan"),
            Port("image", "image", help="a picture"),
        )
        outputs: ClassVar[tuple[Port, ...]] = (Port("image", "image"),)

    monkeypatch.setitem(PIPELINES, "scan", Scanner)
    return Scanner


def test_every_pipeline_gets_a_tab_and_an_unknown_kind_an_unsupported_note(
    store: ModelStore, pipeline_with_a_new_port_kind: type[Pipeline]
) -> None:
    from compogan.web.app import build_app

    demo = build_app(store, LIMITS)

    blocks = {block.elem_id: block for block in demo.blocks.values() if block.elem_id}
    for task, cls in PIPELINES.items():
        assert f"tab-{task}" in blocks and f"{task}-run" in blocks and f"{task}-status" in blocks
        for port in cls.outputs:
            assert f"{task}-out-{port.name}" in blocks
    assert "unsupported input" in blocks["scan-in-scan"].value
    assert blocks["translate-model"].value == "dn"
    assert "dn" in blocks["models-panel"].value

    output = run_request(store, Gate(1, 0), LIMITS, "scan", "dn", {"image": random_image(8, 8)})
    assert output.message.startswith("error: this page has no widget for the input 'scan'")


# ---- the command --------------------------------------------------------------------------------
def test_serve_binds_to_loopback_with_analytics_off_by_default(
    models_dir: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import compogan.web.app

    seen: dict[str, Any] = {}

    def fake_serve(models: str, **kwargs: Any) -> None:
        seen.update(kwargs, models=models, analytics=os.environ.get("GRADIO_ANALYTICS_ENABLED"))

    monkeypatch.setattr(compogan.web.app, "serve", fake_serve)
    result = run_cli("serve", "--models", models_dir, "--max-pixels", "100", "--workers", "2")

    assert result.code == 0, result.stderr
    assert seen["host"] == "127.0.0.1" and seen["port"] == 7860
    assert seen["analytics"] == "False"
    assert seen["limits"].max_pixels == 100 and seen["limits"].workers == 2


def test_serve_refuses_a_missing_models_folder_in_one_line(tmp_path: Path, run_cli) -> None:
    result = run_cli("serve", "--models", tmp_path / "nothing", "--port", "7999")
    assert result.code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "does not exist or is not a folder" in result.stderr


def test_serve_refuses_a_taken_port_in_one_line(models_dir: Path, run_cli) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--models", models_dir, "--port", port, "--device", "cpu")

    assert result.code == 1 and result.stderr.strip().count("\n") == 0
    assert f"error: cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "choose another --port" in result.stderr


def test_serve_without_gradio_names_the_extra_to_install(
    models_dir: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else find_spec(name)
    )
    result = run_cli("serve", "--models", models_dir)

    assert result.code == 1
    assert result.stderr.strip() == "error: the web page needs gradio: pip install 'compogan[web]'"


def test_serve_warns_when_bound_beyond_loopback_and_checks_its_limits(
    models_dir: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import compogan.web.app

    monkeypatch.setattr(compogan.web.app, "serve", lambda models, **kwargs: None)
    result = run_cli("serve", "--models", models_dir, "--host", "0.0.0.0")
    assert result.code == 0 and "warning: serving on 0.0.0.0: anyone" in result.stderr

    result = run_cli("serve", "--models", models_dir, "--workers", "0")
    assert result.code == 2 and "--workers" in result.stderr


def test_an_uploaded_file_is_checked_before_decoding_and_named_by_its_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compogan.web import handlers

    large = tmp_path / "large.png"
    random_image(80, 80).save(large)
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded"))
    with pytest.raises(compogan.CompoganError, match="80x80 = 6400 pixels"):
        handlers.read_upload(large, "image", LIMITS)
    monkeypatch.undo()

    broken = tmp_path / "upload-dir" / "broken.png"
    broken.parent.mkdir()
    broken.write_bytes(b"not an image at all")
    with pytest.raises(compogan.CompoganError) as error:
        handlers.read_upload(broken, "image", LIMITS)
    assert "'broken.png'" in str(error.value) and str(broken.parent) not in str(error.value)
    assert handlers.read_upload(large, "image", Limits()).size == (80, 80)


def test_an_upload_that_is_no_image_reaches_the_handler_unopened_and_fails_in_one_line(
    tmp_path: Path, store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradio.data_classes import ImageData

    from compogan.web.app import image_upload

    notes = tmp_path / "notes.png"
    notes.write_text("shopping list, not a picture\n")
    widget = image_upload(label="Image", elem_id="translate-in-image")
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: pytest.fail("opened by gradio"))
    path = widget.preprocess(ImageData(path=str(notes), orig_name="notes.png"))
    monkeypatch.undo()
    assert path == str(notes)

    output = translate(store, path)

    assert output.message == (
        "error: the image: cannot read image 'notes.png': not a PNG, JPEG, WebP, BMP or TIFF image"
    )
    assert translate(store, random_image(16, 16)).ok


def test_a_number_port_without_a_default_is_left_empty_not_zero() -> None:
    import gradio as gr

    from compogan.web.app import input_widgets

    with gr.Blocks():
        unset = input_widgets(Port("steps", "number"), "steps")[0]
        preset = input_widgets(Port("size", "number", default=256, step=1), "size")[0]
    assert isinstance(unset, gr.Textbox) and unset.value == ""
    assert isinstance(preset, gr.Number) and preset.value == 256
    assert prepare(Port("steps", "number"), "", LIMITS) is None


def test_a_placement_port_is_a_tick_box_and_four_sliders_read_as_its_text() -> None:
    import gradio as gr

    from compogan.pipelines.compose import parse_placement
    from compogan.web.app import Slot, input_widgets

    port = Port("init", "placement", help="initial placement")
    with gr.Blocks():
        widgets = input_widgets(port, "compose-in-init")
    assert isinstance(widgets[0], gr.Checkbox) and widgets[0].value is False
    assert [w.elem_id for w in widgets[1:]] == [
        f"compose-in-init-{name}" for name in ("x", "y", "scale", "angle")
    ]
    slot = Slot(port, widgets)
    assert slot.value([False, 0.5, 0.5, 0.5, 0.0]) is None
    text = slot.value([True, 0.25, 0.75, 0.4, -30.0])
    assert text == "0.25,0.75,0.4,-30" and parse_placement(text) == (0.25, 0.75, 0.4, -30.0)
    assert prepare(port, text, LIMITS) == text and prepare(port, None, LIMITS) is None
