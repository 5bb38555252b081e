"""Tests of compogan.nn building blocks, generators, discriminators and weight initialisation."""

import pytest
import torch
from torch import nn

from compogan.errors import ConfigError, InputError
from compogan.nn import (
    ConvNormAct,
    DCGANDiscriminator,
    PatchDiscriminator,
    ResnetBlock,
    ResnetGenerator,
    UNet,
    WGANCritic,
    init_weights,
    make_activation,
    make_norm,
)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("instance", nn.InstanceNorm2d),
        ("instance_affine", nn.InstanceNorm2d),
        ("batch", nn.BatchNorm2d),
        ("layer", nn.GroupNorm),
        ("none", nn.Identity),
    ],
)
def test_make_norm_kinds(kind: str, expected: type) -> None:
    assert isinstance(make_norm(kind, 8), expected)


def test_instance_norm_variants() -> None:
    plain = make_norm("instance", 8)
    affine = make_norm("instance_affine", 8)
    assert not plain.affine and not plain.track_running_stats
    assert affine.affine and not affine.track_running_stats


@pytest.mark.parametrize(
    ("kind", "x", "expected"),
    [
        ("relu", -1.0, 0.0),
        ("lrelu", -1.0, -0.2),
        ("tanh", 0.0, 0.0),
        ("sigmoid", 0.0, 0.5),
        ("elu", 0.0, 0.0),
        ("none", -3.0, -3.0),
    ],
)
def test_make_activation_values(kind: str, x: float, expected: float) -> None:
    assert make_activation(kind)(torch.tensor([x])).item() == pytest.approx(expected)


def test_unknown_norm_and_activation() -> None:
    with pytest.raises(ConfigError, match="unknown norm"):
        make_norm("group", 4)
    with pytest.raises(ConfigError, match="unknown activation"):
        make_activation("gelu")


def test_conv_norm_act_same_padding_and_stride() -> None:
    x = torch.randn(2, 3, 16, 16)
    assert ConvNormAct(3, 8, 3)(x).shape == (2, 8, 16, 16)
    assert ConvNormAct(3, 8, 7, padding_mode="reflect")(x).shape == (2, 8, 16, 16)
    assert ConvNormAct(3, 8, 3, dilation=2)(x).shape == (2, 8, 16, 16)
    assert ConvNormAct(3, 8, 4, stride=2, padding=1)(x).shape == (2, 8, 8, 8)


def test_conv_norm_act_submodules_and_defaults() -> None:
    block = ConvNormAct(3, 8, 3, padding_mode="replicate", norm="batch", activation="lrelu")
    assert isinstance(block.conv, nn.Conv2d)
    assert block.conv.padding_mode == "replicate"
    assert block.conv.bias is None
    assert isinstance(block.norm, nn.BatchNorm2d)
    assert isinstance(block.act, nn.LeakyReLU)
    assert ConvNormAct(3, 8, 3, norm="instance").conv.bias is not None
    assert ConvNormAct(3, 8, 3, norm="batch", bias=True).conv.bias is not None
    assert set(ConvNormAct(3, 8, 3).state_dict()) == {"conv.weight", "conv.bias"}


def test_conv_norm_act_transposed() -> None:
    up = ConvNormAct(8, 4, 3, stride=2, padding=1, output_padding=1, transposed=True)
    assert isinstance(up.conv, nn.ConvTranspose2d)
    assert up(torch.randn(1, 8, 5, 7)).shape == (1, 4, 10, 14)
    with pytest.raises(ConfigError, match="transposed"):
        ConvNormAct(8, 4, 3, transposed=True, padding_mode="reflect")
    with pytest.raises(ConfigError, match="padding mode"):
        ConvNormAct(8, 4, 3, padding_mode="circularish")


