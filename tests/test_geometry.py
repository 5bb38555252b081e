"""Tests of compogan.geometry: sl(3)/affine warps, canonical frames, image warps, compositing."""

import math

import kornia.geometry.transform as kornia_transform
import pytest
import torch

from compogan.errors import ConfigError, InputError
from compogan.geometry import (
    affine_to_matrix,
    alpha_composite,
    canonical_grid,
    canonical_to_pixel,
    canonical_to_pixel_matrix,
    compose_matrices,
    compose_params,
    composite_warped,
    fit_affine,
    fit_similarity,
    foreground_visible_fraction,
    invert_homography,
    is_off_image,
    mask_boxes,
    matrix_to_affine,
    matrix_to_sl3,
    normalize_homography,
    pixel_to_canonical,
    pixel_to_canonical_matrix,
    sl3_algebra,
    sl3_to_matrix,
    transform_points,
    warp_image,
    warp_rgba,
    zoom_to_boxes,
)


def random_sl3(batch: int, magnitude: float, seed: int, dtype=torch.float64) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, 8, generator=generator, dtype=dtype) * 2 - 1) * magnitude


def translation(tx: float, ty: float, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor([[[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]]], dtype=dtype)


def eye(batch: int = 1, dtype=torch.float64) -> torch.Tensor:
    return torch.eye(3, dtype=dtype).expand(batch, 3, 3)


# ----------------------------------------------------------------------------------------------
# sl(3) and affine parameters


def test_sl3_algebra_layout_is_st_gans_and_trace_free() -> None:
    p = torch.arange(1.0, 9.0).unsqueeze(0)
    expected = torch.tensor([[3.0, 2.0, 1.0], [6.0, -3.0 - 7.0, 5.0], [4.0, 8.0, 7.0]])
    algebra = sl3_algebra(p)
    assert torch.equal(algebra[0], expected)
    assert algebra.diagonal(dim1=1, dim2=2).sum().item() == 0.0


def test_sl3_matrix_has_unit_determinant_and_exp_minus_a_inverts() -> None:
    p = random_sl3(8, 0.8, seed=1)
    forward, backward = sl3_to_matrix(p), sl3_to_matrix(-p)
    torch.testing.assert_close(torch.linalg.det(forward), torch.ones(8, dtype=torch.float64))
    torch.testing.assert_close(forward @ backward, eye(8), atol=1e-12, rtol=0)
    torch.testing.assert_close(sl3_to_matrix(torch.zeros(2, 8)), eye(2, torch.float32))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_sl3_round_trip(dtype: torch.dtype) -> None:
    p = random_sl3(32, 0.5, seed=2, dtype=dtype)
    torch.testing.assert_close(matrix_to_sl3(sl3_to_matrix(p)), p, atol=1e-5, rtol=0)


def test_matrix_to_sl3_ignores_scale_and_handles_defective_shear() -> None:
    p = random_sl3(4, 0.4, seed=3)
    scales = torch.tensor([3.0, 0.2, -1.5, 7.0], dtype=torch.float64)[:, None, None]
    torch.testing.assert_close(matrix_to_sl3(sl3_to_matrix(p) * scales), p, atol=1e-10, rtol=0)
    shear = torch.tensor([[[1.0, 0.7, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]], dtype=torch.float64)
    expected = torch.tensor([[0.0, 0.7, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(matrix_to_sl3(shear), expected, atol=1e-10, rtol=0)


def test_matrix_to_sl3_refuses_matrices_without_real_log() -> None:
    half_turn = torch.diag(torch.tensor([-1.0, -1.0, 1.0], dtype=torch.float64)).unsqueeze(0)
    with pytest.raises(InputError, match="no real logarithm"):
        matrix_to_sl3(half_turn)
    with pytest.raises(InputError, match="singular"):
        matrix_to_sl3(torch.zeros(1, 3, 3))


def test_affine_parameters_round_trip_and_keep_bottom_row() -> None:
    generator = torch.Generator().manual_seed(4)
    p = (torch.rand(6, 6, generator=generator, dtype=torch.float64) * 2 - 1) * 0.5
    matrix = affine_to_matrix(p)
    bottom = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64).expand(6, 3)
    torch.testing.assert_close(matrix[:, 2], bottom, atol=1e-12, rtol=0)
    # The 6 numbers are the top two rows of the algebra: a pure translation is exp of [0 0 t].
    torch.testing.assert_close(
        affine_to_matrix(torch.tensor([[0.0, 0.0, 0.3, 0.0, 0.0, -0.2]], dtype=torch.float64)),
        translation(0.3, -0.2),
    )
    torch.testing.assert_close(matrix_to_affine(matrix * 2.5), p, atol=1e-10, rtol=0)
    with pytest.raises(InputError, match="not affine"):
        matrix_to_affine(sl3_to_matrix(random_sl3(1, 0.3, seed=5)))


def test_true_and_additive_composition() -> None:
    p = random_sl3(3, 0.3, seed=6)
    # dp commutes with p (same one-parameter subgroup): both modes agree.
    commuting = 0.5 * p
    torch.testing.assert_close(compose_params(p, commuting), p + commuting, atol=1e-9, rtol=0)
    torch.testing.assert_close(compose_params(p, commuting, mode="additive"), 1.5 * p)
    # Translation then rotation do not commute: only true composition equals the matrix product.
    shift = torch.tensor([[0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    turn = torch.tensor([[0.0, -0.4, 0.0, 0.0, 0.0, 0.4, 0.0, 0.0]], dtype=torch.float64)
    true = compose_params(shift, turn, mode="true")
    additive = compose_params(shift, turn, mode="additive")
    product = compose_matrices(sl3_to_matrix(shift), sl3_to_matrix(turn))
    torch.testing.assert_close(product, sl3_to_matrix(turn) @ sl3_to_matrix(shift))
    torch.testing.assert_close(sl3_to_matrix(true), product, atol=1e-10, rtol=0)
    assert (sl3_to_matrix(additive) - product).abs().max() > 1e-2
    affine = torch.tensor([[0.1, 0.0, 0.2, 0.0, -0.1, 0.0]], dtype=torch.float64)
    affine_update = torch.tensor([[0.0, 0.3, 0.0, 0.0, 0.0, 0.1]], dtype=torch.float64)
    torch.testing.assert_close(
        affine_to_matrix(compose_params(affine, affine_update)),
        affine_to_matrix(affine_update) @ affine_to_matrix(affine),
    )
    with pytest.raises(ConfigError, match="composition mode"):
        compose_params(p, p, mode="multiplicative")  # type: ignore[arg-type]


def test_invert_and_normalize_homography() -> None:
    matrix = sl3_to_matrix(random_sl3(4, 0.5, seed=7)) * 3.0
    torch.testing.assert_close(invert_homography(matrix) @ matrix, eye(4), atol=1e-12, rtol=0)
    normalised = normalize_homography(matrix)
    torch.testing.assert_close(normalised[:, 2, 2], torch.ones(4, dtype=torch.float64))
    torch.testing.assert_close(normalised * matrix[:, 2:, 2:], matrix)
    rank_two = torch.tensor([[[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]]])
    with pytest.raises(InputError, match="singular"):
        invert_homography(rank_two)
    with pytest.raises(InputError, match=r"H\[2, 2\]"):
        normalize_homography(torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]]))


# ----------------------------------------------------------------------------------------------
# Canonical and pixel frames


def test_pixel_centres_and_edges_in_the_canonical_frame() -> None:
    to_pixel = canonical_to_pixel_matrix(4, 8, dtype=torch.float64)
    corners = torch.tensor([[[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]]], dtype=torch.float64)
    expected = torch.tensor([[[-0.5, -0.5], [7.5, 3.5], [3.5, 1.5]]], dtype=torch.float64)
    torch.testing.assert_close(transform_points(to_pixel, corners), expected)
    grid = canonical_grid(4, 8, dtype=torch.float64)
    assert grid.shape == (4, 8, 2)
    torch.testing.assert_close(grid[2, 5], torch.tensor([11 / 8 - 1, 5 / 4 - 1]).double())
    product = pixel_to_canonical_matrix(4, 8, dtype=torch.float64) @ to_pixel
    torch.testing.assert_close(product, torch.eye(3, dtype=torch.float64))


@pytest.mark.parametrize(("src_size", "dst_size"), [((48, 80), (48, 80)), ((30, 70), (90, 40))])
def test_canonical_pixel_round_trip_and_point_agreement(
    src_size: tuple[int, int], dst_size: tuple[int, int]
) -> None:
    canonical = sl3_to_matrix(random_sl3(3, 0.3, seed=8))
    pixel = canonical_to_pixel(canonical, src_size, dst_size)
    torch.testing.assert_close(pixel_to_canonical(pixel, src_size, dst_size), canonical)
    generator = torch.Generator().manual_seed(9)
    src_pixels = torch.rand(3, 10, 2, generator=generator, dtype=torch.float64) * 20
    src_canonical = transform_points(
        pixel_to_canonical_matrix(*src_size, dtype=torch.float64), src_pixels
    )
    via_canonical = transform_points(
        canonical_to_pixel_matrix(*dst_size, dtype=torch.float64),
        transform_points(canonical, src_canonical),
    )
    torch.testing.assert_close(transform_points(pixel, src_pixels), via_canonical)


def test_transform_points_refuses_points_at_infinity() -> None:
    to_infinity = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]])
    with pytest.raises(InputError, match="infinity"):
        transform_points(to_infinity, torch.tensor([[[0.0, 0.5]]]))
    with pytest.raises(InputError, match=r"\(B, N, 2\)"):
        transform_points(to_infinity, torch.zeros(1, 3))


# ----------------------------------------------------------------------------------------------
# Image warps


def test_identity_warp_returns_the_image() -> None:
    image = torch.rand(2, 3, 17, 23) * 2 - 1
    torch.testing.assert_close(
        warp_image(image, eye(2, torch.float32), (17, 23)), image, atol=1e-5, rtol=0
    )


def test_translation_by_two_over_width_shifts_one_pixel() -> None:
    image = torch.rand(1, 2, 9, 12)
    right = warp_image(image, translation(2 / 12, 0.0, torch.float32), (9, 12))
    torch.testing.assert_close(right[..., 1:], image[..., :-1], atol=1e-5, rtol=0)
    assert right[..., 0].abs().max() == 0.0
    down = warp_image(image, translation(0.0, 2 / 9, torch.float32), (9, 12))
    torch.testing.assert_close(down[..., 1:, :], image[..., :-1, :], atol=1e-5, rtol=0)


def bright_square_centroid(size: int, matrix: torch.Tensor) -> torch.Tensor:
    """Warp a bright square covering pixels [size/4, size/2) and return its warped centroid.

    The centroid is in edge-based coordinates (pixel centre u at u + 0.5), so it scales with size.
    """
    image = torch.zeros(1, 1, size, size)
    image[..., size // 4 : size // 2, size // 4 : size // 2] = 1.0
    warped = warp_image(image, matrix.float(), (size, size))[0, 0]
    coords = torch.arange(size, dtype=torch.float64) + 0.5
    mass = warped.double().sum()
    x = (warped.double().sum(dim=0) * coords).sum() / mass
    y = (warped.double().sum(dim=1) * coords).sum() / mass
    return torch.stack([x, y])


def test_warp_found_at_64_px_applies_unchanged_at_1024_px() -> None:
    matrix = sl3_to_matrix(
        torch.tensor([[0.15, 0.1, 0.05, 0.1, -0.1, 0.08, -0.05, 0.12]], dtype=torch.float64)
    )
    # Corners of a foreground square, in edge-based pixel coordinates at 64 px.
    corners_64 = torch.tensor([[[16.0, 16.0], [32.0, 16.0], [32.0, 32.0], [16.0, 32.0]]]).double()

    def land(corners_edge: torch.Tensor, size: int) -> torch.Tensor:
        pixel = canonical_to_pixel(matrix, (size, size), (size, size))
        return transform_points(pixel, corners_edge - 0.5) + 0.5

    torch.testing.assert_close(land(corners_64 * 16, 1024), land(corners_64, 64) * 16)
    centroid_64 = bright_square_centroid(64, matrix)
    centroid_1024 = bright_square_centroid(1024, matrix)
    torch.testing.assert_close(centroid_1024 / 16, centroid_64, atol=0.05, rtol=0)
    assert (centroid_64 - 24.0).abs().max() > 2.0  # the warp really moved the square


@pytest.mark.parametrize("align_corners", [True, False])
def test_warp_image_matches_kornia_warp_perspective(align_corners: bool) -> None:
    # kornia's M maps source pixel centres to destination pixel centres. In kornia 0.9
    # warp_perspective passes align_corners both to its pixel normalisation and to grid_sample,
    # so either setting is a pixel-centre warp and both match our align_corners=False canonical
    # warp; its default (True) is the one kornia's docs use, and False is our own convention.
    generator = torch.Generator().manual_seed(10)
    image = torch.rand(2, 3, 20, 30, generator=generator)
    canonical = sl3_to_matrix(random_sl3(2, 0.15, seed=11, dtype=torch.float32))
    ours = warp_image(image, canonical, (25, 35))
    pixel = canonical_to_pixel(canonical, (20, 30), (25, 35))
    theirs = kornia_transform.warp_perspective(image, pixel, (25, 35), align_corners=align_corners)
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=0)


def test_warp_image_gradcheck_wrt_sl3_parameters() -> None:
    generator = torch.Generator().manual_seed(12)
    image = torch.rand(1, 2, 6, 7, generator=generator, dtype=torch.float64)
    p = random_sl3(1, 0.2, seed=13).requires_grad_(True)

    def warped(params: torch.Tensor) -> torch.Tensor:
        return warp_image(image, sl3_to_matrix(params), (5, 6))

    assert torch.autograd.gradcheck(warped, (p,), eps=1e-6, atol=1e-5)


def test_matrix_to_sl3_is_differentiable() -> None:
    p = random_sl3(2, 0.3, seed=14).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda q: matrix_to_sl3(sl3_to_matrix(q)), (p,), atol=1e-6)


