"""The importer registry and ``compogan.load`` on paths that are not compogan checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

import compogan
import compogan.registry
from compogan.errors import CheckpointError, ConfigError
from compogan.interop import registry as importers
from compogan.interop.registry import (
    find_importer,
    get_importer,
    import_official,
    importer_names,
    register_importer,
)
from compogan.models.base import GANModel
from compogan.pipelines import Translator


@dataclass
class PluginConfig:
    width: int = 2


class PluginModel(GANModel):
    """A model of a plugin, with official files ending in ``.plugin``."""

    name = "test_plugin"
    description = "test plugin model"
    Config = PluginConfig
    DataConfig = PluginConfig
    data_kind = "paired"
    network_names = ("G",)
    tasks = ("translate",)

    def build_networks(self) -> None:
        self.G = nn.Identity()

    @property
    def directions(self) -> tuple[str, ...]:
        return ("AtoB",)

    def translate(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        return -images


@pytest.fixture
def plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """PluginModel registered, with an importer for ``*.plugin`` and ``*.pth`` files."""
    monkeypatch.setitem(compogan.registry._REGISTERED, PluginModel.name, PluginModel)
    monkeypatch.setattr(importers, "_REGISTERED", {})
    register_importer(
        PluginModel.name,
        recognizes=lambda path: path.suffix in (".plugin", ".pth"),
        load=lambda path: PluginModel(PluginConfig()).eval(),
        accepts="a .plugin file",
    )


def test_builtin_importers_are_found_by_name() -> None:
    assert importer_names() == ("cyclegan", "edgeconnect", "ingan", "posewarp")
    assert get_importer("edgeconnect").model_name == "edgeconnect"
    assert find_importer(Path("vgg+gan_5000.h5")).model_name == "posewarp"
    with pytest.raises(ConfigError, match="no importer for official 'stgan' weights; models with"):
        import_official("stgan", "x.pth")


def test_edgeconnect_names_are_claimed_before_the_cyclegan_catch_all(tmp_path: Path) -> None:
    assert find_importer(tmp_path / "EdgeModel_gen.pth").model_name == "edgeconnect"
    assert find_importer(tmp_path / "horse2zebra.pth").model_name == "cyclegan"
    (tmp_path / "InpaintingModel_gen.pth").write_bytes(b"")
    assert find_importer(tmp_path).model_name == "edgeconnect"
    assert find_importer(tmp_path / "photo.png") is None


def test_a_registered_importer_is_asked_first_and_loads_through_compogan_load(
    plugin: None, tmp_path: Path
) -> None:
    model = compogan.load(tmp_path / "weights.plugin")
    assert isinstance(model, PluginModel)
    assert find_importer(tmp_path / "latest_net_G.pth").model_name == PluginModel.name
    translator = Translator.from_pretrained(tmp_path / "weights.plugin", device="cpu")
    assert translator.model.size_multiple == 1
    assert torch.equal(translator.translate_tensor(torch.ones(1, 3, 3, 5)), -torch.ones(1, 3, 3, 5))
    assert "test_plugin" in importer_names()


def test_an_importer_is_registered_once(plugin: None) -> None:
    for name in ("cyclegan", PluginModel.name):
        with pytest.raises(ValueError, match="already has an official-weight importer"):
            register_importer(name, bool, PluginModel, "")


def test_official_weights_of_another_task_are_refused_before_they_load(tmp_path: Path) -> None:
    (tmp_path / "EdgeModel_gen.pth").write_bytes(b"not read")
    with pytest.raises(CheckpointError) as info:
        Translator.from_pretrained(tmp_path, device="cpu")
    assert str(info.value) == (
        f"{tmp_path} holds official 'edgeconnect' weights, not 'cyclegan' or 'pix2pix'; "
        "'edgeconnect' does not serve the translate task"
    )


def test_unrecognised_paths_say_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError) as info:
        compogan.load(tmp_path / "notes.txt")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'notes.txt'} is not a compogan checkpoint")
    assert "cyclegan: a pytorch-CycleGAN-and-pix2pix .pth file" in message
    assert "edgeconnect: EdgeModel_gen.pth" in message
    with pytest.raises(CheckpointError, match="no such checkpoint directory or file"):
        compogan.load(tmp_path / "missing")