@pytest.mark.parametrize("transposed", [False, True])
def test_spectral_norm_bounds_top_singular_value(transposed: bool) -> None:
    torch.manual_seed(0)
    block = ConvNormAct(16, 32, 3, spectral_norm=True, transposed=transposed)
    with torch.no_grad():
        block.conv.parametrizations.weight.original.mul_(10.0)
    x = torch.randn(1, 16, 4, 4)
    block.train()
    for _ in range(50):
        block(x)
    block.eval()
    weight = block.conv.weight
    matrix = weight.transpose(0, 1) if transposed else weight
    sigma = torch.linalg.matrix_norm(matrix.flatten(1), ord=2)
    assert sigma.item() == pytest.approx(1.0, abs=1e-2)


def test_resnet_block_is_identity_when_second_conv_is_zero() -> None:
    torch.manual_seed(0)
    block = ResnetBlock(8)
    with torch.no_grad():
        block.conv2.conv.weight.zero_()
        block.conv2.conv.bias.zero_()
    x = torch.randn(2, 8, 12, 12)
    torch.testing.assert_close(block(x), x)


def test_resnet_block_layout() -> None:
    block = ResnetBlock(8, dilation=2, dropout=0.5)
    assert block.conv1.conv.dilation == (2, 2)
    assert block.conv1.conv.padding == (2, 2)
    assert block.conv2.conv.dilation == (1, 1)
    assert isinstance(block.dropout, nn.Dropout)
    assert isinstance(block.conv2.act, nn.Identity)
    assert isinstance(ResnetBlock(8).dropout, nn.Identity)
    assert block(torch.randn(1, 8, 9, 9)).shape == (1, 8, 9, 9)


def test_edgeconnect_style_block_has_spectral_norm_and_no_bias() -> None:
    keys = set(ResnetBlock(8, dilation=2, spectral_norm=True, bias=False).state_dict())
    assert "conv1.conv.parametrizations.weight.original" in keys
    assert not any(key.endswith("bias") for key in keys)


def test_resnet_generator_parameter_count() -> None:
    assert n_params(ResnetGenerator(ngf=64, n_blocks=9)) == 11_378_179


def test_resnet_generator_layout_and_shapes() -> None:
    torch.manual_seed(0)
    gen = ResnetGenerator(ngf=8, n_blocks=2)
    assert len(gen.down) == 2 and len(gen.up) == 2 and len(gen.blocks) == 2
    assert all(isinstance(layer.conv, nn.ConvTranspose2d) for layer in gen.up)
    assert gen.stem.conv.padding_mode == "reflect" and gen.stem.conv.kernel_size == (7, 7)
    assert all(m.bias is not None for m in gen.modules() if isinstance(m, nn.Conv2d))
    y = gen(torch.rand(2, 3, 32, 48) * 2 - 1)
    assert y.shape == (2, 3, 32, 48)
    assert y.abs().max() <= 1.0
    with pytest.raises(InputError, match="divisible by 4"):
        gen(torch.zeros(1, 3, 30, 32))


def test_unet_default_config() -> None:
    torch.manual_seed(0)
    net = UNet(3, 2, widths=(8, 16, 32))
    x = torch.randn(2, 3, 16, 24, requires_grad=True)
    y = net(x)
    assert y.shape == (2, 2, 16, 24)
    assert y.abs().max() <= 1.0
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(InputError, match="divisible by 4"):
        net(torch.zeros(1, 3, 18, 24))


def test_unet_posewarp_like_config() -> None:
    net = UNet(
        5,
        11,
        widths=[8, 8, 16, 16, 16],
        downsample_at=(1, 3),
        first_kernel_size=7,
        upsampling="bilinear",
        decoder_convs=2,
        norm="batch",
        output_activation="none",
    )
    assert net.encoder[0].conv.kernel_size == (7, 7)
    assert [layer.conv.stride[0] for layer in net.encoder] == [1, 2, 1, 2, 1]
    assert len(net.decoder) == 2
    y = net(torch.randn(2, 5, 12, 20))
    assert y.shape == (2, 11, 12, 20)
    assert isinstance(net.head.act, nn.Identity)


