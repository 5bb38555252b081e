"""Import of official EdgeConnect checkpoints, checked against a re-creation of the official layout.

The ``Official*`` modules re-create the official networks' module layout from the documented
architecture and key lists (``nn.Sequential`` stacks with explicit reflection pads, the old
``torch.nn.utils.spectral_norm``), so that their state_dicts carry the official key names
(``weight_orig``/``weight_u``/``weight_v``, the discriminator's duplicated ``features``). Files
written from them with random weights must import into networks with the same outputs.
"""

import collections
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils import spectral_norm as old_spectral_norm

import compogan
from compogan.errors import CheckpointError
from compogan.interop import import_official
from compogan.interop.edgeconnect import load_official_edgeconnect
from compogan.models.edgeconnect import EdgeConnect, EdgeConnectConfig
from compogan.nn.discriminators import PatchDiscriminator
from compogan.nn.inpainting import EdgeGenerator, InpaintGenerator
from compogan.train.init import init_networks

SIZE = 32
BLOCKS = 8


def maybe_sn(module: nn.Module, use: bool) -> nn.Module:
    return old_spectral_norm(module) if use else module


class OfficialResnetBlock(nn.Module):
    """``conv_block``: pad(2), dilated conv, IN, ReLU, pad(1), conv, IN; no bias under SN."""

    def __init__(self, channels: int, sn: bool) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(2),
            maybe_sn(nn.Conv2d(channels, channels, 3, dilation=2, bias=not sn), sn),
            nn.InstanceNorm2d(channels, track_running_stats=False),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            maybe_sn(nn.Conv2d(channels, channels, 3, bias=not sn), sn),
            nn.InstanceNorm2d(channels, track_running_stats=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class OfficialGenerator(nn.Module):
    """The official EdgeGenerator (in 3, out 1, sigmoid) / InpaintGenerator (in 4, out 3)."""

    def __init__(self, in_channels: int, out_channels: int, sn: bool) -> None:
        super().__init__()
        self.edge = out_channels == 1
        self.encoder = nn.Sequential(
            nn.ReflectionPad2d(3),
            maybe_sn(nn.Conv2d(in_channels, 64, 7), sn),
            nn.InstanceNorm2d(64, track_running_stats=False),
            nn.ReLU(True),
            maybe_sn(nn.Conv2d(64, 128, 4, stride=2, padding=1), sn),
            nn.InstanceNorm2d(128, track_running_stats=False),
            nn.ReLU(True),
            maybe_sn(nn.Conv2d(128, 256, 4, stride=2, padding=1), sn),
            nn.InstanceNorm2d(256, track_running_stats=False),
            nn.ReLU(True),
        )
        self.middle = nn.Sequential(*(OfficialResnetBlock(256, sn) for _ in range(BLOCKS)))
        self.decoder = nn.Sequential(
            maybe_sn(nn.ConvTranspose2d(256, 128, 4, stride=2, padding=1), sn),
            nn.InstanceNorm2d(128, track_running_stats=False),
            nn.ReLU(True),
            maybe_sn(nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), sn),
            nn.InstanceNorm2d(64, track_running_stats=False),
            nn.ReLU(True),
            nn.ReflectionPad2d(3),
            nn.Conv2d(64, out_channels, 7),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.decoder(self.middle(self.encoder(x)))
        return torch.sigmoid(x) if self.edge else (torch.tanh(x) + 1) / 2


class OfficialDiscriminator(nn.Module):
    """The official 70x70 discriminator; ``features`` is ``conv1`` registered a second time."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()

        def block(c_in: int, c_out: int, stride: int, act: bool = True) -> nn.Sequential:
            conv = old_spectral_norm(nn.Conv2d(c_in, c_out, 4, stride, padding=1, bias=False))
            return nn.Sequential(conv, nn.LeakyReLU(0.2, True)) if act else nn.Sequential(conv)

        self.conv1 = self.features = block(in_channels, 64, 2)
        self.conv2 = block(64, 128, 2)
        self.conv3 = block(128, 256, 2)
        self.conv4 = block(256, 512, 1)
        self.conv5 = block(512, 1, 1, act=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        for layer in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv5):
            x = layer(x)
            features.append(x)
        return torch.sigmoid(x), features


def _prepared(module: nn.Module) -> nn.Module:
    """Random weights, one train-mode pass (a power iteration moves u and v), then eval mode."""
    torch.manual_seed(0)
    in_channels = next(m for m in module.modules() if isinstance(m, nn.Conv2d)).in_channels
    with torch.no_grad():
        module(torch.rand(1, in_channels, SIZE, SIZE))
    return module.eval()


@pytest.fixture(scope="module")
def official_edge() -> nn.Module:
    return _prepared(OfficialGenerator(3, 1, sn=True))


@pytest.fixture(scope="module")
def official_inpaint() -> nn.Module:
    return _prepared(OfficialGenerator(4, 3, sn=False))


def _save(path: Path, entry: str, state: dict, prefix: str = "") -> Path:
    content: dict = {entry: {prefix + key: value for key, value in state.items()}}
    if entry == "generator":
        content["iteration"] = 0
    torch.save(content, path)
    return path


@pytest.mark.parametrize("prefix", ["", "module."])
def test_edge_generator_imports_with_official_outputs(
    tmp_path: Path, official_edge: nn.Module, prefix: str
) -> None:
    assert len(official_edge.state_dict()) == 70
    path = _save(tmp_path / "EdgeModel_gen.pth", "generator", official_edge.state_dict(), prefix)
    network, kind = load_official_edgeconnect(path)
    assert kind == "edge_generator"
    assert isinstance(network, EdgeGenerator) and not network.training
    x = torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        torch.testing.assert_close(network(x), official_edge(x), atol=1e-5, rtol=0)


def test_spectral_norm_weight_equals_official_effective_weight(
    tmp_path: Path, official_edge: nn.Module
) -> None:
    path = _save(tmp_path / "EdgeModel_gen.pth", "generator", official_edge.state_dict())
    network, _ = load_official_edgeconnect(path)
    pairs = [
        (official_edge.encoder[4], network.encoder[1].conv),
        (official_edge.middle[3].conv_block[5], network.middle[3].conv2.conv),
        (official_edge.decoder[0], network.decoder[0].conv),  # transposed: u over dim 1
    ]
    for official, ours in pairs:
        weight = official.weight_orig
        matrix = weight.transpose(0, 1) if isinstance(official, nn.ConvTranspose2d) else weight
        sigma = torch.dot(official.weight_u, matrix.flatten(1) @ official.weight_v)
        with torch.no_grad():
            torch.testing.assert_close(ours.weight, weight / sigma, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("prefix", ["", "module."])
def test_inpaint_generator_imports_with_official_outputs(
    tmp_path: Path, official_inpaint: nn.Module, prefix: str
) -> None:
    assert len(official_inpaint.state_dict()) == 44
    path = _save(
        tmp_path / "InpaintingModel_gen.pth", "generator", official_inpaint.state_dict(), prefix
    )
    network, kind = load_official_edgeconnect(path)
    assert kind == "inpaint_generator"
    assert isinstance(network, InpaintGenerator)
    x = torch.rand(2, 4, SIZE, SIZE)
    with torch.no_grad():
        torch.testing.assert_close(network(x), official_inpaint(x), atol=1e-5, rtol=0)


def test_edge_generator_without_spectral_norm_imports(tmp_path: Path) -> None:
    official = _prepared(OfficialGenerator(3, 1, sn=False))
    network, kind = load_official_edgeconnect(
        _save(tmp_path / "g.pth", "generator", official.state_dict())
    )
    assert kind == "edge_generator"
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(network(x), official(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("in_channels", "kind", "prefix"),
    [
        (2, "edge_discriminator", ""),
        (1, "edge_discriminator", "module."),
        (3, "inpaint_discriminator", ""),
    ],
)
def test_discriminators_import_with_official_outputs(
    tmp_path: Path, in_channels: int, kind: str, prefix: str
) -> None:
    official = _prepared(OfficialDiscriminator(in_channels))
    state = official.state_dict()
    assert len(state) == 18 and torch.equal(state["features.0.weight_v"], state["conv1.0.weight_v"])
    network, found = load_official_edgeconnect(
        _save(tmp_path / "EdgeModel_dis.pth", "discriminator", state, prefix)
    )
    assert found == kind
    assert isinstance(network, PatchDiscriminator)
    x = torch.rand(2, in_channels, SIZE, SIZE)
    with torch.no_grad():
        official_output, official_features = official(x)
        features = network.forward_features(x)
        torch.testing.assert_close(torch.sigmoid(network(x)), official_output, atol=1e-5, rtol=0)
    assert len(features) == len(official_features)
    for ours, theirs in zip(features, official_features, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def _assert_one_line_error(path: Path, match: str) -> None:
    with pytest.raises(CheckpointError, match=match) as info:
        load_official_edgeconnect(path)
    assert "\n" not in str(info.value)


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    _assert_one_line_error(tmp_path / "absent.pth", "no such checkpoint file")
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a checkpoint at all")
    _assert_one_line_error(corrupt, "corrupt|cannot read")


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects.pth"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save({"generator": collections.Counter(a=1)}, path)
    _assert_one_line_error(path, "pickled objects|not a state_dict")


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "latest_net_G.pth"
    torch.save({"model.1.weight": torch.zeros(64, 3, 7, 7)}, plain)
    _assert_one_line_error(plain, "not an official EdgeConnect file")
    nested = tmp_path / "nested.pth"
    torch.save({"generator": {"model.1.weight": torch.zeros(1)}}, nested)
    _assert_one_line_error(nested, "lacks the key 'decoder.7.weight'")
    not_state = tmp_path / "list.pth"
    torch.save({"generator": [torch.zeros(1)]}, not_state)
    _assert_one_line_error(not_state, "not a state_dict of tensors")


def test_wrong_shapes_and_unexpected_keys_are_refused(
    tmp_path: Path, official_inpaint: nn.Module
) -> None:
    state = dict(official_inpaint.state_dict())
    state["encoder.4.weight"] = torch.zeros(128, 64, 3, 3)
    _assert_one_line_error(_save(tmp_path / "shape.pth", "generator", state), "does not fit")
    state = dict(official_inpaint.state_dict())
    state["decoder.5.weight"] = torch.zeros(1)
    _assert_one_line_error(_save(tmp_path / "extra.pth", "generator", state), "unexpected key")
    state = dict(official_inpaint.state_dict())
    del state["encoder.4.bias"]
    _assert_one_line_error(_save(tmp_path / "missing.pth", "generator", state), "does not fit")


def test_discriminator_features_must_equal_conv1(tmp_path: Path) -> None:
    state = dict(OfficialDiscriminator(3).state_dict())
    state["features.0.weight_orig"] = state["features.0.weight_orig"] + 1
    _assert_one_line_error(_save(tmp_path / "d.pth", "discriminator", state), "does not equal")


def test_stage_three_starts_from_an_official_folder(
    tmp_path: Path, official_edge: nn.Module
) -> None:
    _save(tmp_path / "EdgeModel_gen.pth", "generator", official_edge.state_dict())
    discriminator = _prepared(OfficialDiscriminator(2))
    _save(tmp_path / "EdgeModel_dis.pth", "discriminator", discriminator.state_dict())
    config = EdgeConnectConfig(mode="edge_inpaint", content_weight=0, style_weight=0)
    sources = {"G1": str(tmp_path), "D1": str(tmp_path)}
    model = EdgeConnect(config)
    init_networks(model, sources)
    x = torch.rand(2, 3, SIZE, SIZE)
    d_input = torch.rand(2, 2, SIZE, SIZE)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model.G1(x), official_edge(x), atol=1e-5, rtol=0)
        torch.testing.assert_close(
            torch.sigmoid(model.D1(d_input)), discriminator(d_input)[0], atol=1e-5, rtol=0
        )
    with pytest.raises(CheckpointError, match="do not fit"):
        init_networks(EdgeConnect(replace(config, width=32)), sources)
    with pytest.raises(CheckpointError, match=r"set model\.edge_norm=instance"):
        init_networks(EdgeConnect(replace(config, norm="none")), sources)
    init_networks(EdgeConnect(replace(config, norm="none", edge_norm="instance")), sources)


# ---- the edgeconnect importer: official files into one EdgeConnect ----------------------------
@pytest.fixture(scope="module")
def official_discriminators() -> dict[str, nn.Module]:
    return {"D1": _prepared(OfficialDiscriminator(2)), "D2": _prepared(OfficialDiscriminator(3))}


@pytest.fixture
def official_folder(
    tmp_path: Path,
    official_edge: nn.Module,
    official_inpaint: nn.Module,
    official_discriminators: dict[str, nn.Module],
) -> Path:
    """A folder of the four official files, as the released checkpoints come."""
    folder = tmp_path / "places2"
    folder.mkdir()
    _save(folder / "EdgeModel_gen.pth", "generator", official_edge.state_dict(), "module.")
    _save(folder / "InpaintingModel_gen.pth", "generator", official_inpaint.state_dict())
    for name, file in (("D1", "EdgeModel_dis.pth"), ("D2", "InpaintingModel_dis.pth")):
        _save(folder / file, "discriminator", official_discriminators[name].state_dict())
    return folder


def assert_official_outputs(
    model: EdgeConnect,
    official: dict[str, nn.Module],
) -> None:
    """Each network of ``official`` (by our name) computes what ``model``'s does."""
    inputs = {"G1": 3, "G2": 4, "D1": 2, "D2": 3}
    for name, network in official.items():
        x = torch.rand(2, inputs[name], SIZE, SIZE)
        with torch.no_grad():
            ours = getattr(model, name)(x)
            theirs = network(x)
        if name.startswith("D"):
            ours, theirs = torch.sigmoid(ours), theirs[0]
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_load_imports_an_official_folder_into_one_edgeconnect(
    official_folder: Path,
    official_edge: nn.Module,
    official_inpaint: nn.Module,
    official_discriminators: dict[str, nn.Module],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: collections.Counter[str] = collections.Counter()
    for cls in (EdgeGenerator, InpaintGenerator, PatchDiscriminator):
        original = cls.__init__

        def counting(self, *args, _original=original, _name=cls.__name__, **kwargs) -> None:
            built[_name] += 1
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", counting)

    model = compogan.load(official_folder)

    assert isinstance(model, EdgeConnect) and not model.training
    assert model.config.mode == "edge_inpaint" and model.config.residual_blocks == BLOCKS
    assert (model.config.content_weight, model.config.style_weight) == (0, 0)
    assert model.loaded_networks == ("G1", "D1", "G2", "D2")
    assert built == {"EdgeGenerator": 1, "InpaintGenerator": 1, "PatchDiscriminator": 2}
    assert model.nets.G1 is model.G1 and model.nets.G2 is model.G2
    assert_official_outputs(
        model, {"G1": official_edge, "G2": official_inpaint, **official_discriminators}
    )


def test_one_official_file_gives_exactly_its_network(
    tmp_path: Path, official_inpaint: nn.Module
) -> None:
    path = _save(tmp_path / "InpaintingModel_gen.pth", "generator", official_inpaint.state_dict())
    model = compogan.load(path)
    assert isinstance(model, EdgeConnect) and model.loaded_networks == ("G2",)
    assert_official_outputs(model, {"G2": official_inpaint})
    with pytest.raises(CheckpointError, match="holds no G1 to draw the edges"):
        model.inpaint(torch.rand(1, 3, SIZE, SIZE) * 2 - 1, torch.ones(1, 1, SIZE, SIZE))
    renamed = _save(tmp_path / "g2.pth", "generator", official_inpaint.state_dict())
    assert import_official("edgeconnect", renamed).loaded_networks == ("G2",)


def test_official_folder_mistakes_are_one_line_errors(
    tmp_path: Path, official_edge: nn.Module, official_inpaint: nn.Module
) -> None:
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    _save(swapped / "EdgeModel_gen.pth", "generator", official_inpaint.state_dict())
    discriminators_only = tmp_path / "discriminators"
    discriminators_only.mkdir()
    _save(
        discriminators_only / "EdgeModel_dis.pth",
        "discriminator",
        OfficialDiscriminator(2).state_dict(),
    )
    other_sizes = tmp_path / "other_sizes"
    other_sizes.mkdir()
    _save(other_sizes / "EdgeModel_gen.pth", "generator", official_edge.state_dict())
    shorter = {k: v for k, v in official_inpaint.state_dict().items() if "middle.7." not in k}
    _save(other_sizes / "InpaintingModel_gen.pth", "generator", shorter)
    cases = [
        (swapped, "holds an official inpaint generator, not the edge generator its name says"),
        (discriminators_only, "holds no official EdgeConnect generator"),
        (other_sizes, "differ in residual_blocks and width"),
        (tmp_path / "nothing", "no such checkpoint directory or file"),
        (tmp_path, "is not a compogan checkpoint"),
    ]
    for folder, message in cases:
        with pytest.raises(CheckpointError, match=message) as info:
            compogan.load(folder)
        assert "\n" not in str(info.value)


def test_convert_command_writes_a_loadable_edgeconnect(
    official_folder: Path,
    official_edge: nn.Module,
    official_inpaint: nn.Module,
    official_discriminators: dict[str, nn.Module],
    tmp_path: Path,
    run_cli,
) -> None:
    out = tmp_path / "converted"

    result = run_cli("convert", "edgeconnect", official_folder, out)

    assert result.code == 0, result.stderr
    assert "converted G1, D1, G2, D2" in result.stdout
    model = compogan.load(out)
    assert isinstance(model, EdgeConnect) and model.loaded_networks == ("G1", "D1", "G2", "D2")
    assert_official_outputs(
        model, {"G1": official_edge, "G2": official_inpaint, **official_discriminators}
    )


def test_convert_command_refuses_a_model_without_an_importer(tmp_path: Path, run_cli) -> None:
    result = run_cli("convert", "stgan", tmp_path / "x.pth", tmp_path / "out")
    assert result.code == 1
    assert "no importer for official 'stgan' weights; models with one: cyclegan, edgeconnect" in (
        result.stderr
    )
    assert not (tmp_path / "out").exists()
