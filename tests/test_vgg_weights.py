"""Tests of the VGG-19 feature extractor and of pretrained-weight resolution (no network)."""

from pathlib import Path
from urllib.error import URLError

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from compogan import weights as weights_module
from compogan.errors import CheckpointError, ConfigError, InputError, WeightsNotFoundError
from compogan.nn import LAYER_INDEX, VGG19, load_vgg19
from compogan.weights import VGG19_WEIGHTS, WeightSpec, load_state_dict_file, resolve_weights

TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
TORCHVISION_KEYS = [
    f"features.{index}.{kind}" for index in TORCHVISION_CONV_INDICES for kind in ("weight", "bias")
]
FILENAME = "model-0123abcd.pth"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point TORCH_HOME and COMPOGAN_WEIGHTS at empty temporary dirs; forbid downloads."""
    dirs = {"torch_home": tmp_path / "torch_home", "env": tmp_path / "env_weights"}
    dirs["hub"] = dirs["torch_home"] / "hub" / "checkpoints"
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("TORCH_HOME", str(dirs["torch_home"]))
    monkeypatch.setenv("COMPOGAN_WEIGHTS", str(dirs["env"]))
    monkeypatch.setenv("COMPOGAN_OFFLINE", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return dirs


@pytest.fixture(scope="module")
def fake_vgg_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, VGG19]:
    """A torchvision-style VGG-19 file: random feature weights plus (tiny) classifier entries."""
    torch.manual_seed(0)
    model = VGG19()
    state = dict(model.state_dict())
    state["classifier.0.weight"] = torch.zeros(2, 2)
    state["classifier.0.bias"] = torch.zeros(2)
    path = tmp_path_factory.mktemp("vgg") / VGG19_WEIGHTS.filename
    torch.save(state, path)
    return path, model


def test_state_dict_keys_match_torchvision() -> None:
    assert list(VGG19().state_dict()) == TORCHVISION_KEYS


def test_layer_index_names() -> None:
    assert LAYER_INDEX["conv1_1"] == 0
    assert LAYER_INDEX["relu1_1"] == 1
    assert LAYER_INDEX["pool1"] == 4
    assert LAYER_INDEX["relu2_2"] == 8
    assert LAYER_INDEX["relu3_4"] == 17
    assert LAYER_INDEX["relu4_4"] == 26
    assert LAYER_INDEX["relu5_2"] == 31
    assert LAYER_INDEX["pool5"] == 36
    assert len(LAYER_INDEX) == 37
    assert VGG19.LAYER_INDEX is LAYER_INDEX
    layers = VGG19().features
    assert all(isinstance(layers[LAYER_INDEX[f"pool{b}"]], nn.MaxPool2d) for b in range(1, 6))
    assert isinstance(layers[LAYER_INDEX["relu4_1"]], nn.ReLU)
    assert isinstance(layers[LAYER_INDEX["conv4_1"]], nn.Conv2d)


def test_forward_returns_requested_layers_and_stops_early() -> None:
    vgg = VGG19(pooling="avg")
    assert isinstance(vgg.features[4], nn.AvgPool2d)
    ran: list[int] = []
    for index, layer in enumerate(vgg.features):
        layer.register_forward_hook(lambda *_, index=index: ran.append(index))
    feats = vgg(torch.zeros(2, 3, 32, 32), ["relu2_1", "conv1_1"])
    assert list(feats) == ["relu2_1", "conv1_1"]
    assert feats["conv1_1"].shape == (2, 64, 32, 32)
    assert feats["relu2_1"].shape == (2, 128, 16, 16)
    assert max(ran) == LAYER_INDEX["relu2_1"]


def test_forward_normalises_minus_one_one_input() -> None:
    vgg = VGG19()
    with torch.no_grad():
        first = vgg.features[0]
        first.weight.zero_()
        first.bias.zero_()
        first.weight[0, 0, 1, 1] = 1.0
    mid_grey = torch.full((1, 3, 4, 4), 0.0)
    out = vgg(mid_grey, ["conv1_1"])["conv1_1"][0, 0, 1, 1]
    assert out.item() == pytest.approx((0.5 - 0.485) / 0.229, rel=1e-5)


def test_vgg_is_frozen_and_stays_in_eval() -> None:
    vgg = VGG19()
    assert not any(p.requires_grad for p in vgg.parameters())
    assert not vgg.training
    nn.Sequential(vgg).train()
    assert not vgg.training


def test_forward_rejects_unknown_layer_and_grey_images() -> None:
    vgg = VGG19()
    with pytest.raises(ConfigError, match=r"relu6_1.*valid names: conv1_1, relu1_1"):
        vgg(torch.zeros(1, 3, 8, 8), ["relu6_1"])
    with pytest.raises(ConfigError, match="pooling"):
        VGG19(pooling="median")
    with pytest.raises(InputError, match="RGB"):
        vgg(torch.zeros(1, 1, 8, 8), ["relu1_1"])


def test_load_vgg19_from_explicit_file(fake_vgg_file: tuple[Path, VGG19]) -> None:
    path, source = fake_vgg_file
    vgg = load_vgg19(path, pooling="avg")
    torch.testing.assert_close(vgg.features[34].weight, source.features[34].weight)
    assert isinstance(vgg.features[36], nn.AvgPool2d)
    assert not any(p.requires_grad for p in vgg.parameters())


def test_load_vgg19_from_env_dir(
    fake_vgg_file: tuple[Path, VGG19], isolated_dirs: dict[str, Path]
) -> None:
    path, source = fake_vgg_file
    (isolated_dirs["env"] / VGG19_WEIGHTS.filename).symlink_to(path)
    vgg = load_vgg19()
    torch.testing.assert_close(vgg.features[0].weight, source.features[0].weight)


def test_load_vgg19_missing_weights_message() -> None:
    with pytest.raises(WeightsNotFoundError) as info:
        load_vgg19()
    message = str(info.value)
    assert "vgg19-dcbb9e9d.pth" in message
    assert "$COMPOGAN_WEIGHTS" in message
    assert str(Path("hub") / "checkpoints") in message
    assert VGG19_WEIGHTS.url in message
    assert "\n" not in message


def test_load_vgg19_random_init_needs_no_file() -> None:
    assert isinstance(load_vgg19(random_init=True), VGG19)


def test_load_vgg19_rejects_wrong_file(tmp_path: Path) -> None:
    wrong_keys = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(3)}, wrong_keys)
    with pytest.raises(CheckpointError, match="not a VGG-19 weights file"):
        load_vgg19(wrong_keys)
    wrong_shape = tmp_path / "shape.pth"
    state = {key: torch.zeros(1) for key in TORCHVISION_KEYS}
    torch.save(state, wrong_shape)
    with pytest.raises(CheckpointError, match=r"features\.0\.weight has shape"):
        load_vgg19(wrong_shape)


def test_corrupt_weights_file(tmp_path: Path) -> None:
    corrupt = tmp_path / VGG19_WEIGHTS.filename
    corrupt.write_bytes(b"this is not a torch file" * 10)
    with pytest.raises(CheckpointError, match="cannot read weights file"):
        load_vgg19(corrupt)
    not_a_state_dict = tmp_path / "list.pth"
    torch.save([1, 2, 3], not_a_state_dict)
    with pytest.raises(CheckpointError, match="state_dict"):
        load_state_dict_file(not_a_state_dict)


def test_load_state_dict_file_safetensors(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_file({"a": torch.arange(3.0)}, str(path))
    torch.testing.assert_close(load_state_dict_file(path)["a"], torch.arange(3.0))


def test_resolution_order(tmp_path: Path, isolated_dirs: dict[str, Path]) -> None:
    explicit = tmp_path / "explicit.pth"
    for path in (explicit, isolated_dirs["env"] / FILENAME, isolated_dirs["hub"] / FILENAME):
        path.write_bytes(b"x")
    assert resolve_weights(FILENAME, explicit) == explicit
    assert resolve_weights(FILENAME, tmp_path / "explicit.pth") == explicit
    assert resolve_weights(FILENAME) == isolated_dirs["env"] / FILENAME
    (isolated_dirs["env"] / FILENAME).unlink()
    assert resolve_weights(FILENAME) == isolated_dirs["hub"] / FILENAME
    assert resolve_weights(FILENAME, isolated_dirs["hub"]) == isolated_dirs["hub"] / FILENAME


def test_explicit_path_must_exist(tmp_path: Path, isolated_dirs: dict[str, Path]) -> None:
    (isolated_dirs["env"] / FILENAME).write_bytes(b"x")
    with pytest.raises(WeightsNotFoundError, match="does not exist"):
        resolve_weights(FILENAME, tmp_path / "missing.pth")


def test_custom_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_WEIGHTS", str(tmp_path))
    (tmp_path / FILENAME).write_bytes(b"x")
    assert resolve_weights(FILENAME, env_var="MY_WEIGHTS") == tmp_path / FILENAME


@pytest.fixture
def fake_download(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str | None]]:
    """Replace torch's downloader with one that writes a small file and records its calls."""
    calls: list[tuple[str, str, str | None]] = []

    def download(url: str, dst: str, hash_prefix: str | None = None) -> None:
        calls.append((url, dst, hash_prefix))
        Path(dst).write_bytes(b"downloaded")

    monkeypatch.setattr(weights_module.torch.hub, "download_url_to_file", download)
    return calls