@pytest.mark.parametrize(
    "matrix",
    [
        torch.zeros(1, 3, 3),
        torch.tensor([[[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]]]),
        torch.tensor([[[1.0, 0.0, float("nan")], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]),
    ],
)
def test_singular_or_invalid_warp_raises(matrix: torch.Tensor) -> None:
    with pytest.raises(InputError, match="singular"):
        warp_image(torch.rand(1, 1, 4, 4), matrix, (4, 4))


def test_warp_image_rejects_bad_arguments() -> None:
    with pytest.raises(InputError, match="warp must have shape"):
        warp_image(torch.rand(2, 1, 4, 4), eye(3, torch.float32), (4, 4))
    with pytest.raises(ConfigError, match="mode"):
        warp_image(torch.rand(1, 1, 4, 4), eye(1, torch.float32), (4, 4), mode="lanczos")
    with pytest.raises(InputError, match="out_size"):
        warp_image(torch.rand(1, 1, 4, 4), eye(1, torch.float32), (0, 4))


def test_warp_rgba_does_not_bleed_transparent_colour_into_edges() -> None:
    rgba = torch.zeros(1, 4, 8, 8)
    rgba[:, :3] = -1.0  # transparent pixels are black
    rgba[:, :3, 2:6, 2:6] = 0.8
    rgba[:, 3, 2:6, 2:6] = 1.0
    shift = translation(0.5 * 2 / 8, 0.0, torch.float32)  # half a pixel: edges mix with black
    warped = warp_rgba(rgba, shift, (8, 8))
    edge_alpha = warped[0, 3, 3, 2]
    assert 0.4 < edge_alpha < 0.6
    torch.testing.assert_close(warped[0, :3, 3, 2], torch.full((3,), 0.8), atol=1e-5, rtol=0)
    naive = warp_image(rgba, shift, (8, 8))
    assert naive[0, 0, 3, 2] < 0.0  # without premultiplication the edge turns dark
    assert warped[:, :3][warped[:, 3:].expand(1, 3, 8, 8) == 0].abs().max() == 0.0


def test_alpha_composite_extremes_and_blend() -> None:
    fg, bg = torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), -0.5)
    torch.testing.assert_close(alpha_composite(fg, torch.zeros(1, 1, 4, 4), bg), bg)
    torch.testing.assert_close(alpha_composite(fg, torch.ones(1, 1, 4, 4), bg), fg)
    torch.testing.assert_close(
        alpha_composite(fg, torch.full((1, 1, 4, 4), 0.25), bg), torch.full((1, 3, 4, 4), -0.25)
    )
    with pytest.raises(InputError, match="cannot composite"):
        alpha_composite(fg, torch.ones(1, 1, 4, 4), torch.zeros(1, 3, 5, 5))


