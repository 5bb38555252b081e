"""Import of official pytorch-CycleGAN-and-pix2pix checkpoints, checked against a reference layout.

The ``Official*`` modules below re-create the official networks' module layout (one
``nn.Sequential`` named ``model``) from the documented architecture, so that their state_dicts
have the official key names. Files written from them with random weights must import into
networks that compute the same outputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

import compogan
from compogan.errors import CheckpointError, ConfigError
from compogan.interop.cyclegan import convert_discriminator, convert_generator, import_official
from compogan.models.cyclegan import CycleGAN
from compogan.nn import PatchDiscriminator, ResnetGenerator
from compogan.pipelines import Translator

# The documented keys of the official ResnetGenerator(ngf=64, n_blocks=9, instance norm).
OFFICIAL_GENERATOR_KEYS = """
model.1.weight [64, 3, 7, 7]
model.1.bias [64]
model.4.weight [128, 64, 3, 3]
model.4.bias [128]
model.7.weight [256, 128, 3, 3]
model.7.bias [256]
model.10.conv_block.1.weight [256, 256, 3, 3]
model.10.conv_block.1.bias [256]
model.10.conv_block.5.weight [256, 256, 3, 3]
model.10.conv_block.5.bias [256]
model.11.conv_block.1.weight [256, 256, 3, 3]
model.11.conv_block.1.bias [256]
model.11.conv_block.5.weight [256, 256, 3, 3]
model.11.conv_block.5.bias [256]
model.12.conv_block.1.weight [256, 256, 3, 3]
model.12.conv_block.1.bias [256]
model.12.conv_block.5.weight [256, 256, 3, 3]
model.12.conv_block.5.bias [256]
model.13.conv_block.1.weight [256, 256, 3, 3]
model.13.conv_block.1.bias [256]
model.13.conv_block.5.weight [256, 256, 3, 3]
model.13.conv_block.5.bias [256]
model.14.conv_block.1.weight [256, 256, 3, 3]
model.14.conv_block.1.bias [256]
model.14.conv_block.5.weight [256, 256, 3, 3]
model.14.conv_block.5.bias [256]
model.15.conv_block.1.weight [256, 256, 3, 3]
model.15.conv_block.1.bias [256]
model.15.conv_block.5.weight [256, 256, 3, 3]
model.15.conv_block.5.bias [256]
model.16.conv_block.1.weight [256, 256, 3, 3]
model.16.conv_block.1.bias [256]
model.16.conv_block.5.weight [256, 256, 3, 3]
model.16.conv_block.5.bias [256]
model.17.conv_block.1.weight [256, 256, 3, 3]
model.17.conv_block.1.bias [256]
model.17.conv_block.5.weight [256, 256, 3, 3]
model.17.conv_block.5.bias [256]
model.18.conv_block.1.weight [256, 256, 3, 3]
model.18.conv_block.1.bias [256]
model.18.conv_block.5.weight [256, 256, 3, 3]
model.18.conv_block.5.bias [256]
model.19.weight [256, 128, 3, 3]
model.19.bias [128]
model.22.weight [128, 64, 3, 3]
model.22.bias [64]
model.26.weight [3, 64, 7, 7]
model.26.bias [3]
"""

# The documented keys of the official NLayerDiscriminator(ndf=64, n_layers=3, instance norm).
OFFICIAL_DISCRIMINATOR_KEYS = """
model.0.weight [64, 3, 4, 4]
model.0.bias [64]
model.2.weight [128, 64, 4, 4]
model.2.bias [128]
model.5.weight [256, 128, 4, 4]
model.5.bias [256]
model.8.weight [512, 256, 4, 4]
model.8.bias [512]
model.11.weight [1, 512, 4, 4]
model.11.bias [1]
"""

NORM_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")


def parse_key_list(text: str) -> dict[str, list[int]]:
    """``"name [d0, d1]"`` lines as {name: [d0, d1]}."""
    entries = {}
    for line in text.strip().splitlines():
        name, shape = line.split(" ", 1)
        entries[name] = [int(size) for size in shape.strip("[]").split(",") if size.strip()]
    return entries


def key_shapes(module: nn.Module) -> dict[str, list[int]]:
    """{state_dict key: shape} of a module."""
    return {key: list(value.shape) for key, value in module.state_dict().items()}


# ---- the official layout, re-created ----------------------------------------------------------
def official_norm(channels: int, track_running_stats: bool) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=track_running_stats)


class OfficialResnetBlock(nn.Module):
    """x + conv_block(x), conv_block = pad, conv, IN, ReLU, [dropout], pad, conv, IN."""

    def __init__(self, channels: int, dropout: bool, track_running_stats: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            official_norm(channels, track_running_stats),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            official_norm(channels, track_running_stats),
        ]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class OfficialResnetGenerator(nn.Module):
    """The official ResnetGenerator layout: one Sequential ``model``; (N,3,H,W) -> (N,3,H,W)."""

    def __init__(
        self,
        ngf: int = 64,
        n_blocks: int = 9,
        dropout: bool = False,
        track_running_stats: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(3, ngf, 7),
            official_norm(ngf, track_running_stats),
            nn.ReLU(True),
        ]
        for factor in (1, 2):
            layers += [
                nn.Conv2d(ngf * factor, ngf * factor * 2, 3, stride=2, padding=1),
                official_norm(ngf * factor * 2, track_running_stats),
                nn.ReLU(True),
            ]
        layers += [
            OfficialResnetBlock(ngf * 4, dropout, track_running_stats) for _ in range(n_blocks)
        ]
        for factor in (4, 2):
            layers += [
                nn.ConvTranspose2d(
                    ngf * factor, ngf * factor // 2, 3, stride=2, padding=1, output_padding=1
                ),
                official_norm(ngf * factor // 2, track_running_stats),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class OfficialNLayerDiscriminator(nn.Module):
    """The official NLayerDiscriminator layout: one Sequential ``model``; (N,3,H,W) -> logits."""

    def __init__(self, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        width = ndf
        for n in range(1, n_layers + 1):
            next_width = ndf * min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(width, next_width, 4, stride=stride, padding=1),
                nn.InstanceNorm2d(next_width),
                nn.LeakyReLU(0.2),
            ]
            width = next_width
        layers.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def official_generator(seed: int, **kwargs: int | bool) -> OfficialResnetGenerator:
    """A small official generator (ngf=8, 2 blocks unless given) with random weights, in eval."""
    torch.manual_seed(seed)
    kwargs = {"ngf": 8, "n_blocks": 2, **kwargs}
    return OfficialResnetGenerator(**kwargs).eval()


def official_discriminator(seed: int) -> OfficialNLayerDiscriminator:
    torch.manual_seed(seed)
    return OfficialNLayerDiscriminator(ndf=8).eval()


def sample_images(seed: int = 100, size: int = 32) -> torch.Tensor:
    """Two (2,3,size,size) images in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, size, size, generator=generator) * 2 - 1


