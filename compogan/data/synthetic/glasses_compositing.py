"""The offline glasses-compositing data set for ST-GAN: procedural faces and glasses.

:class:`GlassesCompositing` serves ST-GAN items (see its docstring): a face without glasses,
canonical-pose glasses, their correct and perturbed placements, and another face wearing other
glasses. All random choices of an item are a :class:`GlassesDraw`, rendered at any size by
:func:`render_glasses_item`; a 144 px item (two faces, two glasses, one composite) renders in
about 10–20 ms on one CPU core. :func:`glasses_dataset` is the registered "glasses" compositing
dataset (:mod:`compogan.data.registry`).
"""

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from compogan.data.seeded import SeededDataset
from compogan.data.synthetic.drawing import MIN_SIZE, image_to_tensor
from compogan.data.synthetic.faces import render_face, sample_face, sample_face_pose
from compogan.data.synthetic.glasses import (
    fit_glasses_warp,
    glasses_to_tensor,
    render_face_with_glasses,
    render_glasses,
    sample_glasses,
)
from compogan.errors import ConfigError
from compogan.geometry import sl3_to_matrix

Split = Literal["train", "test"]

MAX_SEED = 2**62


@dataclass(frozen=True, eq=False)
class GlassesDraw:
    """All random choices of one :class:`GlassesCompositing` item.

    Attributes:
        face_seed: seed of the background face (no glasses).
        face_pose: (3, 3) float64 similarity placing that face in the image.
        glasses_seed: seed of the foreground glasses.
        init_params: (8,) float64 sl(3) perturbation of the correct placement.
        real_face_seed: seed of the other face, shown wearing glasses.
        real_face_pose: (3, 3) float64 similarity placing that face.
        real_glasses_seed: seed of the glasses the real face wears.
    """

    face_seed: int
    face_pose: np.ndarray
    glasses_seed: int
    init_params: np.ndarray
    real_face_seed: int
    real_face_pose: np.ndarray
    real_glasses_seed: int


def render_glasses_item(draw: GlassesDraw, size: int) -> dict[str, Tensor]:
    """Render one :class:`GlassesCompositing` item from its random choices, at any size.

    The warps are canonical, so the same draw rendered at a larger size gives the same
    placement problem at higher resolution (ST-GAN composites at high resolution at test time).
    """
    face = render_face(sample_face(draw.face_seed), size, face_pose=draw.face_pose)
    foreground = glasses_to_tensor(render_glasses(sample_glasses(draw.glasses_seed), size))
    target = fit_glasses_warp(face.landmarks)
    perturbation = sl3_to_matrix(torch.from_numpy(draw.init_params)[None])[0]
    init = (target.double() @ perturbation).to(torch.float32)
    real = render_face_with_glasses(
        sample_face(draw.real_face_seed),
        size,
        sample_glasses(draw.real_glasses_seed),
        face_pose=draw.real_face_pose,
    )
    return {
        "bg": image_to_tensor(face.image),
        "fg": foreground,
        "target": target,
        "init": init,
        "real": image_to_tensor(real.image),
        "landmarks": torch.from_numpy(face.landmarks),
    }


class GlassesCompositing(SeededDataset):
    """ST-GAN glasses data: put canonical-pose glasses on a face (see the ST-GAN data contract).

    Item ``i`` draws all its randomness from ``np.random.default_rng([seed, epoch, i])`` for the
    train split (:meth:`set_epoch` changes it) and from a fixed epoch-independent stream for the
    test split. Train faces and glasses have even seeds, test ones odd, so the splits never share
    a face or a pair of glasses. Each item is a dict of tensors:

    - ``"bg"``: (3, S, S) float32 in [-1, 1], a face without glasses, moved by a random
      similarity of strength ``face_perturbation`` (:func:`sample_face_pose`);
    - ``"fg"``: (4, S, S) float32, glasses in the canonical pose: colour in [-1, 1], alpha [0, 1];
    - ``"target"``: (3, 3) float32, the correct placement (:func:`fit_glasses_warp` of bg's eyes);
    - ``"init"``: (3, 3) float32, ``target @ expm(A(p))`` with p ~ N(0, fg_perturbation^2) in sl(3);
    - ``"real"``: (3, S, S) float32 in [-1, 1], another face (its own random similarity) wearing
      other glasses placed correctly, composited exactly as ST-GAN composites;
    - ``"landmarks"``: (5, 2) float32 canonical eye centres, nose tip and mouth corners of bg.
    """

    def __init__(
        self,
        size: int = 144,
        length: int = 2000,
        split: Split = "train",
        seed: int = 0,
        fg_perturbation: float = 0.1,
        face_perturbation: float = 0.1,
    ) -> None:
        if split not in ("train", "test"):
            raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
        if not isinstance(size, int) or size < MIN_SIZE:
            raise ConfigError(f"image size must be an integer of at least {MIN_SIZE}, got {size!r}")
        if length < 1:
            raise ConfigError(f"data set length must be at least 1, got {length}")
        if fg_perturbation < 0 or face_perturbation < 0:
            raise ConfigError(
                f"perturbation strengths must be >= 0, got fg {fg_perturbation} and face "
                f"{face_perturbation}"
            )
        super().__init__(seed, split)
        self.size = size
        self.length = length
        self.fg_perturbation = fg_perturbation
        self.face_perturbation = face_perturbation

    def __len__(self) -> int:
        return self.length

    def _split_seed(self, rng: np.random.Generator) -> int:
        seed = int(rng.integers(MAX_SEED))
        return seed | 1 if self.split == "test" else seed & ~1

    def draw(self, index: int) -> GlassesDraw:
        """The random choices of item ``index`` (for the current epoch)."""
        rng = self.item_rng(index)
        face_seed = self._split_seed(rng)
        real_face_seed = face_seed
        while real_face_seed == face_seed:
            real_face_seed = self._split_seed(rng)
        return GlassesDraw(
            face_seed=face_seed,
            face_pose=sample_face_pose(rng, self.face_perturbation),
            glasses_seed=self._split_seed(rng),
            init_params=rng.normal(0.0, self.fg_perturbation, size=8),
            real_face_seed=real_face_seed,
            real_face_pose=sample_face_pose(rng, self.face_perturbation),
            real_glasses_seed=self._split_seed(rng),
        )

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return render_glasses_item(self.draw(index), self.size)


def glasses_dataset(data_config: Any, split: str, seed: int) -> GlassesCompositing:
    """The "glasses" compositing dataset; reads ``size``, ``length``/``test_length`` (via
    ``data_config.split_length(split)``), ``fg_perturbation``, ``face_perturbation``."""
    return GlassesCompositing(
        size=data_config.size,
        length=data_config.split_length(split),
        split=split,
        seed=seed,
        fg_perturbation=data_config.fg_perturbation,
        face_perturbation=data_config.face_perturbation,
    )