def test_composite_warped_places_foreground_on_background() -> None:
    fg = torch.zeros(1, 4, 16, 16)
    fg[:, :3] = 1.0
    fg[:, 3, 4:12, 4:12] = 1.0
    bg = torch.full((1, 3, 32, 48), -1.0)
    composite, alpha = composite_warped(fg, bg, eye(1, torch.float32))
    assert composite.shape == (1, 3, 32, 48) and alpha.shape == (1, 1, 32, 48)
    # Identity in canonical frames: the square covers the centre half of the background.
    assert composite[0, :, 16, 24].eq(1.0).all() and composite[0, :, 2, 2].eq(-1.0).all()
    torch.testing.assert_close(alpha.mean(), torch.tensor(0.25), atol=0.02, rtol=0)


def test_visible_fraction_and_off_image_detection() -> None:
    alpha = torch.zeros(1, 1, 32, 32)
    alpha[..., 8:24, 8:24] = 1.0
    inside = torch.tensor([[[0.7, 0.1, 0.1], [-0.1, 0.8, 0.0], [0.05, -0.05, 1.0]]])
    half_out = translation(1.0, 0.0, torch.float32)
    gone = translation(3.0, 0.0, torch.float32)
    matrices = torch.cat([inside, half_out, gone])
    alphas = alpha.expand(3, 1, 32, 32)
    warped = warp_image(alphas, matrices, (24, 40))
    fraction = foreground_visible_fraction(alphas, matrices, warped)
    torch.testing.assert_close(fraction, torch.tensor([1.0, 0.5, 0.0]), atol=0.03, rtol=0)
    off = is_off_image(alphas, matrices, (24, 40), min_visible_fraction=0.6)
    assert off.tolist() == [False, True, True]


