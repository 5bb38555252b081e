"""The gradio page: one tab per pipeline of :data:`compogan.pipelines.PIPELINES`, built from
its declared ports, and a Models tab.

Each tab has a model menu (the models under ``--models`` that serve its task), a widget per
input and option port (:func:`input_widgets`; a port kind without one shows an "unsupported
input" note), a Run button, a status line (``done``, ``busy:``, ``timed out:`` or
``error:``) and a display per output port. A "mask" input is an image editor: with an image
input in the same tab, the uploaded image becomes its background and the painted strokes are
the mask. An "rgba" input takes an image with alpha, or any image plus an optional mask.

Page element ids (for tests and styling): ``<task>-model``, ``<task>-in-<port>``,
``<task>-opt-<port>``, ``<task>-run``, ``<task>-status``, ``<task>-out-<port>``,
``models-panel``.
"""

from __future__ import annotations

import inspect
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import gradio as gr
from PIL import Image

from compogan.errors import InputError
from compogan.pipelines import PIPELINES
from compogan.pipelines.base import Pipeline, Port
from compogan.web.handlers import (
    INPUT_WIDGET_KINDS,
    Gate,
    Limits,
    Progress,
    choices_for,
    readable,
    run_request,
)
from compogan.web.models import ModelStore

THEME_FONTS = {"font": ["system-ui", "sans-serif"], "font_mono": ["monospace"]}
"""Local fonts only: the default theme would fetch web fonts, and the page stays offline."""
IMAGE_HEIGHT = 320
"""The height of every image widget on the page, in CSS px."""
UPLOAD_CACHE_S = (600, 3600)
"""gradio's upload and result files: every 10 minutes, those older than an hour are deleted."""
UPLOAD_SOURCES = ["upload", "clipboard"]
"""Where image inputs come from: files and the clipboard (no webcam)."""


def _unopened_upload(gradio_preprocess: Callable[[Any], Any], payload: Any) -> Any:
    """An uploaded file's path (str), not opened; a pasted ``data:`` URL (or no upload) goes
    through gradio's own ``gradio_preprocess``."""
    if payload is None or payload.path is None or str(payload.url or "").startswith("data:"):
        return gradio_preprocess(payload)
    return str(payload.path)


def image_upload(label: str, elem_id: str) -> gr.Image:
    """An image input whose upload reaches the handler as its file path, unopened.

    gradio's own preprocessing opens every upload with PIL, so a file that is no image (or a
    decompression bomb) would fail there with gradio's generic error; instead the handler
    checks the file size, pixel count and format (:func:`compogan.web.handlers.to_image`)
    before any pixel is decoded and names the problem in one line. (The instance's
    ``preprocess`` is wrapped rather than subclassed: gradio writes a ``.pyi`` file beside the
    source of every component subclass.)
    """
    widget = gr.Image(
        type="filepath",
        image_mode=None,
        sources=UPLOAD_SOURCES,
        height=IMAGE_HEIGHT,
        label=label,
        elem_id=elem_id,
    )
    widget.preprocess = partial(_unopened_upload, widget.preprocess)  # type: ignore[method-assign]
    return widget


@dataclass
class Slot:
    """The page components of one input or option port (an "rgba" port has two)."""

    port: Port
    components: list[gr.components.Component]

    def value(self, values: Sequence[Any]) -> Any:
        """This port's page value from its components' values: a tuple for "rgba", the
        ``x,y,scale,angle`` text (or None while its box is unticked) for "placement"."""
        if self.port.kind == "rgba":
            return tuple(values)
        if self.port.kind == "placement":
            return ",".join(f"{float(v):g}" for v in values[1:]) if values[0] else None
        return values[0] if values else None


def _info(port: Port) -> str:
    return port.help + (" (required)" if port.required else "")


PLACEMENT_SLIDERS = (
    ("x", "centre x (fraction of the width)", 0.0, 1.0, 0.5, 0.01),
    ("y", "centre y (fraction of the height)", 0.0, 1.0, 0.5, 0.01),
    ("scale", "width (fraction of the background's)", 0.05, 2.0, 0.5, 0.01),
    ("angle", "angle (degrees, counter-clockwise)", -180.0, 180.0, 0.0, 1.0),
)
"""The sliders of a "placement" port: name, label, minimum, maximum, start, step."""