def test_unet_rejects_bad_config() -> None:
    with pytest.raises(ConfigError, match="downsample_at"):
        UNet(3, 3, widths=[8, 16], downsample_at=(0,))
    with pytest.raises(ConfigError, match="upsampling"):
        UNet(3, 3, upsampling="nearest")
    with pytest.raises(ConfigError, match="widths"):
        UNet(3, 3, widths=[])


def test_patch_discriminator_count_and_output_size() -> None:
    disc = PatchDiscriminator()
    assert n_params(disc) == 2_764_737
    assert len(disc.layers) == 5
    with torch.no_grad():
        assert disc(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)


def test_patch_discriminator_features_end_with_logits() -> None:
    torch.manual_seed(0)
    disc = PatchDiscriminator(in_channels=1, ndf=8, n_layers=2)
    x = torch.randn(2, 1, 32, 32)
    feats = disc.forward_features(x)
    assert len(feats) == 4
    assert [f.shape[1] for f in feats] == [8, 16, 32, 1]
    torch.testing.assert_close(feats[-1], disc(x))


def test_patch_discriminator_edgeconnect_variant() -> None:
    disc = PatchDiscriminator(norm="none", spectral_norm=True, bias=False)
    keys = set(disc.state_dict())
    assert not any(key.endswith("bias") for key in keys)
    assert "layers.4.conv.parametrizations.weight.original" in keys
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in disc.modules())
    with pytest.raises(ConfigError):
        PatchDiscriminator(n_layers=0)


def test_dcgan_discriminator_and_wgan_critic() -> None:
    disc = DCGANDiscriminator(3, 64, ndf=8)
    assert len(disc.layers) == 5
    assert disc(torch.randn(3, 3, 64, 64)).shape == (3, 1)
    assert any(isinstance(m, nn.BatchNorm2d) for m in disc.modules())
    with pytest.raises(InputError, match="64x64"):
        disc(torch.randn(1, 3, 32, 32))
    with pytest.raises(ConfigError, match="power of two"):
        DCGANDiscriminator(3, 48)
    critic = WGANCritic(3, 32, ndf=8, max_channels=16)
    assert isinstance(critic, DCGANDiscriminator)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())
    assert max(layer.conv.out_channels for layer in critic.layers) == 16
    assert critic(torch.randn(2, 3, 32, 32)).shape == (2, 1)
    with pytest.raises(ConfigError, match="batch norm"):
        WGANCritic(3, 32, norm="batch")


def test_init_normal_and_batch_norm() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(64, 64, 3), nn.BatchNorm2d(4096), nn.Linear(64, 64))
    init_weights(net, "normal", gain=0.02)
    assert net[0].weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert net[0].bias.abs().max() == 0 and net[2].bias.abs().max() == 0
    assert net[1].weight.mean().item() == pytest.approx(1.0, abs=0.005)
    assert net[1].weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert net[1].bias.abs().max() == 0


def test_init_xavier_kaiming_orthogonal() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 128, 3)
    fan_in, fan_out = 64 * 9, 128 * 9
    init_weights(conv, "xavier", gain=1.0)
    expected = (2.0 / (fan_in + fan_out)) ** 0.5
    assert conv.weight.std().item() == pytest.approx(expected, rel=0.05)
    init_weights(conv, "kaiming")
    assert conv.weight.std().item() == pytest.approx((2.0 / fan_in) ** 0.5, rel=0.05)
    linear = nn.Linear(128, 32)
    init_weights(linear, "orthogonal", gain=0.5)
    torch.testing.assert_close(linear.weight @ linear.weight.T, 0.25 * torch.eye(32))
    with pytest.raises(ConfigError, match="unknown init"):
        init_weights(linear, "uniform")


def test_init_reaches_spectral_norm_original_weight() -> None:
    torch.manual_seed(0)
    block = ConvNormAct(64, 64, 3, spectral_norm=True)
    init_weights(block, "normal", gain=0.5)
    original = block.conv.parametrizations.weight.original
    assert original.std().item() == pytest.approx(0.5, rel=0.05)
    assert block.conv.bias.abs().max() == 0
