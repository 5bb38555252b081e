"""PoseWarp: pose geometry, networks, training through the CLI, the official .h5 import,
the repose pipeline and command (image and video) and bad inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import compogan
from compogan.config import load_config
from compogan.data.synthetic.figures import (
    SyntheticFigures,
    render_figure,
    sample_figure,
    sample_figure_background,
    sequence_pose,
    sequence_poses,
)
from compogan.errors import InputError
from compogan.geometry.pose import (
    N_JOINTS,
    flip_joints,
    heatmaps,
    limb_log_prior,
    limb_similarities,
    warp_pixel_affine,
)
from compogan.io.poses import Pose, read_pose, write_pose, write_pose_sequence
from compogan.models.posewarp import PoseWarp, PoseWarpConfig, PoseWarpDataConfig
from compogan.nn.posewarp import PoseWarpGenerator, reference_upsample
from compogan.pipelines import PIPELINES, Reposer

ROOT = Path(__file__).resolve().parents[1]
SIZE = 64
WIDTHS = [
    "model.encoder_widths=[4,4,4,4,4,4,4,4,4,4,4]",
    "model.segmentation_decoder_widths=[4,4,4,4,4]",
    "model.synthesis_decoder_widths=[4,4,4,4,4]",
]
TINY_ARGS = [
    "model.d_widths=[4,4,4]",
    "model.d_dense=8",
    "model.vgg_random_init=true",
    "model.stats_images=4",
    "model.lr=0.001",
    f"data.size={SIZE}",
    "data.length=8",
    "data.test_length=2",
    "train.batch_size=2",
    "train.log_every=1",
    "train.image_every=0",
    "train.progress=false",
]


def _train(
    run: Path, *extra: str, config: str = "figures_cpu.yaml", model: str = "posewarp"
) -> None:
    from compogan.cli import main

    args = ["compogan", "train", model, "-c", str(ROOT / "configs" / "posewarp" / config)]
    with pytest.MonkeyPatch.context() as patch:
        widths = WIDTHS if model == "posewarp" else []
        patch.setattr(
            "sys.argv",
            [*args, "--run-dir", str(run), "--device", "cpu", *widths, *TINY_ARGS, *extra],
        )
        with pytest.raises(SystemExit) as stopped:
            main()
    assert stopped.value.code in (0, None)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny stage-1 PoseWarp trained for 4 steps with `compogan train`."""
    run = tmp_path_factory.mktemp("posewarp") / "run"
    _train(run, "train.steps=4", "train.checkpoint_every=4")
    return run


def _pose(joints: np.ndarray, size: int) -> Pose:
    return Pose(np.concatenate([joints, np.ones((N_JOINTS, 1))], axis=1), (size, size))


