"""EdgeConnect's generators: parameter shapes against the official key lists, ranges, inputs."""

import pytest
import torch

from compogan.errors import ConfigError, InputError
from compogan.nn.discriminators import PatchDiscriminator
from compogan.nn.inpainting import (
    EdgeGenerator,
    InpaintGenerator,
    edge_generator_input,
    inpaint_generator_input,
    to_signed,
    to_unit,
)

BLOCKS = 8
SN = ("weight_orig", "weight_u", "weight_v")


def _sn_layer(out_channels: int, weight: tuple[int, ...], v: int, bias: bool = True) -> list:
    """Documented shapes of one old-API spectral-norm layer: [bias], weight_orig, u, v."""
    return ([(out_channels,)] if bias else []) + [weight, (out_channels,), (v,)]


def official_edge_generator_shapes() -> list[tuple[int, ...]]:
    """The documented shapes of the official EdgeGenerator's 70 keys, in state_dict order."""
    shapes = (
        _sn_layer(64, (64, 3, 7, 7), 147)
        + _sn_layer(128, (128, 64, 4, 4), 1024)
        + _sn_layer(256, (256, 128, 4, 4), 2048)
    )
    for _ in range(BLOCKS * 2):
        shapes += _sn_layer(256, (256, 256, 3, 3), 2304, bias=False)
    shapes += _sn_layer(128, (256, 128, 4, 4), 4096) + _sn_layer(64, (128, 64, 4, 4), 2048)
    return [*shapes, (1, 64, 7, 7), (1,)]


def official_inpaint_generator_shapes() -> list[tuple[int, ...]]:
    """The documented shapes of the official InpaintGenerator's 44 keys, in state_dict order."""
    shapes = [(64, 4, 7, 7), (64,), (128, 64, 4, 4), (128,), (256, 128, 4, 4), (256,)]
    shapes += [(256, 256, 3, 3), (256,)] * (BLOCKS * 2)
    return [*shapes, (256, 128, 4, 4), (128,), (128, 64, 4, 4), (64,), (3, 64, 7, 7), (3,)]


def official_discriminator_shapes(in_channels: int) -> list[tuple[int, ...]]:
    """Documented shapes of the official Discriminator without its duplicated ``features``."""
    return (
        _sn_layer(64, (64, in_channels, 4, 4), in_channels * 16, bias=False)
        + _sn_layer(128, (128, 64, 4, 4), 1024, bias=False)
        + _sn_layer(256, (256, 128, 4, 4), 2048, bias=False)
        + _sn_layer(512, (512, 256, 4, 4), 4096, bias=False)
        + _sn_layer(1, (1, 512, 4, 4), 8192, bias=False)
    )


def _shapes(module: torch.nn.Module) -> list[tuple[int, ...]]:
    return [tuple(value.shape) for value in module.state_dict().values()]


def test_edge_generator_shapes_match_official_keys() -> None:
    assert len(official_edge_generator_shapes()) == 70
    assert _shapes(EdgeGenerator()) == official_edge_generator_shapes()


def test_inpaint_generator_shapes_match_official_keys() -> None:
    assert len(official_inpaint_generator_shapes()) == 44
    assert _shapes(InpaintGenerator()) == official_inpaint_generator_shapes()


@pytest.mark.parametrize("in_channels", [2, 3])
def test_edgeconnect_discriminator_shapes_match_official_keys(in_channels: int) -> None:
    network = PatchDiscriminator(in_channels, norm="none", spectral_norm=True, bias=False)
    assert _shapes(network) == official_discriminator_shapes(in_channels)


def test_edge_generator_spectral_norm_everywhere_but_the_head() -> None:
    network = EdgeGenerator(residual_blocks=2)
    conv_types = torch.nn.Conv2d | torch.nn.ConvTranspose2d
    convs = [m for m in network.modules() if isinstance(m, conv_types)]
    normalised = [hasattr(conv, "parametrizations") for conv in convs]
    assert normalised == [True] * (len(convs) - 1) + [False]
    plain = EdgeGenerator(residual_blocks=2, spectral_norm=False)
    assert not any("parametrizations" in key for key in plain.state_dict())
    assert plain.middle[0].conv1.conv.bias is not None


def test_generators_output_shapes_and_ranges() -> None:
    torch.manual_seed(0)
    edge = EdgeGenerator(residual_blocks=1).eval()
    inpaint = InpaintGenerator(residual_blocks=1).eval()
    with torch.no_grad():
        edges = edge(torch.rand(2, 3, 32, 24))
        images = inpaint(torch.rand(2, 4, 32, 24))
    assert edges.shape == (2, 1, 32, 24)
    assert images.shape == (2, 3, 32, 24)
    for output in (edges, images):
        assert output.min() >= 0 and output.max() <= 1