def placement_widgets(label: str, info: str, elem_id: str) -> list[gr.components.Component]:
    """A tick box (unticked: the pipeline's default placement) and a slider per number."""
    widgets: list[gr.components.Component] = [
        gr.Checkbox(value=False, label=f"Set the {label.lower()}", info=info, elem_id=elem_id)
    ]
    with gr.Row():
        for name, title, low, high, start, step in PLACEMENT_SLIDERS:
            widgets.append(
                gr.Slider(
                    low, high, value=start, step=step, label=title, elem_id=f"{elem_id}-{name}"
                )
            )
    return widgets


def input_widgets(port: Port, elem_id: str) -> list[gr.components.Component]:
    """The components of one input or option port; none (and a note) for a kind without a
    widget."""
    label, info = port.title, _info(port)
    kind = port.kind
    if kind == "image":
        return [image_upload(label=label, elem_id=elem_id)]
    if kind == "rgba":
        return [
            image_upload(label=f"{label} (with alpha)", elem_id=elem_id),
            image_upload(
                label=f"{label} mask (optional; white = opaque)", elem_id=f"{elem_id}-mask"
            ),
        ]
    if kind == "mask":
        brush = gr.Brush(colors=["#ffffff"], default_color="#ffffff", color_mode="fixed")
        return [
            gr.ImageEditor(
                type="pil",
                image_mode="RGBA",
                label=f"{label}: paint it (white)",
                brush=brush,
                sources=UPLOAD_SOURCES,
                height=IMAGE_HEIGHT,
                elem_id=elem_id,
            )
        ]
    if kind == "number" and port.default is None:
        return [
            gr.Textbox(
                value="",
                label=label,
                info=info,
                placeholder="empty: the pipeline's default",
                elem_id=elem_id,
            )
        ]
    if kind == "number":
        integer = port.step is not None and float(port.step).is_integer()
        return [
            gr.Number(
                value=port.default,
                label=label,
                info=info,
                minimum=port.minimum,
                maximum=port.maximum,
                step=port.step or 1,
                precision=0 if integer else None,
                elem_id=elem_id,
            )
        ]
    if kind == "choice":
        choices = [str(choice) for choice in port.choices]
        default = None if port.default is None else str(port.default)
        return [
            gr.Dropdown(
                choices=choices,
                value=default,
                label=label,
                info=info,
                allow_custom_value=not choices,  # choices that come from the chosen model
                elem_id=elem_id,
            )
        ]
    if kind == "flag":
        return [gr.Checkbox(value=bool(port.default), label=label, info=info, elem_id=elem_id)]
    if kind == "text":
        value = "" if port.default is None else str(port.default)
        return [gr.Textbox(value=value, label=label, info=info, elem_id=elem_id)]
    if kind == "pose":
        return [gr.File(type="filepath", label=f"{label} (pose file)", elem_id=elem_id)]
    if kind == "placement":
        return placement_widgets(label, info, elem_id)
    gr.Markdown(
        f"*unsupported input: **{port.title}** is of kind '{kind}', which this page has no "
        "widget for; use the Python API or the command line for it.*",
        elem_id=elem_id,
    )
    return []


def output_widget(port: Port, elem_id: str) -> gr.components.Component:
    """The display of one output port: images for image kinds, a gallery for image lists,
    text for anything else."""
    if port.kind in ("image", "rgba", "mask"):
        return gr.Image(
            type="pil",
            format="png",
            label=port.title,
            elem_id=elem_id,
            interactive=False,
            height=IMAGE_HEIGHT,
            buttons=["download", "fullscreen"],
        )
    if port.kind == "images":
        return gr.Gallery(
            format="png",
            label=port.title,
            elem_id=elem_id,
            columns=4,
            height=IMAGE_HEIGHT,
            buttons=["download", "fullscreen"],
        )
    return gr.Textbox(label=port.title, info=port.help, elem_id=elem_id, interactive=False)