# ----------------------------------------------------------------------------------------------
# Point-set fits


def test_fit_similarity_recovers_a_known_similarity() -> None:
    angle, scale = 0.7, 1.8
    rotation = scale * torch.tensor(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]],
        dtype=torch.float64,
    )
    expected = torch.cat([rotation, torch.tensor([[3.0], [-2.0]], dtype=torch.float64)], dim=1)
    generator = torch.Generator().manual_seed(15)
    src = torch.rand(2, 7, 2, generator=generator, dtype=torch.float64) * 10
    dst = src @ rotation.T + expected[:, 2]
    torch.testing.assert_close(fit_similarity(src, dst), expected.expand(2, 2, 3))
    weights = torch.rand(7, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(fit_similarity(src, dst, weights), expected.expand(2, 2, 3))
    two_points = fit_similarity(src[:, :2], dst[:, :2])
    torch.testing.assert_close(two_points, expected.expand(2, 2, 3))


def test_fit_similarity_never_reflects() -> None:
    src = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], dtype=torch.float64)
    mirrored = src * torch.tensor([-1.0, 1.0], dtype=torch.float64)
    linear = fit_similarity(src, mirrored)[0, :, :2]
    assert torch.linalg.det(linear) >= 0.0


def test_fit_affine_recovers_a_known_affine() -> None:
    expected = torch.tensor([[1.2, 0.3, -4.0], [-0.5, 0.8, 2.5]], dtype=torch.float64)
    generator = torch.Generator().manual_seed(16)
    src = torch.rand(3, 9, 2, generator=generator, dtype=torch.float64) * 5
    dst = src @ expected[:, :2].T + expected[:, 2]
    torch.testing.assert_close(fit_affine(src, dst), expected.expand(3, 2, 3))
    torch.testing.assert_close(fit_affine(src[:, :3], dst[:, :3]), expected.expand(3, 2, 3))