def test_inpaint_generator_is_tanh_rescaled() -> None:
    torch.manual_seed(0)
    network = InpaintGenerator(residual_blocks=1).eval()
    x = torch.rand(1, 4, 16, 16)
    with torch.no_grad():
        raw = network.decoder(network.middle(network.encoder(x)))
        assert torch.allclose(network(x), (raw + 1) / 2)


@pytest.mark.parametrize("network", [EdgeGenerator(1), InpaintGenerator(1)])
def test_generators_refuse_sizes_not_divisible_by_four(network: torch.nn.Module) -> None:
    channels = network.encoder[0].conv.in_channels
    with pytest.raises(InputError, match="divisible by 4"):
        network(torch.rand(1, channels, 30, 32))


def test_generator_inputs_whiten_holes_and_clear_masked_edges() -> None:
    gray = torch.full((1, 1, 4, 4), 0.0)
    rgb = torch.zeros(1, 3, 4, 4)
    edges = torch.ones(1, 1, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    edge_in = edge_generator_input(gray, edges, mask)
    assert edge_in.shape == (1, 3, 4, 4)
    assert torch.equal(edge_in[:, 0], mask[:, 0])  # black pixels, white hole
    assert torch.equal(edge_in[:, 1], 1 - mask[:, 0])  # edges kept outside the hole only
    assert torch.equal(edge_in[:, 2], mask[:, 0])
    inpaint_in = inpaint_generator_input(rgb, edges, mask)
    assert inpaint_in.shape == (1, 4, 4, 4)
    assert torch.equal(inpaint_in[:, :3], (0.5 + 0.5 * mask).expand(1, 3, 4, 4))
    assert torch.equal(inpaint_in[:, 3:], edges)


def test_harmonic_hole_fill_interpolates_the_known_pixels_around_the_hole() -> None:
    ramp = torch.linspace(-1, 1, 8).expand(1, 3, 8, 8).clone()  # varies along x only
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:6, 2:6] = 1
    edges = torch.zeros(1, 1, 8, 8)
    filled = inpaint_generator_input(ramp, edges, mask, hole_fill="harmonic")
    assert filled.shape == (1, 4, 8, 8)
    # A linear ramp is harmonic, so the fill restores it exactly; known pixels are untouched.
    assert torch.allclose(filled[:, :3], to_unit(ramp), atol=1e-6)
    assert torch.equal(filled[:, :3] * (1 - mask), to_unit(ramp) * (1 - mask))
    white = inpaint_generator_input(ramp, edges, mask)
    assert torch.equal(white[:, :3] * mask, mask.expand(1, 3, 8, 8))


def test_unknown_hole_fill_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="hole_fill 'grey'"):
        inpaint_generator_input(
            torch.zeros(1, 3, 4, 4),
            torch.zeros(1, 1, 4, 4),
            torch.zeros(1, 1, 4, 4),
            hole_fill="grey",
        )


def test_range_conversions_round_trip() -> None:
    x = torch.linspace(-1, 1, 11)
    assert torch.equal(to_unit(x)[[0, -1]], torch.tensor([0.0, 1.0]))
    assert torch.allclose(to_signed(to_unit(x)), x, atol=1e-6)


def _flat_images_with_a_hole(levels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Evenly grey (N, 3, 16, 16) images at ``levels`` in [-1, 1] and one centred 8x8 hole."""
    images = levels.view(-1, 1, 1, 1).expand(-1, 3, 16, 16)
    mask = torch.zeros(len(levels), 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    return images, mask


def _fill(network: InpaintGenerator, levels: torch.Tensor) -> torch.Tensor:
    """The generator's fill of the hole's centre pixel, in [-1, 1], (N, 3)."""
    images, mask = _flat_images_with_a_hole(levels)
    edges = torch.zeros_like(mask)
    return to_signed(network(inpaint_generator_input(images, edges, mask)))[:, :, 8, 8]


def _trained_to_fill_flat_images(norm: str) -> InpaintGenerator:
    """A small G2 trained for 150 steps to fill holes in evenly grey images (L1)."""
    torch.manual_seed(0)
    network = InpaintGenerator(1, width=8, norm=norm)
    optimizer = torch.optim.Adam(network.parameters(), 1e-3)
    for _ in range(150):
        levels = torch.rand(16) * 1.4 - 0.9
        loss = (_fill(network, levels) - levels[:, None]).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return network.eval()


def test_instance_norm_hides_brightness_and_no_norm_shows_it() -> None:
    levels = torch.tensor([-0.8, -0.4, 0.0, 0.3])
    paper = _trained_to_fill_flat_images("instance")
    plain = _trained_to_fill_flat_images("none")
    with torch.no_grad():
        paper_fill, plain_fill = _fill(paper, levels), _fill(plain, levels)
    assert (paper_fill - paper_fill[0]).abs().max() < 2e-3  # one fill for every grey level
    assert (plain_fill - levels[:, None]).abs().max() < 0.1  # the fill follows the grey level
