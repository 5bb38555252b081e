"""Config loading, the model registry and pretrained directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import compogan
from compogan.config import load_config, section_object
from compogan.errors import CheckpointError, ConfigError
from compogan.io.checkpoints import WEIGHTS_NAME
from compogan.models.cyclegan import CycleGAN, CycleGANConfig
from compogan.registry import available_models, get_model_class

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_yaml_and_overrides_merge_in_order(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  n_blocks: 6\ntrain:\n  steps: 10\n")
    config = load_config(CycleGAN, path, ["train.steps=20", "data.size=64"])
    assert config.model.n_blocks == 6
    assert config.model.ngf == 64
    assert config.train.steps == 20
    assert config.data.size == 64
    assert isinstance(section_object(config, "model"), CycleGANConfig)


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs" / "cyclegan").iterdir()))
def test_shipped_configs_load(name: str) -> None:
    load_config(CycleGAN, ROOT / "configs" / "cyclegan" / name)


def test_paper_config_is_the_papers_setting() -> None:
    config = load_config(CycleGAN, ROOT / "configs" / "cyclegan" / "horse2zebra.yaml")
    assert (config.model.n_blocks, config.model.ngf, config.model.gan_mode) == (9, 64, "lsgan")
    assert (config.model.lambda_a, config.model.lambda_identity) == (10.0, 0.5)
    assert (config.model.lr, config.model.beta1, config.model.pool_size) == (2e-4, 0.5, 50)
    assert (config.data.load_size, config.data.size, config.train.batch_size) == (286, 256, 1)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.stepz=3"], "stepz"),
        (["train.steps=many"], "steps"),
        (["nosection.x=1"], "nosection"),
        (["train.steps"], "section.key=value"),
    ],
)
def test_bad_overrides_are_one_line_config_errors(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(CycleGAN, None, overrides)
    assert "\n" not in str(caught.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(CycleGAN, tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(CycleGAN, listing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(CycleGAN, broken)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("model:\n  ngf_typo: 3\n")
    with pytest.raises(ConfigError, match="ngf_typo"):
        load_config(CycleGAN, unknown)


def test_registry() -> None:
    assert "cyclegan" in available_models()
    assert get_model_class("cyclegan") is CycleGAN
    with pytest.raises(ConfigError, match=r"unknown model 'nosuch'; available models: .*cyclegan"):
        get_model_class("nosuch")


def tiny_model() -> CycleGAN:
    return CycleGAN(CycleGANConfig(ngf=8, n_blocks=1, ndf=8))


def test_save_and_load_pretrained_round_trip(tmp_path: Path) -> None:
    model = tiny_model().eval()
    model.save_pretrained(tmp_path / "m")
    metadata = json.loads((tmp_path / "m" / "config.json").read_text())
    assert metadata["model"] == "cyclegan"
    assert metadata["networks"] == ["G_A", "G_B", "D_A", "D_B"]
    assert metadata["config"]["ngf"] == 8
    loaded = compogan.load(tmp_path / "m")
    assert isinstance(loaded, CycleGAN)
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    assert torch.equal(loaded.translate(images), model.translate(images))
    assert torch.equal(CycleGAN.from_pretrained(tmp_path / "m").G_B(images), model.G_B(images))


def test_pretrained_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint directory"):
        compogan.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="not a compogan checkpoint"):
        compogan.load(tmp_path / "empty")

    tiny_model().save_pretrained(tmp_path / "m")
    (tmp_path / "m" / WEIGHTS_NAME).write_bytes(b"not safetensors at all")
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        compogan.load(tmp_path / "m")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COMPOGAN_SKIP_CHECKSUMS", "1")
        with pytest.raises(CheckpointError, match="cannot read"):
            compogan.load(tmp_path / "m")

    tiny_model().save_pretrained(tmp_path / "other")
    metadata = json.loads((tmp_path / "other" / "config.json").read_text())
    metadata["model"] = "stgan"
    (tmp_path / "other" / "config.json").write_text(json.dumps(metadata))
    with pytest.raises(CheckpointError, match="holds a 'stgan' checkpoint, not 'cyclegan'"):
        CycleGAN.from_pretrained(tmp_path / "other")

    tiny_model().save_pretrained(tmp_path / "wide")
    metadata = json.loads((tmp_path / "wide" / "config.json").read_text())
    metadata["config"]["ngf"] = 16
    (tmp_path / "wide" / "config.json").write_text(json.dumps(metadata))
    with pytest.raises(CheckpointError, match="of cyclegan do not fit this architecture"):
        compogan.load(tmp_path / "wide")
