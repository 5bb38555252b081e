"""Import of official InGAN checkpoints, checked against a re-creation of the reference layout.

``OfficialGenerator`` and ``official_discriminator`` below re-create the reference networks'
module layout (``nn.Sequential`` stacks named as in the reference) from the documented
architecture, with their own forward pass, so that their state_dicts carry the official key
names. Checkpoints written from them with random weights, in the reference's legacy pickle form,
must import into networks that compute the same outputs on both resize paths.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.nn.utils import spectral_norm

import compogan
from compogan.errors import CheckpointError
from compogan.geometry.retarget import shift_warp_features
from compogan.interop.ingan import import_official, recognizes, recover_spectral_vector
from compogan.models.ingan import InGAN
from compogan.pipelines import Retargeter

BASE, BLOCKS, LEVELS = 8, 2, 3


def _sn_layer(in_channels: int, out_channels: int, kernel: int) -> list[nn.Module]:
    return [
        spectral_norm(nn.Conv2d(in_channels, out_channels, kernel)),
        nn.BatchNorm2d(out_channels),
    ]


class OfficialGenerator(nn.Module):
    """The reference Generator's layout: entry_block, downscale_block.conv_i,
    bottleneck_block.b.conv_block, upscale_block.conv_i, final_block."""

    def __init__(self) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.2)
        self.entry_block = nn.Sequential(nn.ReflectionPad2d(3), *_sn_layer(3, BASE, 7), act)
        self.downscale_block = nn.Module()
        self.upscale_block = nn.Module()
        for i in range(LEVELS):
            down = [nn.ReflectionPad2d(1), *_sn_layer(BASE * 2**i, BASE * 2 ** (i + 1), 3), act]
            up = [nn.ReflectionPad2d(1), *_sn_layer(BASE * 2 ** (i + 1), BASE * 2**i, 3), act]
            self.downscale_block.add_module(f"conv_{i}", nn.Sequential(*down))
            self.upscale_block.add_module(f"conv_{i}", nn.Sequential(*up))
        dim = BASE * 2**LEVELS
        self.bottleneck_block = nn.Sequential()
        for b in range(BLOCKS):
            block = nn.Module()
            block.conv_block = nn.Sequential(
                *_sn_layer(dim, dim // 4, 1),
                act,
                nn.ReflectionPad2d(1),
                *_sn_layer(dim // 4, dim // 4, 3),
                act,
                *_sn_layer(dim // 4, dim, 1),
            )
            self.bottleneck_block.add_module(str(b), block)
        self.final_block = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(BASE, 3, 7), nn.Tanh())

    def forward(self, x: torch.Tensor, size: tuple[int, int], shifts=None) -> torch.Tensor:
        features = self.entry_block(x)
        if shifts is None:
            features = F.interpolate(features, size=size, mode="bilinear")
        else:
            features = shift_warp_features(features, size, shifts)
        pyramid = [features]
        for i in range(LEVELS):
            features = F.max_pool2d(getattr(self.downscale_block, f"conv_{i}")(features), 2)
            pyramid.append(features)
        for block in self.bottleneck_block:
            features = features + block.conv_block(features)
        for step, i in enumerate(reversed(range(LEVELS))):
            features = F.interpolate(features, scale_factor=2.0, mode="nearest")
            features = getattr(self.upscale_block, f"conv_{i}")(features) + pyramid[-step - 2]
        return self.final_block(features)


def official_discriminator(n_scales: int) -> nn.Module:
    """The reference MultiScaleDiscriminator's ``nets`` (forward not needed: D is checked by
    its keys and by our D's outputs on the imported weights)."""
    act = nn.LeakyReLU(0.2)
    module = nn.Module()
    module.nets = nn.ModuleList(
        nn.Sequential(
            spectral_norm(nn.Conv2d(3, BASE, 3)),
            nn.BatchNorm2d(BASE),
            act,
            spectral_norm(nn.Conv2d(BASE, 2 * BASE, 3, stride=2)),
            nn.BatchNorm2d(2 * BASE),
            act,
            spectral_norm(nn.Conv2d(2 * BASE, 2 * BASE, 3)),
            nn.BatchNorm2d(2 * BASE),
            act,
            spectral_norm(nn.Conv2d(2 * BASE, 1, 1)),
            nn.Sigmoid(),
        )
        for _ in range(n_scales)
    )
    return module