def test_download_when_online(
    monkeypatch: pytest.MonkeyPatch,
    isolated_dirs: dict[str, Path],
    fake_download: list[tuple[str, str, str | None]],
) -> None:
    monkeypatch.delenv("COMPOGAN_OFFLINE")
    spec = WeightSpec(FILENAME, url="https://example.invalid/m.pth", sha256_prefix="0123abcd")
    path = spec.resolve()
    assert path == isolated_dirs["hub"] / FILENAME
    assert path.read_bytes() == b"downloaded"
    assert fake_download == [(spec.url, str(path), "0123abcd")]


@pytest.mark.parametrize("variable", ["COMPOGAN_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_blocks_download(
    variable: str,
    monkeypatch: pytest.MonkeyPatch,
    fake_download: list[tuple[str, str, str | None]],
) -> None:
    monkeypatch.delenv("COMPOGAN_OFFLINE")
    monkeypatch.setenv(variable, "1")
    with pytest.raises(WeightsNotFoundError, match="downloads are off"):
        resolve_weights(FILENAME, url="https://example.invalid/m.pth")
    assert fake_download == []


def test_download_failure_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPOGAN_OFFLINE")

    def failing_download(url: str, dst: str, hash_prefix: str | None = None) -> None:
        raise URLError("no route to host")

    monkeypatch.setattr(weights_module.torch.hub, "download_url_to_file", failing_download)
    with pytest.raises(WeightsNotFoundError, match=r"could not download .*no route to host"):
        resolve_weights(FILENAME, url="https://example.invalid/m.pth")


def test_no_url_no_file() -> None:
    with pytest.raises(WeightsNotFoundError, match=f"{FILENAME} not found.*no download URL"):
        resolve_weights(FILENAME)