def assert_same_outputs(reference: nn.Module, ours: nn.Module) -> None:
    images = sample_images()
    with torch.no_grad():
        expected, actual = reference(images), ours(images)
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)


# ---- the reference layout has the documented keys ---------------------------------------------
def test_reference_generator_has_the_documented_keys_and_shapes() -> None:
    with torch.device("meta"):
        generator = OfficialResnetGenerator(ngf=64, n_blocks=9)
    assert key_shapes(generator) == parse_key_list(OFFICIAL_GENERATOR_KEYS)


def test_reference_dropout_generator_has_its_second_block_conv_at_index_6() -> None:
    with torch.device("meta"):
        generator = OfficialResnetGenerator(ngf=64, n_blocks=9, dropout=True)
    documented = {
        key.replace(".conv_block.5.", ".conv_block.6."): shape
        for key, shape in parse_key_list(OFFICIAL_GENERATOR_KEYS).items()
    }
    assert key_shapes(generator) == documented


def test_reference_old_generator_adds_instance_norm_statistics() -> None:
    with torch.device("meta"):
        generator = OfficialResnetGenerator(ngf=64, n_blocks=9, track_running_stats=True)
    keys = key_shapes(generator)
    assert len(keys) == 117
    parameters = {k: v for k, v in keys.items() if k.rsplit(".", 1)[1] not in NORM_STATISTICS}
    assert parameters == parse_key_list(OFFICIAL_GENERATOR_KEYS)
    for key in (
        "model.2.running_mean",
        "model.10.conv_block.6.running_var",
        "model.23.running_var",
    ):
        assert key in keys


def test_reference_discriminator_has_the_documented_keys_and_shapes() -> None:
    with torch.device("meta"):
        discriminator = OfficialNLayerDiscriminator(ndf=64, n_layers=3)
    assert key_shapes(discriminator) == parse_key_list(OFFICIAL_DISCRIMINATOR_KEYS)