def _with_progress(count: int, run: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    """``run(*values, progress)`` declared with ``count`` positional values and a trailing
    gradio Progress, which gradio finds by the signature and passes last."""

    def handler(*args: Any) -> list[Any]:
        *values, progress = args
        return run(*values, progress=progress)

    parameters = [
        inspect.Parameter(f"value{index}", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for index in range(count)
    ]
    parameters.append(
        inspect.Parameter(
            "progress", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=gr.Progress()
        )
    )
    handler.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return handler


def _reporter(progress: Any) -> Progress:
    def report(fraction: float | None, message: str) -> None:
        progress(fraction, desc=message)

    return report


def _model_choices(store: ModelStore, task: str) -> list[tuple[str, str]]:
    return [(f"{entry.key} ({entry.model})", entry.key) for entry in store.for_task(task)]


class PipelineTab:
    """The tab of one pipeline (see the module docstring)."""

    def __init__(
        self, task: str, cls: type[Pipeline], store: ModelStore, gate: Gate, limits: Limits
    ) -> None:
        self.task, self.cls, self.store, self.gate, self.limits = task, cls, store, gate, limits
        choices = _model_choices(store, task)
        self.model = gr.Dropdown(
            choices=choices,
            value=choices[0][1] if choices else None,
            label="Model",
            elem_id=f"{task}-model",
        )
        if not choices:
            gr.Markdown(
                f"No model for the {task} task under `{store.root}`: put a run directory or "
                "official weights there and rescan in the Models tab."
            )
        with gr.Row():
            with gr.Column():
                self.inputs = [
                    Slot(port, input_widgets(port, f"{task}-in-{port.name}")) for port in cls.inputs
                ]
                self.options: list[Slot] = []
                if cls.options:
                    with gr.Accordion("Options", open=False):
                        self.options = [
                            Slot(port, input_widgets(port, f"{task}-opt-{port.name}"))
                            for port in cls.options
                        ]
                self.button = gr.Button("Run", variant="primary", elem_id=f"{task}-run")
            with gr.Column():
                self.status = gr.Markdown("", elem_id=f"{task}-status")
                self.outputs = [
                    output_widget(port, f"{task}-out-{port.name}") for port in cls.outputs
                ]
        self.linked = self._link_masks()
        self._wire()

    def _link_masks(self) -> tuple[str, ...]:
        """Make the tab's first image input the background of its mask editors; returns the
        names of the linked mask inputs."""
        images = [slot for slot in self.inputs if slot.port.kind == "image" and slot.components]
        masks = [slot for slot in self.inputs if slot.port.kind == "mask" and slot.components]
        if not images or not masks:
            return ()

        def as_background(image: Any) -> dict[str, Any] | None:
            return (
                None if image is None else {"background": image, "layers": [], "composite": image}
            )

        for mask in masks:
            images[0].components[0].change(
                as_background, images[0].components[0], mask.components[0], queue=False
            )
        return tuple(mask.port.name for mask in masks)

    def _components(self) -> list[gr.components.Component]:
        return [
            component for slot in (*self.inputs, *self.options) for component in slot.components
        ]

    def _split(self, values: Sequence[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Page values (in :meth:`_components` order) → (inputs, options) by port name."""
        found: list[dict[str, Any]] = [{}, {}]
        position = 0
        for group, slots in enumerate((self.inputs, self.options)):
            for slot in slots:
                count = len(slot.components)
                found[group][slot.port.name] = slot.value(values[position : position + count])
                position += count
        return found[0], found[1]

    def run(self, key: str | None, *values: Any, progress: Any) -> list[Any]:
        """The Run button: status line, then one value per output display."""
        inputs, options = self._split(values)
        output = run_request(
            self.store,
            self.gate,
            self.limits,
            self.task,
            key,
            inputs,
            options,
            progress=_reporter(progress),
            linked=self.linked,
        )
        return [output.message, *(output.values.get(port.name) for port in self.cls.outputs)]

    def refresh_choices(self, key: str | None) -> list[Any]:
        """After a model is picked: its choices for the "choice" inputs, and a status line."""
        choice_slots = [slot for slot in self.inputs if slot.port.kind == "choice"]
        try:
            narrowed = choices_for(self.store, self.task, key)
        except Exception as error:
            return [readable(error), *(gr.update() for _ in choice_slots)]
        updates = []
        for slot in choice_slots:
            choices, default = narrowed.get(slot.port.name, (slot.port.choices, slot.port.default))
            updates.append(
                gr.update(
                    choices=[str(choice) for choice in choices], value=default and str(default)
                )
            )
        return ["" if key else "choose a model", *updates]

    def _wire(self) -> None:
        components = self._components()
        self.button.click(
            _with_progress(1 + len(components), self.run),
            [self.model, *components],
            [self.status, *self.outputs],
            api_name=f"run_{self.task}",
            concurrency_limit=None,
            show_progress="full",
        )
        choice_components = [
            slot.components[0] for slot in self.inputs if slot.port.kind == "choice"
        ]
        if choice_components:
            self.model.change(
                self.refresh_choices,
                self.model,
                [self.status, *choice_components],
                api_name=False,
                queue=False,
            )

    def refresh_models(self) -> Any:
        """The model menu after a rescan."""
        choices = _model_choices(self.store, self.task)
        return gr.update(choices=choices, value=choices[0][1] if choices else None)


def build_app(store: ModelStore, limits: Limits) -> gr.Blocks:
    """The page (not launched): one tab per pipeline in :data:`PIPELINES`, then Models."""
    gate = Gate(limits.workers, limits.waiting)
    with gr.Blocks(title="compogan", analytics_enabled=False, delete_cache=UPLOAD_CACHE_S) as demo:
        gr.Markdown(
            "## compogan\nCompositional image synthesis with GANs: pick a model, give the "
            f"inputs, run. Images up to {limits.max_pixels} pixels and {limits.max_upload_mb:g} "
            f"MB; at most {limits.workers} request(s) run at once."
        )
        tabs: list[PipelineTab] = []
        with gr.Tabs():
            for task, cls in PIPELINES.items():
                with gr.Tab(task.capitalize(), id=task, elem_id=f"tab-{task}"):
                    tabs.append(PipelineTab(task, cls, store, gate, limits))
            with gr.Tab("Models", id="models", elem_id="tab-models") as models_tab:
                panel = gr.Markdown(store.panel(), elem_id="models-panel")
                rescan = gr.Button("Rescan the models folder", elem_id="models-rescan")

        def show_panel() -> str:
            return store.panel()

        def rescan_models() -> list[Any]:
            store.rescan()
            return [store.panel(), *(tab.refresh_models() for tab in tabs)]

        models_tab.select(show_panel, None, panel, queue=False, api_name=False)
        rescan.click(rescan_models, None, [panel, *(tab.model for tab in tabs)], api_name=False)
        for tab in tabs:
            if any(slot.port.kind == "choice" for slot in tab.inputs):
                demo.load(
                    tab.refresh_choices,
                    tab.model,
                    [tab.status, *(s.components[0] for s in tab.inputs if s.port.kind == "choice")],
                    api_name=False,
                    queue=False,
                )
    return demo


def check_port(host: str, port: int) -> None:
    """Refuse, before gradio starts, an address this machine cannot serve on.

    Raises:
        InputError: the port is taken or the host is not an address of this machine.
    """
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, port))
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError(
            f"cannot serve on {host}:{port}: {reason}; choose another --port or --host"
        ) from None


def serve(
    models: str,
    host: str = "127.0.0.1",
    port: int = 7860,
    device: str = "auto",
    limits: Limits | None = None,
) -> None:
    """Serve the page until interrupted: no share link, no analytics, loopback by default.

    PIL's own decompression-bomb limit is set to ``limits.max_pixels`` for the process, so
    the images gradio decodes itself (the image editor's layers) are bounded too.

    Raises:
        InputError: the models folder does not exist, or the port is taken.
        ConfigError: the device is not available, or bad limits.
    """
    limits = limits or Limits()
    store = ModelStore(models, device)
    check_port(host, port)
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    demo = build_app(store, limits)
    demo.queue(max_size=4 * (limits.workers + limits.waiting), default_concurrency_limit=None)
    demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        show_error=False,
        quiet=True,
        prevent_thread_lock=True,
        ssr_mode=False,
        enable_monitoring=False,
        mcp_server=False,
        pwa=False,
        max_file_size=int(limits.max_upload_mb * 1_000_000),
        theme=gr.themes.Base(**THEME_FONTS),
    )
    print(
        f"compogan serve: {len(store.entries)} model(s) from {store.root} on {store.device}; "
        f"open http://{host}:{port} (Ctrl+C stops)",
        flush=True,
    )
    demo.block_thread()


__all__ = [
    "INPUT_WIDGET_KINDS",
    "PipelineTab",
    "Slot",
    "build_app",
    "check_port",
    "image_upload",
    "input_widgets",
    "serve",
]