@pytest.fixture(scope="module")
def person(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A figure image (odd size 70x70), its pose, a target pose and a 5-pose sequence."""
    folder = tmp_path_factory.mktemp("person")
    rng = np.random.default_rng(1)
    size = 70
    joints = sequence_pose("wave", 0.1, size)
    image = render_figure(sample_figure(rng), joints, sample_figure_background(rng, size))
    Image.fromarray(image).save(folder / "person.png")
    write_pose(folder / "pose.json", _pose(joints, size))
    write_pose(folder / "target.json", _pose(sequence_pose("wave", 0.4, size), size))
    write_pose_sequence(
        folder / "walk.json", [_pose(j, size) for j in sequence_poses("walk", 5, size)]
    )
    return {
        name: folder / f"{name}.{'png' if name == 'person' else 'json'}"
        for name in ("person", "pose", "target", "walk")
    }


# ---- geometry ------------------------------------------------------------------------------------
def test_heatmaps_peak_at_the_joints_at_half_resolution() -> None:
    joints = torch.tensor([[[40.0, 20.0]] * N_JOINTS])
    joints[0, 3] = torch.tensor([-5.0, 30.0])  # outside: an empty map
    visible = torch.ones(1, N_JOINTS)
    visible[0, 4] = 0
    maps = heatmaps(joints, (64, 64), visible)
    assert maps.shape == (1, N_JOINTS, 32, 32)
    assert maps[0, 0, 10, 20] == pytest.approx(1.0)
    assert maps[0, 0].argmax() == 10 * 32 + 20
    assert maps[0, 3].abs().sum() == 0 and maps[0, 4].abs().sum() == 0


def test_limb_similarities_map_target_joints_onto_source_joints() -> None:
    source = torch.rand(2, N_JOINTS, 2) * 40 + 10
    angle, scale, shift = 0.3, 1.2, torch.tensor([3.0, -2.0])
    rotation = scale * torch.tensor(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
    )
    target = source @ rotation.T + shift
    matrices = limb_similarities(source, target)
    assert matrices.shape == (2, 10, 2, 3)
    inverse = torch.linalg.inv(rotation)
    expected = torch.cat([inverse, (-inverse @ shift)[:, None]], dim=1)
    assert torch.allclose(matrices, expected.expand_as(matrices), atol=1e-4)
    # two-joint limbs are exact even when each limb moves on its own
    target[:, 3] += 5.0
    moved = limb_similarities(source, target)
    forearm = moved[:, 2]  # joints 3, 4
    mapped = target[:, [3, 4]] @ forearm[:, :, :2].transpose(1, 2) + forearm[:, None, :, 2]
    assert torch.allclose(mapped, source[:, [3, 4]], atol=1e-3)


def test_a_collapsed_limb_gets_a_translation() -> None:
    source = torch.rand(1, N_JOINTS, 2) * 40 + 10
    target = source.clone()
    target[0, 1] = target[0, 0]
    head = limb_similarities(source, target)[0, 0]
    assert torch.allclose(head[:, :2], torch.eye(2), atol=1e-6)


def test_pixel_warps_follow_the_reference_sampling() -> None:
    image = torch.rand(1, 3, 8, 10)
    identity = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]])
    assert torch.allclose(warp_pixel_affine(image, identity), image, atol=1e-6)
    shift = torch.tensor([[[1.0, 0, 2.0], [0, 1.0, 0]]])  # output x samples input x + 2
    warped = warp_pixel_affine(image, shift)
    assert torch.allclose(warped[..., :8], image[..., 2:], atol=1e-6)
    # beyond the border: the reflected pixel (input 8), then clamped there
    assert torch.allclose(warped[..., 8:], image[..., 8:9].expand(-1, -1, -1, 2), atol=1e-6)


def test_the_limb_prior_is_a_log_distribution_with_a_background() -> None:
    joints = torch.tensor(sequence_pose("walk", 0.2, 64), dtype=torch.float32)[None]
    prior = limb_log_prior(joints, (64, 64), 5.5, 6.5)
    assert prior.shape == (1, 11, 64, 64) and bool((prior <= 1e-6).all())
    neck = joints[0, 1].round().long()
    assert prior[0, 0, 2, 2] > prior[0, 1, 2, 2]  # a corner is background
    assert prior[0, 1, neck[1], neck[0]] > prior[0, 0, neck[1], neck[0]]


def test_flipping_swaps_left_and_right() -> None:
    joints = torch.tensor(sequence_pose("wave", 0.3, 64), dtype=torch.float32)[None]
    flipped = flip_joints(joints, 64)
    assert torch.allclose(flipped[0, 2, 0], 63 - joints[0, 5, 0])
    assert torch.allclose(flip_joints(flipped, 64), joints)


def _interpolate_reference(image: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The reference's bilinear sampler on (H, W, C): reflect pad 1, clamped corners."""
    padded = torch.from_numpy(np.pad(image.numpy(), ((1, 1), (1, 1), (0, 0)), mode="reflect"))
    height, width = padded.shape[:2]
    x, y = x + 1, y + 1
    x0, y0 = x.floor().long(), y.floor().long()
    x1, y1 = x0 + 1, y0 + 1
    x0, x1 = x0.clamp(0, width - 1), x1.clamp(0, width - 1)
    y0, y1 = y0.clamp(0, height - 1), y1.clamp(0, height - 1)
    dx, dy = (x1.float() - x)[..., None], (y1.float() - y)[..., None]
    return (
        dx * dy * padded[y0, x0]
        + dx * (1 - dy) * padded[y1, x0]
        + (1 - dx) * dy * padded[y0, x1]
        + (1 - dx) * (1 - dy) * padded[y1, x1]
    )


def test_reference_upsampling_samples_at_half_pixels() -> None:
    image = torch.rand(5, 6, 2)
    ys, xs = torch.meshgrid(torch.arange(10.0), torch.arange(12.0), indexing="ij")
    expected = _interpolate_reference(image, xs / 2, ys / 2)
    ours = reference_upsample(image.permute(2, 0, 1)[None])[0].permute(1, 2, 0)
    assert torch.allclose(ours, expected, atol=1e-6)


# ---- networks and data ---------------------------------------------------------------------------
def test_the_generator_at_the_papers_widths() -> None:
    generator = PoseWarpGenerator()
    assert generator.segmenter.encoder[0].conv.kernel_size == (7, 7)
    assert generator.segmenter.decoder[-1].conv.out_channels == 32
    assert generator.foreground.encoder[0].conv.in_channels == 30
    assert generator.background.encoder[0].conv.in_channels == 4
    assert generator.segmenter.encoder[2].conv.in_channels == 64 + N_JOINTS
    joints = torch.tensor(sequence_pose("jump", 0.5, 64), dtype=torch.float32)
    pose = torch.cat([joints, torch.ones(N_JOINTS, 1)], dim=1)[None]
    with torch.no_grad():
        out = generator(torch.rand(1, 3, 64, 64) * 2 - 1, pose, pose)
    assert out["image"].shape == (1, 3, 64, 64) and out["layers"].shape == (1, 11, 64, 64)
    assert torch.allclose(out["layers"].sum(dim=1), torch.ones(1, 64, 64), atol=1e-5)


def test_synthetic_figures_are_deterministic_pairs() -> None:
    data = SyntheticFigures(64, 4, seed=3, split="test")
    first, again = data[1], SyntheticFigures(64, 4, seed=3, split="test")[1]
    assert set(first) == {"source", "target", "source_pose", "target_pose"}
    assert torch.equal(first["source"], again["source"])
    assert first["source"].shape == (3, 64, 64) and first["source_pose"].shape == (N_JOINTS, 3)
    assert not torch.equal(first["source_pose"], first["target_pose"])
    corner = (first["source"][:, :4, :4] - first["target"][:, :4, :4]).abs().max()
    assert corner < 1e-6  # the same static background


def test_paper_config_is_the_reference_setting() -> None:
    config = load_config(PoseWarp, ROOT / "configs" / "posewarp" / "paper.yaml", [])
    model, data, train = config.model, config.data, config.train
    assert model.encoder_widths == [64, 64] + [128] * 9
    assert model.segmentation_decoder_widths == [128] * 4 + [32]
    assert (model.lr, model.beta1, model.stage) == (1e-4, 0.9, 1)
    assert (data.size, train.batch_size, train.steps) == (256, 4, 200000)
    gan = load_config(PoseWarp, ROOT / "configs" / "posewarp" / "paper_gan.yaml", [])
    assert (gan.model.stage, gan.model.lambda_gan, gan.train.steps) == (2, 0.1, 10000)


# ---- training ------------------------------------------------------------------------------------
def test_stage_one_trains_and_round_trips(run_dir: Path) -> None:
    records = [json.loads(line) for line in (run_dir / "losses.jsonl").read_text().splitlines()]
    losses = [record["G_VGG"] for record in records]
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses) and len(set(losses)) > 1
    model = compogan.load(run_dir)
    assert isinstance(model, PoseWarp) and model.stats.ready
    again = compogan.load(run_dir)
    batch = SyntheticFigures(SIZE, 1, split="test")[0]
    args = (batch["source"][None], batch["source_pose"][None], batch["target_pose"][None])
    assert torch.equal(model.repose(*args), again.repose(*args))