@pytest.mark.parametrize("dropout", [False, True])
def test_key_tables_map_full_size_networks_onto_ours(dropout: bool) -> None:
    with torch.device("meta"):
        official_g = OfficialResnetGenerator(ngf=64, n_blocks=9, dropout=dropout)
        ours_g = ResnetGenerator(ngf=64, n_blocks=9, dropout=0.5 if dropout else 0.0)
        official_d = OfficialNLayerDiscriminator(ndf=64, n_layers=3)
        ours_d = PatchDiscriminator(ndf=64, n_layers=3)
    converted_g, config = convert_generator(official_g.state_dict())
    assert (config.ngf, config.n_blocks, config.dropout) == (64, 9, 0.5 if dropout else 0.0)
    assert {k: list(v.shape) for k, v in converted_g.items()} == key_shapes(ours_g)
    converted_d, ndf, n_layers = convert_discriminator(official_d.state_dict())
    assert (ndf, n_layers) == (64, 3)
    assert {k: list(v.shape) for k, v in converted_d.items()} == key_shapes(ours_d)


# ---- imports compute what the official networks compute --------------------------------------
@pytest.mark.parametrize(
    ("n_blocks", "dropout"),
    [(2, False), (2, True), (6, False)],
    ids=["plain", "dropout", "6blocks"],
)
def test_one_direction_generator_imports_with_equal_outputs(
    tmp_path: Path, n_blocks: int, dropout: bool
) -> None:
    official = official_generator(seed=1, n_blocks=n_blocks, dropout=dropout)
    path = tmp_path / "latest_net_G.pth"
    torch.save(official.state_dict(), path)

    model = import_official(path)

    assert isinstance(model, CycleGAN)
    assert model.loaded_networks == ("G_A",)
    assert (model.config.ngf, model.config.n_blocks) == (8, n_blocks)
    assert model.config.dropout == (0.5 if dropout else 0.0)
    assert not model.training
    assert_same_outputs(official, model.G_A)


def test_old_file_with_instance_norm_statistics_imports(tmp_path: Path) -> None:
    official = official_generator(seed=2)
    old = OfficialResnetGenerator(ngf=8, n_blocks=2, track_running_stats=True)
    missing, unexpected = old.load_state_dict(official.state_dict(), strict=False)
    assert not unexpected
    assert missing and all(key.rsplit(".", 1)[1] in NORM_STATISTICS for key in missing)
    for name, buffer in old.named_buffers():
        if name.endswith(("running_mean", "running_var")):
            buffer.uniform_(0.5, 2.0)  # non-trivial statistics that must not be used
    path = tmp_path / "latest_net_G.pth"
    torch.save(old.state_dict(), path)

    model = import_official(path)

    assert_same_outputs(official, model.G_A)


def test_module_prefixed_file_imports(tmp_path: Path) -> None:
    official = official_generator(seed=3)
    path = tmp_path / "latest_net_G.pth"
    torch.save({f"module.{key}": value for key, value in official.state_dict().items()}, path)

    assert_same_outputs(official, import_official(path).G_A)


def write_official_set(folder: Path, prefix: str = "latest") -> dict[str, nn.Module]:
    """Write {prefix}_net_{G_A,G_B,D_A,D_B}.pth into ``folder``; returns the reference nets."""
    networks: dict[str, nn.Module] = {
        "G_A": official_generator(seed=10),
        "G_B": official_generator(seed=11),
        "D_A": official_discriminator(seed=12),
        "D_B": official_discriminator(seed=13),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, network in networks.items():
        torch.save(network.state_dict(), folder / f"{prefix}_net_{name}.pth")
    return networks


def test_folder_of_both_directions_and_discriminators_imports(tmp_path: Path) -> None:
    networks = write_official_set(tmp_path / "run")
    torch.save(official_generator(seed=99).state_dict(), tmp_path / "run" / "5_net_G_A.pth")

    model = import_official(tmp_path / "run")

    assert model.loaded_networks == ("D_A", "D_B", "G_A", "G_B")
    assert (model.config.ndf, model.config.n_layers_d) == (8, 3)
    for name, official in networks.items():
        assert_same_outputs(official, getattr(model, name))


def test_two_files_for_one_network_are_refused(tmp_path: Path) -> None:
    for epoch in (5, 10):
        torch.save(official_generator(seed=epoch).state_dict(), tmp_path / f"{epoch}_net_G_A.pth")
    with pytest.raises(CheckpointError, match="more than one"):
        import_official(tmp_path)


# ---- errors ---------------------------------------------------------------------------------
def save_whole_module(path: Path) -> None:
    torch.save(nn.Linear(2, 2), path)


def save_random_bytes(path: Path) -> None:
    path.write_bytes(torch.randint(0, 256, (512,), dtype=torch.uint8).numpy().tobytes())


def save_list_of_tensors(path: Path) -> None:
    torch.save([torch.zeros(2)], path)


def save_nested_state_dict(path: Path) -> None:
    torch.save({"state_dict": official_generator(seed=4).state_dict()}, path)


def save_foreign_state_dict(path: Path) -> None:
    torch.save(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)).state_dict(), path)