class ReferenceScheduler:
    """Stands for a class of the reference's own code pickled into ``sched_G``; unpickling it
    must never run it."""

    ran = False

    def __setstate__(self, state: dict) -> None:
        ReferenceScheduler.ran = True


def random_official(seed: int = 0) -> tuple[OfficialGenerator, nn.Module]:
    """Networks with random weights and BatchNorm statistics, their power iterations run to
    convergence (as after the reference's 75k iterations)."""
    torch.manual_seed(seed)
    generator, discriminator = OfficialGenerator(), official_discriminator(4)
    with torch.no_grad():
        for layer in [*generator.modules(), *discriminator.modules()]:
            if isinstance(layer, nn.BatchNorm2d):
                layer.weight.uniform_(0.5, 1.5)
                layer.bias.normal_(0, 0.1)
                layer.running_mean.normal_(0, 0.1)
                layer.running_var.uniform_(0.5, 2.0)
        x = torch.rand(1, 3, 48, 48) * 2 - 1
        for _ in range(30):
            generator(x, (48, 48))
            for net in discriminator.nets:
                net(x)
    return generator, discriminator


def write_checkpoint(path: Path, generator: nn.Module, discriminator: nn.Module, **extra) -> Path:
    """An official-style checkpoint: every entry the reference writes, legacy pickle format."""
    content = {
        "G": generator.state_dict(),
        "D": discriminator.state_dict(),
        "optim_G": {},
        "optim_D": {},
        "sched_G": {},
        "sched_D": {},
        "loss": {},
        "iter": "/results/fruit/checkpoint_0075000.pth.tar",
        **extra,
    }
    torch.save(content, path, _use_new_zipfile_serialization=False)
    return path


def sample() -> torch.Tensor:
    return torch.rand(1, 3, 40, 56, generator=torch.Generator().manual_seed(3)) * 2 - 1


def assert_same_generator(official: OfficialGenerator, model: InGAN) -> None:
    """Equal outputs on the test path (bilinear resize, batch statistics) and the training
    path (shift homography) at sizes that change the aspect."""
    official.train()
    with torch.no_grad():
        for size in ((40, 56), (24, 96), (64, 32)):
            torch.testing.assert_close(
                model.retarget(sample(), size), official(sample(), size), atol=1e-4, rtol=0
            )
            for shifts in (torch.zeros(2), torch.tensor([0.2, -0.1])):
                ours = model.G(sample(), size, shifts=shifts)
                torch.testing.assert_close(
                    ours, official(sample(), size, shifts), atol=1e-4, rtol=0
                )


def test_official_checkpoint_imports_with_equal_outputs(tmp_path: Path) -> None:
    generator, discriminator = random_official()
    path = write_checkpoint(tmp_path / "checkpoint_0075000.pth.tar", generator, discriminator)

    model = import_official(path)

    assert model.config.base_channels == BASE and model.config.n_blocks == BLOCKS
    assert len(model.D.nets) == 4 and model.loaded_networks == ("G", "D")
    assert model.source_image is None
    assert_same_generator(generator, model)
    y = sample()
    model.D.train()
    for index, net in enumerate(discriminator.nets):
        torch.testing.assert_close(model.D.nets[index](y), net(y))


def test_pickled_reference_classes_are_never_run(tmp_path: Path) -> None:
    generator, discriminator = random_official(1)
    path = write_checkpoint(
        tmp_path / "checkpoint_0005000.pth.tar",
        generator,
        discriminator,
        sched_G=ReferenceScheduler(),
    )
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)

    model = import_official(path)

    assert not ReferenceScheduler.ran
    assert_same_generator(generator, model)


