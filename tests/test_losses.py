"""Tests of compogan.losses: adversarial modes, gradient penalty, feature, pixel and box losses."""

import math

import pytest
import torch
from torch import nn

from compogan.errors import ConfigError
from compogan.losses import (
    AdversarialLoss,
    PerceptualLoss,
    StyleLoss,
    border_colour_loss,
    border_likeness,
    box_projection_loss,
    color_affinity_loss,
    dice_loss,
    feature_matching_loss,
    gradient_penalty,
    gram_matrix,
    hole_binary_cross_entropy,
    l1_loss,
    masked_l1,
    total_variation,
)
from compogan.nn import VGG19, load_vgg19

LOGITS = torch.tensor([2.0, 0.5, -1.0])


@pytest.fixture(scope="module")
def vgg() -> VGG19:
    torch.manual_seed(0)
    return load_vgg19(random_init=True)


def test_lsgan_values() -> None:
    loss = AdversarialLoss("lsgan")
    assert loss(torch.ones(2, 1, 4, 4), target_is_real=True).item() == 0.0
    assert loss(torch.zeros(2, 1, 4, 4), target_is_real=False).item() == 0.0
    assert loss(torch.zeros(3), target_is_real=True).item() == pytest.approx(1.0)
    expected = ((LOGITS - 1) ** 2).mean().item()
    assert loss(LOGITS, True, for_discriminator=False).item() == pytest.approx(expected)


@pytest.mark.parametrize("mode", ["vanilla", "nsgan"])
def test_bce_modes_values(mode: str) -> None:
    loss = AdversarialLoss(mode)
    assert loss(torch.zeros(4), True).item() == pytest.approx(math.log(2))
    expected_real = -torch.log(torch.sigmoid(LOGITS)).mean().item()
    expected_fake = -torch.log(1 - torch.sigmoid(LOGITS)).mean().item()
    assert loss(LOGITS, True).item() == pytest.approx(expected_real, rel=1e-5)
    assert loss(LOGITS, False).item() == pytest.approx(expected_fake, rel=1e-5)
    assert loss(LOGITS, True, for_discriminator=False).item() == pytest.approx(
        expected_real, rel=1e-5
    )


def test_hinge_values() -> None:
    loss = AdversarialLoss("hinge")
    assert loss(LOGITS, True).item() == pytest.approx((0.0 + 0.5 + 2.0) / 3)
    assert loss(LOGITS, False).item() == pytest.approx((3.0 + 1.5 + 0.0) / 3)
    assert loss(LOGITS, True, for_discriminator=False).item() == pytest.approx(-0.5)


def test_wgan_values() -> None:
    loss = AdversarialLoss("wgan")
    assert loss(LOGITS, True).item() == pytest.approx(-0.5)
    assert loss(LOGITS, False).item() == pytest.approx(0.5)
    assert loss(LOGITS, True, for_discriminator=False).item() == pytest.approx(-0.5)


def test_multiscale_logits_are_averaged() -> None:
    loss = AdversarialLoss("lsgan")
    scales = [torch.zeros(1, 1, 8, 8), torch.full((1, 1, 4, 4), 3.0)]
    assert loss(scales, True).item() == pytest.approx((1.0 + 4.0) / 2)


def test_unknown_gan_mode() -> None:
    with pytest.raises(ConfigError, match="unknown GAN loss"):
        AdversarialLoss("relativistic")


def test_adversarial_loss_backpropagates() -> None:
    logits = LOGITS.clone().requires_grad_(True)
    AdversarialLoss("nsgan")(logits, True).backward()
    assert logits.grad is not None and (logits.grad < 0).all()


