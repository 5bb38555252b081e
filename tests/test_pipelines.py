"""The Pipeline base: the inference contract, declared ports, results and their files.

A tiny pix2pix-like model defined here (one direction, a size multiple of 8) checks that the
Translator relies on the translation contract alone.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from compogan.errors import CheckpointError, ConfigError, InputError
from compogan.models.base import GANModel
from compogan.models.cyclegan import CycleGAN
from compogan.models.edgeconnect import EdgeConnect
from compogan.models.stgan import STGAN
from compogan.models.tasks import TASKS, Inpainting, Placement, Translation
from compogan.pipelines import (
    PIPELINES,
    PORT_KINDS,
    CompositionResult,
    Compositor,
    Inpainter,
    InpaintResult,
    Pipeline,
    Port,
    TranslationResult,
    Translator,
    progress_bar,
)


@dataclass
class TinyConfig:
    width: int = 4


class EightMultipleTranslator(GANModel):
    """A pix2pix-like one-direction model whose network takes sides divisible by 8 only."""

    name = "test_eight_multiple"
    description = "test model: one direction, sides divisible by 8"
    Config = TinyConfig
    DataConfig = TinyConfig
    data_kind = "paired"
    network_names = ("G",)
    tasks = ("translate",)
    size_multiple = 8
    min_size = 16

    def build_networks(self) -> None:
        self.G = nn.Conv2d(3, 3, 3, padding=1)
        self.seen: list[tuple[int, int]] = []

    @property
    def directions(self) -> tuple[str, ...]:
        return ("AtoB",)

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        height, width = images.shape[-2:]
        assert height % 8 == 0 and width % 8 == 0 and min(height, width) >= 16
        self.seen.append((height, width))
        return torch.tanh(self.G(images))


class NoTaskModel(EightMultipleTranslator):
    name = "test_no_task"
    tasks = ()


# ---- the contract ------------------------------------------------------------------------------
def test_builtin_models_declare_and_satisfy_their_contracts(tiny_cyclegan: CycleGAN) -> None:
    members = {
        Translation: ("size_multiple", "min_size", "directions", "translate"),
        Inpainting: ("size_multiple", "min_size", "check_inpainting", "canny", "generate"),
        Placement: ("place",),
    }
    served = (
        (CycleGAN, "translate", Translation),
        (EdgeConnect, "inpaint", Inpainting),
        (STGAN, "compose", Placement),
    )
    for model_cls, task, contract in served:
        assert model_cls.tasks == (task,)
        assert all(hasattr(model_cls, member) for member in members[contract])
    assert isinstance(tiny_cyclegan, Translation) and tiny_cyclegan.directions == ("AtoB", "BtoA")
    assert (CycleGAN.size_multiple, CycleGAN.min_size) == (4, 8)
    assert (EdgeConnect.size_multiple, EdgeConnect.min_size) == (4, 16)
    assert set(PIPELINES) == set(TASKS)


def test_translator_works_for_any_model_of_the_translation_contract() -> None:
    torch.manual_seed(0)
    model = EightMultipleTranslator(TinyConfig())
    assert isinstance(model, Translation)
    translator = Translator(model, device="cpu")

    for height, width in ((13, 21), (5, 3), (33, 40)):
        pixels = np.random.default_rng(height).integers(0, 256, (height, width, 3), np.uint8)
        result = translator(pixels)
        assert isinstance(result, TranslationResult)
        assert result.image.size == (width, height)

    assert model.seen == [(16, 24), (16, 16), (40, 40)]
    assert translator.input_ports()[1].choices == ("AtoB",)
    with pytest.raises(ConfigError, match="cannot translate 'BtoA'; they translate AtoB"):
        translator(np.zeros((8, 8, 3), np.uint8), direction="BtoA")


# ---- a model that does not serve the task ------------------------------------------------------
def test_a_model_that_does_not_serve_the_task_is_refused(tiny_cyclegan: CycleGAN) -> None:
    with pytest.raises(CheckpointError, match="'test_no_task' model does not serve the translate"):
        Translator(NoTaskModel(TinyConfig()), device="cpu")
    with pytest.raises(CheckpointError, match="'cyclegan' model does not serve the inpaint task"):
        Inpainter(tiny_cyclegan, device="cpu")
    with pytest.raises(CheckpointError, match="'cyclegan' model does not serve the compose task"):
        Compositor(tiny_cyclegan, device="cpu")


def test_from_pretrained_refuses_another_task_before_reading_weights(
    tiny_cyclegan_dir: Path,
) -> None:
    (tiny_cyclegan_dir / "model.safetensors").unlink()  # nothing to read: refused before that
    with pytest.raises(CheckpointError) as info:
        Inpainter.from_pretrained(tiny_cyclegan_dir, device="cpu")
    assert str(info.value) == (
        f"{tiny_cyclegan_dir} holds a 'cyclegan' checkpoint, not 'edgeconnect'; "
        "'cyclegan' does not serve the inpaint task"
    )


# ---- declared ports ----------------------------------------------------------------------------
@pytest.mark.parametrize("pipeline", [Translator, Inpainter, Compositor], ids=lambda p: p.task)
def test_declared_ports_match_the_call_the_options_and_the_result(
    pipeline: type[Pipeline],
) -> None:
    call = list(inspect.signature(pipeline.__call__).parameters)[1:]
    assert [port.name for port in pipeline.inputs] == call
    constructor = list(inspect.signature(pipeline.__init__).parameters)
    assert [port.name for port in pipeline.options] == constructor[3:]
    for port in (*pipeline.inputs, *pipeline.options, *pipeline.outputs):
        assert port.kind in PORT_KINDS and port.help
        assert not port.choices or port.kind == "choice"
    assert pipeline.inputs[0].required


def test_declared_ports_of_each_pipeline() -> None:
    def kinds(ports: tuple[Port, ...]) -> list[tuple[str, str]]:
        return [(port.name, port.kind) for port in ports]

    assert kinds(Translator.inputs) == [("image", "image"), ("direction", "choice")]
    assert kinds(Translator.outputs) == [("image", "image")]
    assert kinds(Inpainter.inputs) == [("image", "image"), ("mask", "mask"), ("edges", "mask")]
    assert kinds(Inpainter.options) == [("work_size", "number"), ("blend", "choice")]
    assert Inpainter.options[1].choices == ("none", "poisson")
    assert kinds(Inpainter.outputs) == [("image", "image"), ("edges", "mask")]
    assert kinds(Compositor.inputs) == [
        ("foreground", "rgba"),
        ("background", "image"),
        ("init", "placement"),
        ("steps", "number"),
        ("keep_steps", "flag"),
    ]
    assert kinds(Compositor.outputs) == [
        ("composite", "image"),
        ("steps", "images"),
        ("warp", "matrix"),
    ]
    for result, pipeline in (
        (TranslationResult, Translator),
        (InpaintResult, Inpainter),
        (CompositionResult, Compositor),
    ):
        names = {field.name for field in fields(result)} | {"edges"}
        assert {port.name for port in pipeline.outputs} <= names
    with pytest.raises(ValueError, match="unknown port kind"):
        Port("x", "video")


def test_a_one_direction_model_offers_only_its_direction(tiny_cyclegan: CycleGAN) -> None:
    assert Translator(tiny_cyclegan, "cpu").input_ports()[1].choices == ("AtoB", "BtoA")
    tiny_cyclegan.loaded_networks = ("G_B",)
    direction = Translator(tiny_cyclegan, "cpu").input_ports()[1]
    assert direction.choices == ("BtoA",) and direction.default == "BtoA"
    tiny_cyclegan.loaded_networks = ("D_A",)
    with pytest.raises(CheckpointError, match="holds no generator"):
        Translator(tiny_cyclegan, "cpu")


# ---- results and their files -------------------------------------------------------------------
def composition_result() -> CompositionResult:
    return CompositionResult(
        composite=Image.new("RGB", (6, 4), (255, 0, 0)),
        warp=np.eye(3),
        steps=[Image.new("RGB", (6, 4), (0, 0, value)) for value in (0, 255)],
    )


def test_save_to_a_file_writes_the_requested_extras_beside_it(tmp_path: Path) -> None:
    result = composition_result()
    written = result.save(tmp_path / "out" / "comp.jpg", extras=["warp"])
    assert written == [tmp_path / "out" / "comp.jpg", tmp_path / "out" / "comp.warp.json"]
    assert json.loads(written[1].read_text())["homography"] == np.eye(3).tolist()
    assert result.save(tmp_path / "plain.png") == [tmp_path / "plain.png"]


def test_save_to_a_folder_writes_every_output(tmp_path: Path) -> None:
    written = composition_result().save(tmp_path / "out")
    names = sorted(path.name for path in written)
    assert names == [
        "composite.png",
        "composite.warp.json",
        "composite_step0.png",
        "composite_step1.png",
    ]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == names
    inpainted = InpaintResult(Image.new("RGB", (4, 4)), lambda: Image.new("L", (4, 4)))
    assert [path.name for path in inpainted.save(tmp_path / "filled")] == [
        "image.png",
        "image_edges.png",
    ]


def test_save_refuses_unknown_extras_and_targets_before_writing(tmp_path: Path) -> None:
    result = composition_result()
    with pytest.raises(ConfigError, match="has no output 'edges'"):
        result.save(tmp_path / "comp.png", extras=["edges"])
    with pytest.raises(InputError, match="neither an image file name"):
        result.save(tmp_path / "comp.txt")
    assert list(tmp_path.iterdir()) == []


# ---- many inputs -------------------------------------------------------------------------------
def test_map_takes_mappings_or_first_inputs_and_shared_inputs() -> None:
    calls: list[dict] = []

    class Echo(Pipeline):
        task = "translate"
        inputs = (Port("image", "image", required=True, help="x"), Port("gain", "number"))
        outputs = ()

        def __call__(self, image: str, gain: int | None = None) -> TranslationResult:
            calls.append({"image": image, "gain": gain})
            return TranslationResult(Image.new("RGB", (1, 1)))

    echo = Echo(EightMultipleTranslator(TinyConfig()), device="cpu")
    results = echo.map(["a", {"image": "b", "gain": 3}], gain=1)
    assert calls == []  # lazy
    assert len(list(results)) == 2 and calls == [
        {"image": "a", "gain": 1},
        {"image": "b", "gain": 3},
    ]


def test_progress_bar_is_off_for_one_item(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress_bar([1])) == [1]
    assert capsys.readouterr().err == ""
    assert list(progress_bar([1, 2], enabled=False)) == [1, 2]
    assert capsys.readouterr().err == ""
    assert list(progress_bar(iter([1, 2, 3]), total=3)) == [1, 2, 3]
    assert "3/3" in capsys.readouterr().err