def test_stage_two_starts_from_stage_one_and_warms_d_up(run_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "gan"
    _train(
        run,
        "model.stage=2",
        "model.d_warmup_steps=2",
        "train.steps=3",
        "train.checkpoint_every=3",
        f"train.init_from.G={run_dir}",
    )
    records = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert "G_GAN" not in records[0] and "D_real" in records[0]
    assert "G_GAN" in records[2] and "G_VGG" in records[2]
    assert compogan.load(run).trained_networks() == ("G", "D")


def test_the_unet_baseline_trains_by_the_same_recipe(tmp_path: Path) -> None:
    run = tmp_path / "unet"
    _train(
        run,
        "model.encoder_widths=[4,4,4,4,4,4,4,4,4,4,4]",
        "model.decoder_widths=[4,4,4,4,4]",
        "train.steps=2",
        "train.checkpoint_every=2",
        config="unet_figures_cpu.yaml",
        model="posewarp_unet",
    )
    model = compogan.load(run)
    assert model.name == "posewarp_unet" and "repose" in model.tasks


# ---- the official .h5 ----------------------------------------------------------------------------
def _keras_layer_names() -> list[tuple[str, tuple[int, ...]]]:
    """The reference generator's conv layers (Keras auto names, kernel shapes), in order."""

    def unet(inputs: int, decoder: list[int]) -> list[tuple[int, int, int]]:
        enc = [64, 64] + [128] * 9
        layers, channels = [], inputs
        for index, width in enumerate(enc):
            layers.append((7 if index == 0 else 3, channels, width))
            channels = width + (N_JOINTS if index == 1 else 0)
        for skip, width in zip((8, 6, 4, 2, 0), decoder, strict=True):
            layers.append((3, channels + enc[skip], width))
            channels = width
        return layers

    convs = [
        *unet(3, [128] * 4 + [32]),
        (3, 32, 11),
        *unet(4, [128] * 4 + [64]),
        (3, 64, 3),
        *unet(30, [128] * 4 + [64]),
        (3, 64, 3),
        (3, 64, 1),
    ]
    return [(f"conv2d_{i + 7}", (k, k, cin, cout)) for i, (k, cin, cout) in enumerate(convs)]


def test_parameter_counts_match_the_reference_layers() -> None:
    expected = sum(k * k * cin * cout + cout for _, (k, _, cin, cout) in _keras_layer_names())
    assert sum(p.numel() for p in PoseWarpGenerator().parameters()) == expected == 7_863_314
    from compogan.nn.posewarp import PoseDiscriminator

    convs = [(5, 3, 64), (5, 64 + 2 * N_JOINTS, 128), (3, 128, 256)] + [(3, 256, 256)] * 3
    dense = [(8 * 8 * 256, 256), (256, 256), (256, 1)]
    d_expected = sum(k * k * i * o + o for k, i, o in convs) + sum(i * o + o for i, o in dense)
    assert sum(p.numel() for p in PoseDiscriminator(256).parameters()) == d_expected


def _write_keras_h5(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    import h5py

    rng = np.random.default_rng(seed)
    weights: dict[str, np.ndarray] = {}
    layers = _keras_layer_names()
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = b"2.1.6"
        group = handle.create_group("model_weights")
        names = ["input_1", "input_2"]
        for name, _ in reversed(layers):  # Keras' layer order is not the creation order
            names += [name, f"leaky_re_lu_{name.split('_')[1]}"]
        group.attrs["layer_names"] = np.array([n.encode() for n in names])
        for name in names:
            layer = group.create_group(name)
            shape = dict(layers).get(name)
            if shape is None:
                layer.attrs["weight_names"] = np.array([], dtype="S1")
                continue
            kernel = rng.normal(0, math.sqrt(2 / (shape[0] * shape[1] * shape[2])), shape)
            bias = rng.normal(0, 0.05, shape[3])
            layer.attrs["weight_names"] = np.array(
                [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            )
            layer.create_dataset(f"{name}/kernel:0", data=kernel.astype(np.float32))
            layer.create_dataset(f"{name}/bias:0", data=bias.astype(np.float32))
            weights[name] = (kernel.astype(np.float32), bias.astype(np.float32))
    return weights


def _same_conv(
    x: torch.Tensor, kernel: np.ndarray, bias: np.ndarray, stride: int = 1
) -> torch.Tensor:
    """TF's 'same' conv on NHWC ``x`` with a (kh, kw, in, out) kernel."""
    k = kernel.shape[0]
    size = x.shape[1]
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    nchw = F.pad(x.permute(0, 3, 1, 2), (total // 2, total - total // 2) * 2)
    weight = torch.from_numpy(kernel).permute(3, 2, 0, 1)
    return F.conv2d(nchw, weight, torch.from_numpy(bias), stride).permute(0, 2, 3, 1)


def _reference_generator(
    weights: dict, src: torch.Tensor, pose_src, pose_tgt, prior, trans
) -> torch.Tensor:
    """The reference network (NHWC, as its Keras code computes it) for one image."""
    convs = iter(sorted(weights, key=lambda n: int(n.split("_")[1])))

    def conv(x, stride=1, act="lrelu"):
        y = _same_conv(x, *weights[next(convs)], stride)
        return {
            "lrelu": F.leaky_relu(y, 0.2),
            "linear": y,
            "tanh": torch.tanh(y),
            "sigmoid": torch.sigmoid(y),
        }[act]

    def up(x):
        h, w = x.shape[1:3]
        ys, xs = torch.meshgrid(torch.arange(2.0 * h), torch.arange(2.0 * w), indexing="ij")
        return _interpolate_reference(x[0], xs / 2, ys / 2)[None]

    def unet(x, pose):
        x0 = conv(x)
        x = torch.cat([conv(x0, 2), pose], dim=3)
        feats = [x0]
        x = conv(x)
        feats.append(x)
        for _ in range(4):
            x = conv(conv(x, 2))
            feats.append(x)
        for skip in (feats[4], feats[3], feats[2], feats[1], feats[0]):
            x = conv(torch.cat([up(x), skip], dim=3))
        return x

    mask = torch.softmax(conv(unet(src, pose_src), act="linear") + prior, dim=3)
    h, w = src.shape[1:3]
    ys, xs = torch.meshgrid(torch.arange(float(h)), torch.arange(float(w)), indexing="ij")
    limbs = []
    for i in range(1, 11):
        theta = trans[:, :, i]
        sx = theta[0, 0] * xs + theta[0, 1] * ys + theta[0, 2]
        sy = theta[1, 0] * xs + theta[1, 1] * ys + theta[1, 2]
        limbs.append(_interpolate_reference(mask[0, :, :, i : i + 1] * src[0], sx, sy)[None])
    bg_in = torch.cat([mask[..., :1] * src, mask[..., :1]], dim=3)
    bg = conv(unet(bg_in, pose_src), act="tanh")
    x = unet(torch.cat(limbs, dim=3), pose_tgt)
    fg = conv(x, act="tanh")
    m = conv(x, act="sigmoid")
    return m * fg + (1 - m) * bg


def test_official_h5_import_matches_the_reference_network(tmp_path: Path) -> None:
    path = tmp_path / "vgg+gan_5000.h5"
    weights = _write_keras_h5(path)
    model = compogan.load(path, task="repose")
    assert isinstance(model, PoseWarp) and model.config.reference_ops and model.config.stage == 2
    size = 64
    joints = torch.tensor(sequence_pose("walk", 0.3, size), dtype=torch.float32)[None]
    target = torch.tensor(sequence_pose("walk", 0.6, size), dtype=torch.float32)[None]
    ones = torch.ones(1, N_JOINTS, 1)
    image = torch.rand(1, 3, size, size) * 2 - 1
    with torch.no_grad():
        ours = model.G(image, torch.cat([joints, ones], 2), torch.cat([target, ones], 2))["image"]
        maps = [heatmaps(j, (size, size)).permute(0, 2, 3, 1) for j in (joints, target)]
        prior = limb_log_prior(joints, (size, size)).permute(0, 2, 3, 1)
        trans = torch.cat([torch.eye(2, 3)[None], limb_similarities(joints, target)[0]]).permute(
            1, 2, 0
        )
        bgr = image.flip(1).permute(0, 2, 3, 1)
        reference = _reference_generator(weights, bgr, maps[0], maps[1], prior, trans)
    assert torch.allclose(ours, reference.flip(3).permute(0, 3, 1, 2), atol=2e-4)


def test_convert_writes_a_compogan_checkpoint(tmp_path: Path, run_cli) -> None:
    source = tmp_path / "vgg_100000.h5"
    _write_keras_h5(source, seed=1)
    result = run_cli("convert", "posewarp", source, tmp_path / "converted")
    assert result.code == 0, result.stderr
    model = compogan.load(tmp_path / "converted")
    assert model.config.stage == 1 and model.loaded_networks == ("G",)


def test_cli_reposes_with_the_official_file(tmp_path: Path, run_cli, person) -> None:
    source = tmp_path / "vgg+gan_5000.h5"
    _write_keras_h5(source, seed=2)
    out = tmp_path / "official.png"
    result = run_cli(
        "repose",
        "-w",
        source,
        "--image",
        person["person"],
        "--pose",
        person["pose"],
        "--target-pose",
        person["target"],
        "-o",
        out,
        "--device",
        "cpu",
    )
    assert result.code == 0, result.stderr
    assert Image.open(out).size == (70, 70)


def test_a_foreign_h5_is_refused_in_one_line(tmp_path: Path, run_cli, person) -> None:
    import h5py

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = np.array([b"dense_1"])
        handle.create_group("dense_1").attrs["weight_names"] = np.array([b"dense_1/kernel:0"])
        handle["dense_1"].create_dataset("dense_1/kernel:0", data=np.zeros((2, 2)))
    out = tmp_path / "out.png"
    result = run_cli(
        "repose",
        "-w",
        path,
        "--image",
        person["person"],
        "--pose",
        person["pose"],
        "--target-pose",
        person["target"],
        "-o",
        out,
    )
    assert result.code == 1 and "not a Conv2D" in result.stderr and not out.exists()


# ---- pipeline and CLI ----------------------------------------------------------------------------
def test_the_reposer_is_the_repose_pipeline(run_dir: Path, person) -> None:
    assert PIPELINES["repose"] is Reposer
    reposer = Reposer.from_pretrained(run_dir, device="cpu")
    result = reposer(person["person"], person["pose"], person["target"])
    assert result.image.size == (70, 70)
    pose = read_pose(person["pose"])
    frames = reposer.sequence(Image.open(person["person"]), pose, [pose, pose.joints[:, :2]])
    assert len(frames) == 2 and frames[0].size == (70, 70)


def test_cli_renders_one_pose_and_a_video(run_dir: Path, person, tmp_path: Path, run_cli) -> None:
    common = ("repose", "-w", run_dir, "--image", person["person"], "--pose", person["pose"])
    result = run_cli(*common, "--target-pose", person["target"], "-o", tmp_path / "one.png")
    assert result.code == 0, result.stderr
    assert Image.open(tmp_path / "one.png").size == (70, 70)
    for suffix in ("gif", "mp4"):
        out = tmp_path / f"walk.{suffix}"
        result = run_cli(*common, "--target-poses", person["walk"], "-o", out)
        assert result.code == 0, result.stderr
        assert out.stat().st_size > 0 and len(list((tmp_path / "walk_frames").glob("*.png"))) == 5
    assert Image.open(tmp_path / "walk.gif").n_frames == 5


def _bad_pose_files(folder: Path, person) -> dict[str, tuple[Path, str]]:
    good = json.loads(person["pose"].read_text())
    files = {}

    def write(name: str, content: object) -> Path:
        path = folder / f"{name}.json"
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return path

    joints = dict(good["joints"])
    del joints["left_ankle"]
    files["count"] = (write("count", {**good, "joints": joints}), "no joint 'left_ankle'")
    listed = list(good["joints"].values())[:13]
    files["list"] = (write("list", {**good, "joints": listed}), "has 13")
    nan = {**good["joints"], "neck": [float("nan"), 10.0]}  # json writes NaN
    files["nan"] = (write("nan", {**good, "joints": nan}), "NaN")
    far = {**good["joints"], "head": [500, 10]}
    files["far"] = (write("far", {**good, "joints": far}), "far outside")
    files["size"] = (write("size", {**good, "image_size": [128, 96]}), "128x96 image")
    return files


@pytest.mark.parametrize("problem", ["count", "list", "nan", "far", "size"])
def test_cli_refuses_bad_poses_in_one_line(
    run_dir: Path, person, tmp_path: Path, run_cli, problem: str
) -> None:
    path, message = _bad_pose_files(tmp_path, person)[problem]
    out = tmp_path / "out.png"
    result = run_cli(
        "repose",
        "-w",
        run_dir,
        "--image",
        person["person"],
        "--pose",
        path,
        "--target-pose",
        person["target"],
        "-o",
        out,
    )
    assert result.code == 1 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_cli_refuses_empty_sequences_and_other_models(
    run_dir: Path, person, tmp_path: Path, run_cli, tiny_cyclegan_dir: Path
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"image_size": [70, 70], "poses": []}))
    out = tmp_path / "out.mp4"
    common = ("--image", person["person"], "--pose", person["pose"])
    result = run_cli("repose", "-w", run_dir, *common, "--target-poses", empty, "-o", out)
    assert result.code == 1 and "empty" in result.stderr
    result = run_cli(
        "repose", "-w", tiny_cyclegan_dir, *common, "--target-poses", person["walk"], "-o", out
    )
    assert result.code == 1 and "'cyclegan' checkpoint" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = run_cli(
        "repose", "-w", run_dir, *common, "--target-poses", person["walk"], "-o", tmp_path / "x.avi"
    )
    assert result.code == 1 and ".mp4 or .gif" in result.stderr
    taken = tmp_path / "taken"
    taken.write_text("mine")
    walk = ("--target-poses", person["walk"], "-o", out, "--frames", taken)
    result = run_cli("repose", "-w", run_dir, *common, *walk)
    assert result.code == 1 and "is a file" in result.stderr and taken.read_text() == "mine"
    assert not out.exists() and not (tmp_path / "out_frames").exists()


def test_pose_arrays_are_checked() -> None:
    with pytest.raises(InputError, match="NaN"):
        Reposer.read_pose(np.full((N_JOINTS, 2), np.nan), (64, 64), "pose")
    with pytest.raises(InputError, match=r"\(14, 2\)"):
        Reposer.read_pose(np.zeros((13, 2)), (64, 64), "pose")
    assert PoseWarpDataConfig().size == 256 and PoseWarpConfig().stage == 1


# ---- real data -----------------------------------------------------------------------------------
def _write_video_fixture(root: Path, kind: str, frames: int = 4) -> np.ndarray:
    """One 96x80 video of a figure walking, with its poses as .mat or JSON; returns the joints
    (frames, 14, 2) in 0-based pixels."""
    rng = np.random.default_rng(0)
    spec, background = sample_figure(rng), sample_figure_background(rng, 96)[:80]
    joints = sequence_poses("walk", frames, 96) * np.array([1.0, 0.8])
    folder = root / "train" / "frames" / "clip"
    folder.mkdir(parents=True)
    for k, pose in enumerate(joints):
        canvas = np.zeros((96, 96, 3), np.float32)
        canvas[:80] = background
        Image.fromarray(render_figure(spec, pose, canvas)[:80]).save(folder / f"{k + 1}.png")
    boxes = np.concatenate([joints.min(axis=1), joints.max(axis=1) - joints.min(axis=1)], axis=1)
    info = root / "train" / "info"
    info.mkdir()
    if kind == "videos":
        from scipy.io import savemat

        savemat(info / "clip.mat", {"data": {"X": joints.transpose(1, 2, 0) + 1.0, "bbox": boxes}})
    else:
        poses = [_pose(j, 96).to_json()["joints"] for j in joints]
        (info / "clip.json").write_text(json.dumps({"image_size": [96, 80], "poses": poses}))
    return joints


@pytest.mark.parametrize("kind", ["videos", "json"])
def test_real_video_pairs_are_cropped_by_the_reference_rule(tmp_path: Path, kind: str) -> None:
    from compogan.data.pose_videos import crop_matrix, person_scale
    from compogan.data.registry import build_dataset

    joints = _write_video_fixture(tmp_path, kind)
    config = PoseWarpDataConfig(dataset=kind, root=str(tmp_path), size=64, length=3, augment=False)
    data = build_dataset("pose_pair", config, "train", seed=0)
    item = data[0]
    assert item["source"].shape == (3, 64, 64) and item["source_pose"].shape == (N_JOINTS, 3)
    boxes = (np.array([10.0, 20, 30, 40]), np.array([30.0, 20, 10, 40]))
    matrix = crop_matrix((joints[0], joints[1]), boxes, 64, 1.14)
    assert matrix[0, 0] == pytest.approx(1.14 * 64 / 256 / max(map(person_scale, joints[:2])))
    centre = matrix[:2, :2] @ np.array([30.0, 40.0]) + matrix[:2, 2]  # the boxes' mean centre
    assert np.allclose(centre, [31.5, 31.5])
    augmented = PoseWarpDataConfig(dataset=kind, root=str(tmp_path), size=64, length=3)
    again = build_dataset("pose_pair", augmented, "train", seed=0)
    assert torch.equal(again[1]["source"], again[1]["source"])  # deterministic per item


def test_flipped_augmentation_swaps_the_sides(tmp_path: Path) -> None:
    from compogan.data.pose_videos import augmentation_matrix, map_joints

    rng = np.random.default_rng(0)
    while True:
        matrix, flip, _ = augmentation_matrix(rng, 64)
        if flip:
            break
    joints = np.concatenate([sequence_pose("wave", 0.2, 64), np.ones((N_JOINTS, 1))], axis=1)
    mapped = map_joints(joints, matrix, flip).numpy()
    right_wrist = joints[4, :2] @ matrix[:2, :2].T + matrix[:2, 2]
    assert np.allclose(mapped[7, :2], right_wrist, atol=1e-4)  # now the left wrist


def test_the_stats_command_writes_what_a_run_starts_from(tmp_path: Path, run_cli) -> None:
    stats = tmp_path / "stats.safetensors"
    config = ROOT / "configs" / "posewarp" / "figures_cpu.yaml"
    result = run_cli(
        "posewarp-stats", "-c", config, "-o", stats, "--device", "cpu", *WIDTHS, *TINY_ARGS
    )
    assert result.code == 0, result.stderr
    run = tmp_path / "run"
    _train(run, "train.steps=1", "train.checkpoint_every=1", f"model.feature_stats={stats}")
    from safetensors.torch import load_file

    saved = load_file(str(stats))
    assert torch.equal(compogan.load(run).stats.relu1_1_std, saved["relu1_1_std"])


def test_the_web_page_reposes_from_uploaded_pose_files(
    run_dir: Path, person, tmp_path: Path
) -> None:
    from compogan.web.handlers import Gate, Limits, run_request
    from compogan.web.models import ModelStore

    models = tmp_path / "models"
    compogan.load(run_dir).save_pretrained(models / "pw")
    limits = Limits(max_pixels=128 * 128, timeout_s=60)
    store = ModelStore(models, device="cpu")
    inputs = {"image": Image.open(person["person"]), "pose": str(person["pose"])}
    output = run_request(
        store, Gate(1, 1), limits, "repose", "pw", {**inputs, "target_pose": str(person["target"])}
    )
    assert output.ok, output.message
    assert output.values["image"].size == (70, 70)
    bad = run_request(store, Gate(1, 1), limits, "repose", "pw", {**inputs, "target_pose": None})
    assert bad.message.startswith("error:") and "required" in bad.message


def test_pose_sequence_fits_a_motion_to_a_person(person, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "wave.json"
    result = run_cli(
        "pose-sequence", "--like", person["pose"], "--motion", "wave", "--frames", "6", "-o", out
    )
    assert result.code == 0, result.stderr
    from compogan.io.poses import read_pose_sequence

    poses = read_pose_sequence(out, (70, 70))
    first, source = poses[0].joints, read_pose(person["pose"]).joints
    assert len(poses) == 6
    assert np.allclose((first[8, :2] + first[11, :2]) / 2, (source[8, :2] + source[11, :2]) / 2)
    result = run_cli("pose-sequence", "--like", person["pose"], "--motion", "dance", "-o", out)
    assert result.code == 1 and "unknown motion" in result.stderr


def test_a_wide_image_is_padded_and_cropped_back(run_dir: Path, person) -> None:
    picture = Image.open(person["person"]).crop((0, 8, 70, 62))  # 70x54
    pose = read_pose(person["pose"]).joints.copy()
    pose[:, 1] -= 8
    target = read_pose(person["target"]).joints.copy()
    target[:, 1] -= 8
    reposer = Reposer.from_pretrained(run_dir, device="cpu")
    assert reposer(picture, Pose(pose, (70, 54)), target).image.size == (70, 54)
    with pytest.raises(InputError, match="70x70 image"):
        reposer(picture, person["pose"], target)