class LinearCritic(nn.Module):
    """Critic x -> <w, x> whose input gradient is w everywhere."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.weight


def test_gradient_penalty_zero_for_unit_gradient() -> None:
    torch.manual_seed(0)
    direction = torch.randn(3 * 4 * 4)
    critic = LinearCritic(direction / direction.norm())
    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-6)


def test_gradient_penalty_value_and_graph() -> None:
    torch.manual_seed(0)
    direction = torch.randn(12)
    critic = LinearCritic(2 * direction / direction.norm())
    real, fake = torch.randn(4, 12), torch.randn(4, 12, requires_grad=True)
    penalty = gradient_penalty(critic, real, fake, weight=10.0)
    assert penalty.item() == pytest.approx(10.0, rel=1e-5)
    penalty.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0
    assert fake.grad is None


def test_feature_matching() -> None:
    real = [torch.zeros(2, 4, 8, 8), torch.zeros(2, 1, 3, 3)]
    fake = [torch.ones(2, 4, 8, 8, requires_grad=True), torch.full((2, 1, 3, 3), 3.0)]
    assert feature_matching_loss(real, fake).item() == pytest.approx(2.0)
    assert feature_matching_loss(real, fake, reduction="sum").item() == pytest.approx(4.0)
    assert feature_matching_loss(fake, fake).item() == 0.0
    real_with_grad = [t.clone().requires_grad_(True) for t in real]
    feature_matching_loss(real_with_grad, fake).backward()
    assert real_with_grad[0].grad is None and fake[0].grad is not None


def test_gram_matrix() -> None:
    gram = gram_matrix(torch.ones(3, 2, 2, 2))
    assert gram.shape == (3, 2, 2)
    torch.testing.assert_close(gram, torch.full((3, 2, 2), 0.5))


def test_perceptual_loss(vgg: VGG19) -> None:
    loss = PerceptualLoss(vgg)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert loss(x, x).item() == 0.0
    pred = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1).requires_grad_(True)
    value = loss(pred, x)
    assert value.item() > 0
    value.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())
    weighted = PerceptualLoss(vgg, ["relu1_1", "relu2_1"], weights=[0.0, 2.0], criterion="l2")
    only_second = PerceptualLoss(vgg, ["relu2_1"], criterion="l2")
    torch.testing.assert_close(weighted(pred, x), 2.0 * only_second(pred, x))


def test_perceptual_loss_rejects_bad_config(vgg: VGG19) -> None:
    with pytest.raises(ConfigError, match="relu9_9"):
        PerceptualLoss(vgg, ["relu9_9"])
    with pytest.raises(ConfigError, match="weights"):
        PerceptualLoss(vgg, ["relu1_1"], weights=[1.0, 2.0])
    with pytest.raises(ConfigError, match="criterion"):
        PerceptualLoss(vgg, criterion="huber")


def test_style_loss(vgg: VGG19) -> None:
    loss = StyleLoss(vgg)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert loss(x, x).item() == 0.0
    pred = torch.rand(2, 3, 32, 32).mul(2).sub(1).requires_grad_(True)
    value = loss(pred, x)
    assert value.item() > 0
    value.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0


def test_total_variation() -> None:
    assert total_variation(torch.full((1, 3, 5, 5), 0.7)).item() == 0.0
    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 4, 4)
    assert total_variation(ramp).item() == pytest.approx(1.0)
    assert total_variation(ramp.transpose(-1, -2)).item() == pytest.approx(1.0)


def test_l1_and_masked_l1() -> None:
    pred, target = torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)
    assert l1_loss(pred, target).item() == 1.0
    mask = torch.zeros(2, 1, 4, 4)
    mask[:, :, :2] = 1.0
    assert masked_l1(pred, target, mask).item() == pytest.approx(2.0)
    no_hole = masked_l1(pred, target, torch.zeros(2, 1, 4, 4))
    assert math.isfinite(no_hole.item()) and no_hole.item() == pytest.approx(16.0)


def test_hole_binary_cross_entropy_scores_the_hole_alone() -> None:
    target = torch.zeros(2, 1, 4, 4)
    target[:, :, 0, 0] = 1.0
    mask = torch.zeros(2, 1, 4, 4)
    mask[:, :, :2] = 1.0
    right_in_hole = torch.where(mask > 0.5, target, 1 - target)
    assert hole_binary_cross_entropy(right_in_hole, target, mask).item() == pytest.approx(0.0)
    half = torch.full_like(target, 0.5)
    assert hole_binary_cross_entropy(half, target, mask).item() == pytest.approx(math.log(2))
    assert hole_binary_cross_entropy(half, target, torch.zeros_like(mask)).item() == 0.0


def _box_scene() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A (1,3,16,16) grey image with a red square object at rows/cols 5..10, its (1,1,16,16)
    box (the object's own extent) and its true mask (the same square)."""
    image = torch.zeros(1, 3, 16, 16)
    image[:, 0, 5:11, 5:11] = 1.0
    image[:, 1:, 5:11, 5:11] = -1.0
    box = torch.zeros(1, 1, 16, 16)
    box[..., 5:11, 5:11] = 1
    return image, box, box.clone()


def test_dice_loss_bounds() -> None:
    target = torch.tensor([[0.0, 1.0, 1.0, 0.0]])
    assert dice_loss(target, target).item() == pytest.approx(0.0, abs=1e-4)
    assert dice_loss(1 - target, target).item() == pytest.approx(1.0, abs=1e-4)


