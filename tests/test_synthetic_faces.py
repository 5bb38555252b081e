"""Tests of compogan.data.synthetic.faces: face sampling, rendering, landmarks and poses."""

import subprocess
import sys

import numpy as np
import pytest

from compogan.data.synthetic.faces import (
    HAIR_STYLES,
    face_landmarks,
    render_face,
    sample_face,
    sample_face_pose,
)
from compogan.errors import InputError


def _pixel(point: np.ndarray, size: int) -> tuple[int, int]:
    """(row, column) of the pixel containing a canonical point."""
    return int((point[1] + 1) * size / 2), int((point[0] + 1) * size / 2)


def _luminance(rgb: np.ndarray) -> float:
    return float(np.asarray(rgb, dtype=np.float64) @ [0.299, 0.587, 0.114])


def _inside(point: np.ndarray, box: np.ndarray, tolerance: float = 1e-6) -> bool:
    x, y = point
    return bool(
        box[0] - tolerance <= x <= box[2] + tolerance
        and box[1] - tolerance <= y <= box[3] + tolerance
    )


def test_faces_are_deterministic_and_identified_by_seed() -> None:
    assert sample_face(7) == sample_face(7)
    assert sample_face(7) != sample_face(8)
    assert sample_face(7).identity == 7
    first, second = render_face(sample_face(7), 48), render_face(sample_face(7), 48)
    np.testing.assert_array_equal(first.image, second.image)
    np.testing.assert_array_equal(first.landmarks, second.landmarks)
    assert first.identity == 7
    assert not np.array_equal(first.image, render_face(sample_face(8), 48).image)


def test_face_specs_cover_every_hair_style_and_many_skin_tones() -> None:
    assert {sample_face(seed).hair_style for seed in range(80)} == set(HAIR_STYLES)
    tones = [np.mean(sample_face(seed).skin) for seed in range(80)]
    assert max(tones) - min(tones) > 100


@pytest.mark.parametrize("size", [16, 61, 100])
def test_render_face_gives_image_landmarks_and_boxes_at_any_size(size: int) -> None:
    face = render_face(sample_face(3), size)
    assert face.image.shape == (size, size, 3)
    assert face.image.dtype == np.uint8
    assert face.landmarks.shape == (5, 2)
    assert face.landmarks.dtype == np.float32
    assert face.part_boxes.shape == (4, 4)
    assert face.part_boxes.dtype == np.float32
    assert np.all(face.part_boxes[:, :2] < face.part_boxes[:, 2:])


@pytest.mark.parametrize("seed", range(8))
def test_landmarks_sit_on_the_rendered_features(seed: int) -> None:
    size = 256
    rng = np.random.default_rng(seed)
    pose = sample_face_pose(rng, 0.1)
    face = render_face(sample_face(seed), size, face_pose=pose, yaw=float(rng.uniform(-1, 1)))
    left_eye, right_eye, nose, mouth = face.part_boxes
    for eye, box in ((face.landmarks[0], left_eye), (face.landmarks[1], right_eye)):
        assert _luminance(face.image[_pixel(eye, size)]) < 40  # the pupil
        assert _inside(eye, box)
    assert _inside(face.landmarks[2], nose)
    assert _inside(face.landmarks[3], mouth, 0.01)
    assert _inside(face.landmarks[4], mouth, 0.01)
    assert left_eye[2] < right_eye[0]
    assert face.landmarks[0, 0] < face.landmarks[2, 0] < face.landmarks[1, 0]


def test_face_landmarks_are_the_render_landmarks_in_float64() -> None:
    spec = sample_face(4)
    pose = sample_face_pose(np.random.default_rng(3), 0.1)
    landmarks = face_landmarks(spec, yaw=0.4, face_pose=pose)
    assert landmarks.shape == (5, 2) and landmarks.dtype == np.float64
    rendered = render_face(spec, 32, yaw=0.4, face_pose=pose).landmarks
    np.testing.assert_array_equal(landmarks.astype(np.float32), rendered)
    with pytest.raises(InputError, match="yaw"):
        face_landmarks(spec, yaw=-2.0)


def test_face_pose_moves_the_face_and_its_landmarks() -> None:
    spec = sample_face(5)
    pose = sample_face_pose(np.random.default_rng(1), 0.1)
    plain, posed = render_face(spec, 64), render_face(spec, 64, face_pose=pose)
    expected = plain.landmarks @ pose[:2, :2].T + pose[:2, 2]
    np.testing.assert_allclose(posed.landmarks, expected, atol=1e-5)
    assert not np.array_equal(plain.image, posed.image)
    np.testing.assert_array_equal(sample_face_pose(np.random.default_rng(1), 0.0), np.eye(3))


def test_yaw_turns_the_features() -> None:
    spec = sample_face(2)
    front = render_face(spec, 64)
    np.testing.assert_array_equal(front.image, render_face(spec, 64, yaw=0.0).image)
    right, left = render_face(spec, 64, yaw=1.0), render_face(spec, 64, yaw=-1.0)
    assert right.landmarks[2, 0] > front.landmarks[2, 0] + 0.1 > left.landmarks[2, 0] + 0.2
    eye_gap = front.landmarks[1, 0] - front.landmarks[0, 0]
    assert right.landmarks[1, 0] - right.landmarks[0, 0] < 0.95 * eye_gap
    np.testing.assert_allclose(right.landmarks[:, 1], front.landmarks[:, 1])
    assert right.identity == front.identity == 2


def test_render_face_rejects_bad_arguments() -> None:
    spec = sample_face(0)
    with pytest.raises(InputError, match="size"):
        render_face(spec, 8)
    with pytest.raises(InputError, match="yaw"):
        render_face(spec, 32, yaw=1.5)
    with pytest.raises(InputError, match="face_pose"):
        render_face(spec, 32, face_pose=np.eye(2))
    with pytest.raises(InputError, match="seed"):
        sample_face(-1)


def test_faces_render_without_the_glasses_modules() -> None:
    script = (
        "import sys\n"
        "import numpy as np\n"
        "from compogan.data.synthetic.faces import render_face, sample_face, sample_face_pose\n"
        "pose = sample_face_pose(np.random.default_rng(0), 0.1)\n"
        "face = render_face(sample_face(3), 32, yaw=0.3, face_pose=pose)\n"
        "assert face.image.shape == (32, 32, 3) and face.landmarks.shape == (5, 2)\n"
        "loaded = [m for m in sys.modules if m.startswith('compogan.data.synthetic.glasses')]\n"
        "assert not loaded, loaded\n"
        "assert 'compogan.data.synthetic.scenes' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
