"""Tests of compogan.data.synthetic.glasses (glasses, placing and compositing them),
compogan.data.synthetic.glasses_compositing (the ST-GAN data set) and
compogan.metrics.placement.corner_error."""

import types

import numpy as np
import pytest
import torch
from scipy import ndimage
from torch.utils.data import DataLoader

from compogan.data.registry import build_dataset
from compogan.data.synthetic.faces import (
    CANONICAL_LEFT_EYE,
    CANONICAL_RIGHT_EYE,
    face_landmarks,
    render_face,
    sample_face,
    sample_face_pose,
)
from compogan.data.synthetic.glasses import (
    GLASSES_STYLES,
    MAX_LENS_ALPHA,
    MIN_LENS_ALPHA,
    composite_glasses,
    fit_glasses_warp,
    glasses_to_tensor,
    render_face_with_glasses,
    render_glasses,
    sample_glasses,
)
from compogan.data.synthetic.glasses_compositing import (
    GlassesCompositing,
    glasses_dataset,
    render_glasses_item,
)
from compogan.errors import ConfigError, InputError
from compogan.geometry import (
    composite_warped,
    invert_homography,
    matrix_to_sl3,
    transform_points,
    warp_image,
)
from compogan.metrics.placement import corner_error, foreground_corners

CANONICAL_EYES = torch.tensor([CANONICAL_LEFT_EYE, CANONICAL_RIGHT_EYE])


def _pixel(point: np.ndarray, size: int) -> tuple[int, int]:
    """(row, column) of the pixel containing a canonical point."""
    return int((point[1] + 1) * size / 2), int((point[0] + 1) * size / 2)


def _luminance(rgb: np.ndarray) -> float:
    return float(np.asarray(rgb, dtype=np.float64) @ [0.299, 0.587, 0.114])


def _translation(tx: float, ty: float) -> torch.Tensor:
    return torch.tensor([[[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]]])


def _data_config(**fields: object) -> types.SimpleNamespace:
    """A minimal data config: the fields glasses_dataset reads, and split_length."""
    config = types.SimpleNamespace(
        dataset="glasses",
        size=32,
        length=5,
        test_length=3,
        fg_perturbation=0.2,
        face_perturbation=0.05,
    )
    config.__dict__.update(fields)
    config.split_length = lambda split: config.length if split == "train" else config.test_length
    return config