def test_box_projection_loss_wants_every_row_and_column_of_the_box() -> None:
    box = torch.zeros(2, 1, 12, 12)
    box[..., 3:9, 2:10] = 1
    diagonal = torch.zeros_like(box)
    for i in range(6):  # a thin diagonal stroke touching every row, and columns 2..7 only
        diagonal[..., 3 + i, 2 + i] = 1
    assert box_projection_loss(box, box).item() == pytest.approx(0.0, abs=1e-4)
    short = box_projection_loss(diagonal, box)
    outside = box_projection_loss(torch.ones_like(box), box)
    assert 0 < short.item() < outside.item()
    masks = (diagonal * 0.5).requires_grad_()
    box_projection_loss(masks, box).backward()
    assert masks.grad is not None and masks.grad.abs().sum() > 0


def test_color_affinity_loss_follows_colour_edges() -> None:
    image, box, truth = _box_scene()
    grown = torch.zeros_like(box)  # the object and a rim of the (uniform) surround
    grown[..., 3:13, 3:13] = 1
    half = truth.clone()  # cuts the uniform red object in two
    half[..., :, 8:] = 0
    assert color_affinity_loss(truth, image, box).item() == pytest.approx(0.0, abs=1e-4)
    assert color_affinity_loss(half, image, box).item() > 1.0
    # in a wider box, the cut at the object's colour edge costs nothing, one through the
    # uniform surround does
    wide = torch.zeros_like(box)
    wide[..., 1:15, 1:15] = 1
    assert color_affinity_loss(truth, image, wide).item() == pytest.approx(0.0, abs=1e-4)
    assert color_affinity_loss(grown, image, wide).item() > 1.0
    assert color_affinity_loss(grown, image, grown).item() == pytest.approx(0.0, abs=1e-4)
    masks = (0.2 + 0.6 * half).requires_grad_()  # (uniform 0.5 is a stationary point)
    color_affinity_loss(masks, image, box).backward()
    assert masks.grad is not None and masks.grad.abs().sum() > 0


def test_color_affinity_loss_is_zero_without_similar_pairs() -> None:
    image = torch.zeros(1, 3, 8, 8)
    image[:, :, ::2, ::2] = 1.0  # every pixel 2 apart differs... except the on-grid ones
    image[:, :, 1::2, 1::2] = -1.0
    box = torch.zeros(1, 1, 8, 8)
    box[..., 0, 0] = 1  # a one-pixel box has no pair inside it
    assert color_affinity_loss(torch.full_like(box, 0.3), image, box).item() == 0.0


def test_color_affinity_loss_rejects_a_pixel_checkerboard() -> None:
    image = torch.zeros(1, 3, 12, 12)  # uniform: every pair inside the box is counted
    box = torch.ones(1, 1, 12, 12)
    rows, cols = torch.meshgrid(torch.arange(12), torch.arange(12), indexing="ij")
    checkerboard = ((rows + cols) % 2).float()[None, None]
    # pairs two apart alone (BoxInst's on its quarter-resolution masks) cannot see it
    assert color_affinity_loss(checkerboard, image, box, distances=(2,)).item() == 0.0
    assert color_affinity_loss(checkerboard, image, box).item() > 3.0


def test_border_likeness_marks_the_colours_found_around_the_box() -> None:
    image, box, truth = _box_scene()
    likeness = border_likeness(image, box)
    assert torch.allclose(likeness[truth > 0], torch.zeros(()), atol=1e-3)  # red: not around
    assert torch.allclose(likeness[truth == 0], torch.ones(()))  # grey: the surround's colour
    full = torch.ones_like(box)  # no band outside a box that fills the image
    assert torch.equal(border_likeness(image, full), torch.ones_like(box))


def test_border_colour_loss_prefers_the_object_to_the_box() -> None:
    image, box, truth = _box_scene()
    wide = torch.zeros_like(box)  # a loose box: grey background inside it
    wide[..., 2:14, 2:14] = 1
    on_object = border_colour_loss(truth.clamp(0.05, 0.95), image, wide)
    on_box = border_colour_loss(wide.clamp(0.05, 0.95), image, wide)
    assert on_object < on_box
    masks = wide.clamp(0.05, 0.95).requires_grad_()
    border_colour_loss(masks, image, wide).backward()
    assert masks.grad is not None and float(masks.grad[truth == 0][wide[truth == 0] > 0].min()) > 0