def test_fits_are_differentiable() -> None:
    generator = torch.Generator().manual_seed(17)
    src = torch.rand(1, 5, 2, generator=generator, dtype=torch.float64).requires_grad_(True)
    dst = torch.rand(1, 5, 2, generator=generator, dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(fit_similarity, (src, dst))
    assert torch.autograd.gradcheck(fit_affine, (src, dst))


def test_fits_refuse_too_few_or_degenerate_points() -> None:
    one = torch.zeros(1, 1, 2)
    with pytest.raises(InputError, match="at least 2"):
        fit_similarity(one, one)
    two = torch.tensor([[[0.0, 0.0], [1.0, 1.0]]])
    with pytest.raises(InputError, match="at least 3"):
        fit_affine(two, two)
    same = torch.ones(1, 4, 2)
    with pytest.raises(InputError, match="coincide"):
        fit_similarity(same, same)
    collinear = torch.tensor([[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [5.0, 5.0]]])
    with pytest.raises(InputError, match="collinear"):
        fit_affine(collinear, collinear)


def test_mask_boxes_bound_the_pixels_above_a_half() -> None:
    masks = torch.zeros(3, 1, 8, 16)
    masks[0, :, 2:6, 4:8] = 1
    masks[1, :, 7, 15] = 0.6
    masks[2, :, 0, 0] = 0.4  # below ½: an empty mask
    expected = torch.tensor(
        [[-0.5, -0.5, 0.0, 0.5], [0.875, 0.75, 1.0, 1.0], [-1.0, -1.0, 1.0, 1.0]]
    )
    assert torch.allclose(mask_boxes(masks), expected)
    with pytest.raises(InputError, match="masks must be"):
        mask_boxes(torch.zeros(1, 3, 8, 8))


def test_zoom_to_boxes_resamples_the_square_around_the_box() -> None:
    images = torch.rand(1, 2, 16, 16, requires_grad=True)
    box = torch.zeros(1, 1, 16, 16)
    box[..., 6:10, 4:12] = 1  # 8 wide, 4 tall: the square is rows 4-12, columns 4-12
    zoomed = zoom_to_boxes(images, mask_boxes(box), context=1.0)
    upsampled = torch.nn.functional.interpolate(
        images[..., 4:12, 4:12], scale_factor=2, mode="bilinear"
    )
    assert torch.allclose(zoomed[..., 1:-1, 1:-1], upsampled[..., 1:-1, 1:-1], atol=1e-5)
    zoomed.sum().backward()
    assert images.grad[..., 4:12, 4:12].abs().min() > 0 and images.grad[..., :3, :].eq(0).all()
    whole = zoom_to_boxes(images, torch.tensor([[-1.0, -1.0, 1.0, 1.0]]), context=1.0)
    assert torch.allclose(whole, images, atol=1e-5)
    with pytest.raises(InputError, match="context must be > 0"):
        zoom_to_boxes(images, mask_boxes(box), context=0.0)