def _assert_items_equal(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> None:
    assert set(first) == set(second)
    for key, value in first.items():
        torch.testing.assert_close(value, second[key], atol=0, rtol=0)


# --------------------------------------------------------------------------- glasses


def test_glasses_specs_cover_every_style() -> None:
    assert sample_glasses(5) == sample_glasses(5)
    assert {sample_glasses(seed).style for seed in range(60)} == set(GLASSES_STYLES)


@pytest.mark.parametrize("size", [16, 61, 100])
def test_render_face_with_glasses_gives_image_landmarks_and_boxes_at_any_size(size: int) -> None:
    face = render_face_with_glasses(sample_face(3), size, sample_glasses(3))
    assert face.image.shape == (size, size, 3)
    assert face.image.dtype == np.uint8
    assert face.landmarks.shape == (5, 2)
    assert face.landmarks.dtype == np.float32
    assert face.part_boxes.shape == (4, 4)
    assert face.part_boxes.dtype == np.float32
    assert np.all(face.part_boxes[:, :2] < face.part_boxes[:, 2:])


def test_wearing_glasses_composites_them_onto_the_plain_face() -> None:
    spec, glasses = sample_face(6), sample_glasses(6)
    pose = sample_face_pose(np.random.default_rng(2), 0.1)
    plain = render_face(spec, 48, yaw=-0.3, face_pose=pose)
    wearing = render_face_with_glasses(spec, 48, glasses, yaw=-0.3, face_pose=pose)
    np.testing.assert_array_equal(wearing.landmarks, plain.landmarks)
    np.testing.assert_array_equal(wearing.part_boxes, plain.part_boxes)
    assert wearing.identity == plain.identity
    assert not np.array_equal(wearing.image, plain.image)
    warp = fit_glasses_warp(face_landmarks(spec, yaw=-0.3, face_pose=pose)).double().numpy()
    np.testing.assert_array_equal(wearing.image, composite_glasses(plain.image, glasses, warp))
    placed = np.diag([1.2, 1.2, 1.0])
    moved = render_face_with_glasses(spec, 48, glasses, face_pose=pose, glasses_warp=placed)
    plain_posed = render_face(spec, 48, face_pose=pose).image
    np.testing.assert_array_equal(moved.image, composite_glasses(plain_posed, glasses, placed))


def test_render_face_with_glasses_rejects_bad_arguments() -> None:
    spec, glasses = sample_face(0), sample_glasses(0)
    with pytest.raises(InputError, match="size"):
        render_face_with_glasses(spec, 8, glasses)
    with pytest.raises(InputError, match="yaw"):
        render_face_with_glasses(spec, 32, glasses, yaw=1.5)
    with pytest.raises(InputError, match="glasses_warp"):
        render_face_with_glasses(spec, 32, glasses, glasses_warp=np.eye(2))
    with pytest.raises(InputError, match="seed"):
        sample_glasses(-1)


@pytest.mark.parametrize("seed", range(12))
def test_glasses_are_rgba_in_the_canonical_pose(seed: int) -> None:
    size = 128
    spec = sample_glasses(seed)
    rgba = render_glasses(spec, size)
    assert rgba.shape == (size, size, 4)
    assert rgba.dtype == np.uint8
    np.testing.assert_array_equal(rgba, render_glasses(spec, size))
    alpha = rgba[..., 3].astype(np.float64) / 255
    assert np.all(rgba[alpha == 0][:, :3] == 0)
    assert alpha[0, 0] == alpha[-1, -1] == 0
    assert np.sum(alpha == 1.0) >= 8  # an opaque frame (thin for rimless glasses)
    lens_range = (alpha > MIN_LENS_ALPHA - 0.01) & (alpha < MAX_LENS_ALPHA + 0.11)
    interior = ndimage.binary_erosion(lens_range, np.ones((3, 3), dtype=bool))
    for eye in (CANONICAL_LEFT_EYE, CANONICAL_RIGHT_EYE):
        row, col = _pixel(np.asarray(eye), size)
        assert MIN_LENS_ALPHA - 0.01 <= alpha[row, col] <= MAX_LENS_ALPHA + 0.01
        labels, _ = ndimage.label(interior)
        rows, cols = np.nonzero(labels == labels[row, col])
        centre = ((cols.min() + cols.max() + 1) / 2, (rows.min() + rows.max() + 1) / 2)
        expected = ((eye[0] + 1) * size / 2, (eye[1] + 1) * size / 2)
        np.testing.assert_allclose(centre, expected, atol=1.5)


def test_glasses_to_tensor_ranges() -> None:
    fg = glasses_to_tensor(render_glasses(sample_glasses(1), 32))
    assert fg.shape == (4, 32, 32)
    assert fg.dtype == torch.float32
    assert fg[:3].min() >= -1 and fg[:3].max() <= 1
    assert fg[3].min() == 0 and fg[3].max() == 1
    assert torch.all(fg[:3][:, fg[3] == 0] == 0)


def test_fit_glasses_warp_maps_canonical_eyes_onto_the_eyes() -> None:
    eyes = np.array([[-0.2, 0.05], [0.3, -0.1], [9.0, 9.0]])
    warp = fit_glasses_warp(eyes)
    assert warp.shape == (3, 3) and warp.dtype == torch.float32
    mapped = transform_points(warp[None], CANONICAL_EYES[None])[0]
    torch.testing.assert_close(mapped, torch.from_numpy(eyes[:2]).float(), atol=1e-6, rtol=0)


# --------------------------------------------------------------------------- data set


def test_items_have_the_contract_fields() -> None:
    size = 48
    item = GlassesCompositing(size=size, length=4)[1]
    assert set(item) == {"bg", "fg", "target", "init", "real", "landmarks"}
    shapes = {"bg": (3, size, size), "fg": (4, size, size), "target": (3, 3), "init": (3, 3)}
    shapes |= {"real": (3, size, size), "landmarks": (5, 2)}
    for key, shape in shapes.items():
        assert item[key].shape == shape, key
        assert item[key].dtype == torch.float32, key
    for key in ("bg", "real"):
        assert item[key].min() >= -1 and item[key].max() <= 1
    assert item["fg"][:3].min() >= -1 and item["fg"][:3].max() <= 1
    assert item["fg"][3].min() >= 0 and item["fg"][3].max() == 1
    batch = next(iter(DataLoader(GlassesCompositing(size=size, length=4), batch_size=2)))
    assert batch["init"].shape == (2, 3, 3)


def test_items_are_deterministic_and_epoch_dependent_only_for_train() -> None:
    train = GlassesCompositing(size=32, length=5, seed=3)
    again = GlassesCompositing(size=32, length=5, seed=3)
    first = train[2]
    for key, value in again[2].items():
        torch.testing.assert_close(value, first[key], atol=0, rtol=0)
    train.set_epoch(1)
    assert not torch.equal(train[2]["bg"], first["bg"])
    train.set_epoch(0)
    torch.testing.assert_close(train[2]["bg"], first["bg"], atol=0, rtol=0)
    test = GlassesCompositing(size=32, length=5, split="test", seed=3)
    before = test[2]
    test.set_epoch(4)
    torch.testing.assert_close(test[2]["bg"], before["bg"], atol=0, rtol=0)
    assert not torch.equal(test[2]["bg"], first["bg"])
    assert not torch.equal(GlassesCompositing(size=32, length=5, seed=4)[2]["bg"], first["bg"])


def test_train_and_test_never_share_faces_or_glasses() -> None:
    def seeds(split: str) -> tuple[set[int], set[int]]:
        data = GlassesCompositing(size=32, length=40, split=split)  # type: ignore[arg-type]
        faces, glasses = set(), set()
        for epoch in range(3):
            data.set_epoch(epoch)
            for index in range(len(data)):
                draw = data.draw(index)
                assert draw.real_face_seed != draw.face_seed
                faces |= {draw.face_seed, draw.real_face_seed}
                glasses |= {draw.glasses_seed, draw.real_glasses_seed}
        return faces, glasses

    train_faces, train_glasses = seeds("train")
    test_faces, test_glasses = seeds("test")
    assert not train_faces & test_faces
    assert not train_glasses & test_glasses


def test_target_puts_the_glasses_on_the_bg_eyes() -> None:
    size = 96
    data = GlassesCompositing(size=size, length=3, seed=1)
    for index in range(3):
        item = data[index]
        eyes = transform_points(item["target"][None], CANONICAL_EYES[None])[0]
        torch.testing.assert_close(eyes, item["landmarks"][:2], atol=1e-5, rtol=0)
        warped_alpha = warp_image(item["fg"][None, 3:], item["target"][None], (size, size))[0, 0]
        for eye in item["landmarks"][:2].numpy():
            assert MIN_LENS_ALPHA - 0.05 < float(warped_alpha[_pixel(eye, size)]) < 0.75
        bg = (item["bg"].permute(1, 2, 0).numpy() + 1) * 127.5
        pupil = bg[_pixel(item["landmarks"][0].numpy(), size)]
        cheek = bg[_pixel(item["landmarks"][3].numpy() + np.array([0.0, -0.15]), size)]
        assert _luminance(pupil) < _luminance(cheek)


def test_composite_at_target_matches_a_face_rendered_with_its_glasses() -> None:
    size = 64
    data = GlassesCompositing(size=size, length=2, seed=2)
    draw = data.draw(1)
    item = render_glasses_item(draw, size)
    composite, _ = composite_warped(item["fg"][None], item["bg"][None], item["target"][None])
    wearing = render_face_with_glasses(
        sample_face(draw.face_seed),
        size,
        sample_glasses(draw.glasses_seed),
        face_pose=draw.face_pose,
    )
    direct = torch.from_numpy(wearing.image).permute(2, 0, 1).float() / 127.5 - 1
    difference = float((composite[0] - direct).abs().mean())
    glasses_effect = float((composite[0] - item["bg"]).abs().mean())
    assert difference < 0.005
    assert difference < 0.1 * glasses_effect


def test_init_is_target_perturbed_by_fg_perturbation() -> None:
    data = GlassesCompositing(size=32, length=60, fg_perturbation=0.1)
    params = np.stack([data.draw(index).init_params for index in range(60)])
    assert params.shape == (60, 8)
    assert 0.085 < params.std() < 0.115
    item = render_glasses_item(data.draw(0), 32)
    recovered = matrix_to_sl3(invert_homography(item["target"][None]) @ item["init"][None])
    np.testing.assert_allclose(recovered[0].numpy(), data.draw(0).init_params, atol=1e-4)
    exact = GlassesCompositing(size=32, length=2, fg_perturbation=0.0)[0]
    torch.testing.assert_close(exact["init"], exact["target"])


def test_zero_face_perturbation_leaves_faces_unposed() -> None:
    data = GlassesCompositing(size=32, length=2, face_perturbation=0.0)
    draw = data.draw(0)
    np.testing.assert_array_equal(draw.face_pose, np.eye(3))
    plain = render_face(sample_face(draw.face_seed), 32)
    np.testing.assert_allclose(data[0]["landmarks"].numpy(), plain.landmarks)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "val"}, "split"),
        ({"size": 8}, "size"),
        ({"length": 0}, "length"),
        ({"seed": -1}, "seed"),
        ({"fg_perturbation": -0.1}, "perturbation"),
    ],
)
def test_data_set_rejects_bad_config(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        GlassesCompositing(**kwargs)  # type: ignore[arg-type]


def test_data_set_index_and_epoch_errors() -> None:
    data = GlassesCompositing(size=32, length=2)
    with pytest.raises(IndexError):
        data[2]
    with pytest.raises(ConfigError, match="epoch"):
        data.set_epoch(-1)


@pytest.mark.parametrize("split", ["train", "test"])
def test_glasses_dataset_builds_the_configured_data_set(split: str) -> None:
    config = _data_config()
    data = glasses_dataset(config, split, 7)
    direct = GlassesCompositing(
        size=32,
        length=config.split_length(split),
        split=split,  # type: ignore[arg-type]
        seed=7,
        fg_perturbation=0.2,
        face_perturbation=0.05,
    )
    assert isinstance(data, GlassesCompositing)
    assert len(data) == len(direct) == (5 if split == "train" else 3)
    assert (data.split, data.seed, data.size) == (split, 7, 32)
    assert (data.fg_perturbation, data.face_perturbation) == (0.2, 0.05)
    for index in range(len(data)):
        _assert_items_equal(data[index], direct[index])
    registered = build_dataset("compositing", config, split, seed=7)
    assert isinstance(registered, GlassesCompositing)
    _assert_items_equal(registered[1], direct[1])


def test_glasses_dataset_rejects_a_bad_config() -> None:
    with pytest.raises(ConfigError, match="size"):
        glasses_dataset(_data_config(size=8), "train", 0)


# --------------------------------------------------------------------------- corner_error


def test_corner_error_is_zero_for_identical_warps() -> None:
    warp = torch.tensor([[[1.1, 0.1, 0.05], [-0.1, 0.9, -0.1], [0.02, 0.01, 1.0]]])
    assert corner_error(warp, warp.clone(), None, 144).item() == 0.0


def test_corner_error_of_a_translation_is_the_pixel_shift() -> None:
    target = torch.eye(3)[None].repeat(2, 1, 1)
    pred = torch.cat([_translation(0.1, 0.0), _translation(0.03, -0.04)])
    alpha = torch.zeros(2, 1, 20, 20)
    alpha[:, :, 5:9, 2:15] = 0.5
    for fg_alpha in (None, alpha):
        errors = corner_error(pred, target, fg_alpha, 144)
        torch.testing.assert_close(errors, torch.tensor([7.2, 3.6]), atol=1e-5, rtol=0)
        assert errors.dtype == torch.float32


def test_corner_error_uses_the_foreground_box() -> None:
    alpha = torch.zeros(2, 1, 10, 10)
    alpha[0, 0, 2:4, 5:10] = 1.0  # columns 5..9, rows 2..3; item 1 empty → full canvas
    corners = foreground_corners(alpha, 2)
    expected = torch.tensor([[0.0, -0.6], [1.0, -0.6], [1.0, -0.2], [0.0, -0.2]])
    torch.testing.assert_close(corners[0].float(), expected)
    torch.testing.assert_close(corners[1].abs().float(), torch.ones(4, 2))
    scale = torch.diag(torch.tensor([2.0, 2.0, 1.0]))[None].repeat(2, 1, 1)
    errors = corner_error(scale, torch.eye(3)[None].repeat(2, 1, 1), alpha, 10)
    box_error = expected.norm(dim=1).mean() * 5
    torch.testing.assert_close(errors, torch.stack([box_error, torch.tensor(2**0.5 * 5)]))


def test_corner_error_rejects_bad_shapes() -> None:
    with pytest.raises(InputError, match="warps"):
        corner_error(torch.eye(3)[None], torch.eye(3)[None].repeat(2, 1, 1), None, 64)
    with pytest.raises(InputError, match="fg_alpha"):
        corner_error(torch.eye(3)[None], torch.eye(3)[None], torch.ones(1, 3, 8, 8), 64)
    with pytest.raises(InputError, match="size"):
        corner_error(torch.eye(3)[None], torch.eye(3)[None], None, 0)