def save_generator_with_extra_key(path: Path) -> None:
    state = official_generator(seed=5).state_dict()
    state["model.99.weight"] = torch.zeros(3)
    torch.save(state, path)


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (save_whole_module, "not a plain PyTorch state_dict"),
        (save_random_bytes, "latest_net_G.pth"),
        (save_list_of_tensors, "not a plain state_dict"),
        (save_nested_state_dict, "not a plain state_dict"),
        (save_foreign_state_dict, "not an official CycleGAN ResnetGenerator"),
        (save_generator_with_extra_key, "unexpected key 'model.99.weight'"),
    ],
    ids=["whole-module", "random-bytes", "list", "nested", "foreign", "extra-key"],
)
def test_files_that_are_not_official_generators_raise_one_line_errors(
    tmp_path: Path, write, message: str
) -> None:
    path = tmp_path / "latest_net_G.pth"
    write(path)
    with pytest.raises(CheckpointError, match=message) as error_info:
        import_official(path)
    text = str(error_info.value)
    assert "\n" not in text and "\x1b" not in text


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        import_official(tmp_path / "latest_net_G.pth")


def test_folder_without_checkpoints_raises(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"no \.pth files"):
        import_official(tmp_path)


def test_discriminators_alone_raise(tmp_path: Path) -> None:
    torch.save(official_discriminator(seed=6).state_dict(), tmp_path / "latest_net_D_A.pth")
    with pytest.raises(CheckpointError, match="no generator"):
        import_official(tmp_path)


def test_generator_of_another_channel_count_raises(tmp_path: Path) -> None:
    state = official_generator(seed=7).state_dict()
    state["model.1.weight"] = torch.zeros(8, 1, 7, 7)  # a grey-scale input generator
    torch.save(state, tmp_path / "latest_net_G.pth")
    with pytest.raises(CheckpointError, match="do not fit"):
        import_official(tmp_path / "latest_net_G.pth")


# ---- convert on the command line, then load --------------------------------------------------
def test_convert_command_round_trip(tmp_path: Path, run_cli) -> None:
    official = official_generator(seed=8)
    source = tmp_path / "latest_net_G.pth"
    torch.save(official.state_dict(), source)
    out_dir = tmp_path / "converted"

    result = run_cli("convert", "cyclegan", source, out_dir)

    assert result.code == 0, result.stderr
    assert "G_A" in result.stdout
    assert all(key.startswith("G_A.") for key in load_file(str(out_dir / "model.safetensors")))
    model = compogan.load(out_dir)
    assert isinstance(model, CycleGAN)
    assert model.loaded_networks == ("G_A",)
    assert_same_outputs(official, model.G_A)

    translator = Translator(model, device="cpu")
    torch.testing.assert_close(
        translator.translate_tensor(sample_images(), "AtoB"), official(sample_images()).detach()
    )
    with pytest.raises(CheckpointError, match="holds no G_B, so it cannot translate BtoA"):
        model.translate(sample_images(), "BtoA")
    with pytest.raises(ConfigError, match="cannot translate 'BtoA'; they translate AtoB"):
        translator.translate_tensor(sample_images(), "BtoA")


def test_convert_command_reports_a_bad_file_in_one_line(tmp_path: Path, run_cli) -> None:
    source = tmp_path / "latest_net_G.pth"
    save_foreign_state_dict(source)

    result = run_cli("convert", "cyclegan", source, tmp_path / "converted")

    assert result.code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "converted").exists()