def test_torch04_spectral_norm_form_imports(tmp_path: Path) -> None:
    generator, discriminator = random_official(2)
    states = []
    for network in (generator, discriminator):
        state = dict(network.state_dict())
        for key in [k for k in state if k.endswith(".weight_orig")]:
            prefix = key.removesuffix(".weight_orig")
            weight, u, v = state[key], state[f"{prefix}.weight_u"], state.pop(f"{prefix}.weight_v")
            sigma = torch.dot(u, weight.flatten(1) @ v)
            state[f"{prefix}.weight"] = weight / sigma
        states.append(state)
    path = tmp_path / "checkpoint_0075000.pth.tar"
    torch.save({"G": states[0], "D": states[1]}, path, _use_new_zipfile_serialization=False)

    assert_same_generator(generator, import_official(path))


def test_recovered_spectral_vector_reproduces_sigma() -> None:
    torch.manual_seed(0)
    weight = torch.randn(6, 4, 3, 3)
    u = F.normalize(torch.randn(6), dim=0)
    sigma = torch.tensor(2.5)
    v = recover_spectral_vector(weight, weight / sigma, u)
    torch.testing.assert_close(torch.dot(u, weight.flatten(1) @ v), sigma)


def test_checkpoint_names_are_recognised_and_loaded(tmp_path: Path) -> None:
    generator, discriminator = random_official(3)
    folder = tmp_path / "fruit"
    folder.mkdir()
    write_checkpoint(folder / "checkpoint_0070000.pth.tar", generator, discriminator)
    write_checkpoint(folder / "checkpoint_0075000.pth.tar", generator, discriminator)
    assert recognizes(folder) and recognizes(folder / "checkpoint_0075000.pth.tar")
    assert not recognizes(tmp_path / "latest_net_G.pth")

    model = compogan.load(folder)

    assert isinstance(model, InGAN)
    assert_same_generator(generator, model)


def test_files_that_are_not_ingan_checkpoints_raise_one_line_errors(tmp_path: Path) -> None:
    plain = tmp_path / "checkpoint_0000001.pth.tar"
    torch.save({"generator": {}}, plain)
    with pytest.raises(CheckpointError, match="no 'G' and 'D'"):
        import_official(plain)
    junk = tmp_path / "checkpoint_0000002.pth.tar"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(CheckpointError, match="cannot read"):
        import_official(junk)
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        import_official(tmp_path / "missing.pth.tar")
    with pytest.raises(CheckpointError, match="no checkpoint_"):
        (tmp_path / "empty").mkdir()
        import_official(tmp_path / "empty")


def test_convert_then_retarget_needs_the_image(tmp_path: Path, run_cli) -> None:
    generator, discriminator = random_official(4)
    source = write_checkpoint(tmp_path / "checkpoint_0075000.pth.tar", generator, discriminator)
    converted = tmp_path / "converted"
    result = run_cli("convert", "ingan", source, converted)
    assert result.code == 0, result.stderr

    out = tmp_path / "out"
    result = run_cli("retarget", "-w", converted, "--sizes", "1x1.5", "-o", out)
    assert result.code == 1 and "hold no training image" in result.stderr
    assert result.stderr.count("\n") == 1 and not out.exists()

    photo = tmp_path / "photo.png"
    Image.fromarray(((sample()[0].permute(1, 2, 0) + 1) * 127.5).byte().numpy()).save(photo)
    result = run_cli("retarget", "-w", converted, "--sizes", "1x1.5", "-o", out, "--image", photo)
    assert result.code == 0, result.stderr
    assert Image.open(out / "1x1.5.png").size == (80, 40)
    retargeter = Retargeter.from_pretrained(converted, "cpu")
    assert retargeter.model.loaded_networks == ("G", "D")
