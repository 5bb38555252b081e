"""``compogan repose``: the person of an image in another pose, or in a sequence of poses
(a video)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from compogan.cli.app import app
from compogan.errors import InputError

if TYPE_CHECKING:
    from PIL import Image


def _frames_folder(out: Path) -> Path:
    return out.with_name(f"{out.stem}_frames")


@app.command("repose")
def repose_command(
    weights: Annotated[
        Path, typer.Option("--weights", "-w", help="PoseWarp run, pretrained dir or official .h5")
    ],
    image: Annotated[Path, typer.Option("--image", help="the person's image")],
    pose: Annotated[Path, typer.Option("--pose", help="the person's pose in the image (JSON)")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="output image, or .mp4 / .gif with --target-poses")
    ],
    target_pose: Annotated[
        Path | None, typer.Option("--target-pose", help="the pose to render (JSON)")
    ] = None,
    target_poses: Annotated[
        Path | None,
        typer.Option("--target-poses", help="a pose sequence (JSON) to render as video"),
    ] = None,
    frames: Annotated[
        Path | None,
        typer.Option("--frames", help="folder for the video's frames (default <out>_frames)"),
    ] = None,
    fps: Annotated[float, typer.Option("--fps", min=0.1, max=120.0)] = 10.0,
    device: Annotated[str, typer.Option("--device")] = "auto",
) -> None:
    """Repose: `compogan repose -w RUN --image me.png --pose me.json --target-pose t.json -o o.png`.

    With --target-poses seq.json: every pose rendered, written as OUT (.mp4 or .gif) and as
    PNG frames in --frames (default OUT's name + _frames). Inputs and poses are checked before
    the weights load; outputs are written only once every frame is rendered.
    """
    from compogan.io.images import IMAGE_SUFFIXES, load_image
    from compogan.io.poses import read_pose, read_pose_sequence
    from compogan.io.video import check_video_path

    if (target_pose is None) == (target_poses is None):
        raise InputError("give exactly one of --target-pose (an image) or --target-poses (a video)")
    if target_pose is not None and out.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(
            f"--out {out.name} must be an image file ({', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    if target_poses is not None:
        check_video_path(out)
        folder = frames or _frames_folder(out)
        if folder.exists() and not folder.is_dir():
            raise InputError(f"--frames {folder} is a file, not a folder")
    picture = load_image(image)
    source = read_pose(pose, picture.size)
    targets = (
        [read_pose(target_pose, picture.size)]
        if target_pose is not None
        else read_pose_sequence(target_poses, picture.size)
    )
    from compogan.pipelines import Reposer

    reposer = Reposer.from_pretrained(weights, device)
    if target_pose is not None:
        result = reposer(picture, source, targets[0])
        result.save(out)
        typer.echo(f"wrote {out}")
        return
    rendered = reposer.sequence(picture, source, targets, progress=True)
    _write_sequence(rendered, out, folder, fps)


def _write_sequence(rendered: list[Image.Image], out: Path, folder: Path, fps: float) -> None:
    """The frames folder (atomically, as a whole) and the video (atomically)."""
    from compogan.io.atomic import atomic_dir
    from compogan.io.images import save_image
    from compogan.io.video import write_video

    digits = len(str(len(rendered) - 1))
    with atomic_dir(folder) as temporary:
        for index, frame in enumerate(rendered):
            save_image(frame, temporary / f"{index:0{digits}d}.png")
    write_video(rendered, out, fps)
    typer.echo(f"wrote {out} and {len(rendered)} frames in {folder}")


@app.command("posewarp-stats")
def posewarp_stats_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="statistics file (.safetensors)")],
    overrides: Annotated[
        list[str] | None, typer.Argument(help="config overrides such as data.root=DIR")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config")] = None,
    model: Annotated[str, typer.Option("--model", help="posewarp or posewarp_unet")] = "posewarp",
    device: Annotated[str, typer.Option("--device")] = "auto",
) -> None:
    """The VGG feature statistics of PoseWarp's loss from a config's training data:
    `compogan posewarp-stats -c configs/posewarp/paper.yaml -o stats.safetensors`; train with
    model.feature_stats=stats.safetensors (a run without them computes them itself)."""
    from safetensors.torch import save_file

    from compogan.config import load_config, section_object
    from compogan.io.atomic import atomic_path
    from compogan.registry import get_model_class
    from compogan.train.distributed import select_device

    if out.suffix != ".safetensors":
        raise InputError(f"--out {out.name} must be a .safetensors file")
    model_cls = get_model_class(model)
    if model_cls.data_kind != "pose_pair":
        raise InputError(f"'{model}' is not PoseWarp; use posewarp or posewarp_unet")
    experiment = load_config(model_cls, config, overrides or [])
    instance = model_cls(section_object(experiment, "model"), section_object(experiment, "data"))
    instance.to(select_device(device))
    instance.configure_optimizers()
    instance.compute_feature_stats(int(experiment.train.batch_size))
    with atomic_path(out) as temporary:
        save_file(
            {k: v.contiguous().cpu() for k, v in instance.stats.state_dict().items()},
            str(temporary),
        )
    typer.echo(f"wrote the statistics of {int(instance.stats.count)} images to {out}")


@app.command("pose-sequence")
def pose_sequence_command(
    like: Annotated[Path, typer.Option("--like", help="the person's pose file (JSON)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="the pose sequence file (JSON)")],
    motion: Annotated[str, typer.Option("--motion", help="walk, wave or jump")] = "walk",
    frames: Annotated[int, typer.Option("--frames", min=1, max=10000)] = 30,
) -> None:
    """A pose sequence for --target-poses: one cycle of a synthetic motion fitted to a person's
    pose (height and hips), `compogan pose-sequence --like me.json --motion wave -o wave.json`."""
    from compogan.data.synthetic.figures import SEQUENCES, motion_like
    from compogan.io.poses import Pose, check_inside, read_pose, write_pose_sequence

    if motion not in SEQUENCES:
        raise InputError(f"unknown motion '{motion}'; use one of {', '.join(SEQUENCES)}")
    if out.suffix.lower() != ".json":
        raise InputError(f"--out {out.name} must be a .json file")
    person = read_pose(like)
    poses = []
    for index, joints in enumerate(motion_like(person.joints, motion, frames)):
        pose = np.concatenate([joints, np.ones((len(joints), 1))], axis=1)
        check_inside(pose, person.image_size, f"the {motion} fitted to {like.name}, frame {index}")
        poses.append(Pose(pose, person.image_size))
    write_pose_sequence(out, poses)
    typer.echo(f"wrote {frames} {motion} poses to {out}")
