"""The inference contract: what a model offers the pipeline of each task it serves.

A model declares the tasks it serves in its class attribute ``tasks`` (see
:class:`compogan.models.base.GANModel`) and then provides the methods of each task's protocol
below. A pipeline relies on nothing else, so any model that serves a task works with that task's
pipeline (a pix2pix-like model with :class:`Translation`'s two members, for example, works with
:class:`~compogan.pipelines.Translator`). Every model also states the input sizes its networks
take, in the class attributes ``size_multiple`` (height and width must be divisible by it) and
``min_size`` (the smallest height and width); pipelines pad to those and crop back.

Tensors follow the package's conventions: images (N,C,H,W) in [-1, 1], masks and alpha in
[0, 1]. Inference methods run without gradients and on the model's device.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import Tensor

TRANSLATE = "translate"
"""Image-to-image translation (:class:`Translation`; the
:class:`~compogan.pipelines.Translator`)."""
INPAINT = "inpaint"
"""Hole filling (:class:`Inpainting`; the :class:`~compogan.pipelines.Inpainter`)."""
COMPOSE = "compose"
"""Geometric placement of a foreground (:class:`Placement`; the
:class:`~compogan.pipelines.Compositor`)."""
CUTPASTE = "cutpaste"
"""Cut an object out, fill its hole, paste and enhance it elsewhere (:class:`CutPasting`; the
:class:`~compogan.pipelines.CutPaster`)."""
RETARGET = "retarget"
"""Single-image retargeting to other sizes and shapes (:class:`Retargeting`; the
:class:`~compogan.pipelines.Retargeter`)."""
REPOSE = "repose"
"""Re-render a person in other poses (:class:`Reposing`; the
:class:`~compogan.pipelines.Reposer`)."""
TASKS = (TRANSLATE, INPAINT, COMPOSE, CUTPASTE, RETARGET, REPOSE)
"""Every task a model can declare in ``tasks``."""


@runtime_checkable
class Translation(Protocol):
    """The ``"translate"`` contract: map images of one domain to another.

    Attributes:
        size_multiple: H and W of ``translate``'s input must be divisible by it.
        min_size: the smallest H and W ``translate`` takes.
    """

    size_multiple: int
    min_size: int

    @property
    def directions(self) -> tuple[str, ...]:
        """The directions (e.g. "AtoB", "BtoA") the loaded networks can translate, the default
        first; empty when the checkpoint holds none of the generators."""
        ...

    def translate(self, images: Tensor, direction: str) -> Tensor:
        """Translate (N,3,H,W) images in [-1,1] (H, W as ``size_multiple`` and ``min_size``
        require) in ``direction``, one of :attr:`directions`; returns (N,3,H,W) in [-1,1]."""
        ...


@runtime_checkable
class Inpainting(Protocol):
    """The ``"inpaint"`` contract: fill the holes of images, guided by edge maps.

    Attributes:
        size_multiple: H and W of the inputs must be divisible by it.
        min_size: the smallest H and W the networks take.
    """

    size_multiple: int
    min_size: int

    def check_inpainting(self, edges_given: bool = False) -> None:
        """Raise CheckpointError unless the loaded networks can fill holes: with ``edges_given``
        the caller supplies the edge map, otherwise the model must make it."""
        ...

    def canny(self, images: Tensor, masks: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Grayscale (N,1,H,W) in [0,1] and Canny edges (N,1,H,W) in {0,1} of (N,3,H,W)
        images in [-1,1]; with ``masks`` (N,1,H,W), 1 = hole, the edges are computed with the
        hole excluded (no edge depends on a hole pixel), as pipelines call it."""
        ...

    def generate(
        self, images: Tensor, masks: Tensor, edges: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """The generator's whole output (N,3,H,W) in [-1,1] for ``images`` (N,3,H,W) in
        [-1,1] with holes ``masks`` (N,1,H,W), 1 = hole, and the edge map used (N,1,H,W) in
        [0,1]: ``edges`` when given, otherwise the model's own."""
        ...

    def inpaint(
        self, images: Tensor, masks: Tensor, edges: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Like :meth:`generate`, with the known pixels (mask 0) of ``images`` kept exactly."""
        ...


@runtime_checkable
class Placement(Protocol):
    """The ``"compose"`` contract: find where a foreground goes on a background."""

    def place(
        self,
        fg_rgba: Tensor,
        bg: Tensor,
        init: Tensor,
        steps: int | None = None,
        keep_steps: bool = True,
    ) -> tuple[Tensor, Tensor, list[Tensor]]:
        """Place ``fg_rgba`` (N,4,h,w) (colour in [-1,1], alpha in [0,1]) on ``bg`` (N,3,H,W)
        in [-1,1], starting from ``init`` (N,3,3) or (3,3) canonical fg → bg homographies, at
        any resolution of either.

        Returns:
            (composite (N,3,H,W) in [-1,1], final warp (N,3,3), the composites after 0, 1, ...,
            ``steps`` warp updates, or an empty list without ``keep_steps``).
        """
        ...


@runtime_checkable
class CutPasting(Protocol):
    """The ``"cutpaste"`` contract: segment an object in its box, fill the hole it leaves, and
    enhance a naive paste of it into another image. Every input is the square crop around the
    object's box (:func:`compogan.data.objects.square_around`, ratio ``box_context``) resized
    to ``work_size``.

    Attributes:
        work_size: the side S of the square crops the networks take.
        box_context: the crop's side over the box's longer side.
    """

    work_size: int
    box_context: float

    def segment(self, images: Tensor, boxes: Tensor) -> Tensor:
        """Soft masks (N,1,S,S) in [0,1] of the objects in (N,3,S,S) images in [-1,1] inside
        (N,1,S,S) box masks in {0,1}; 0 outside the boxes."""
        ...

    def fill(self, images: Tensor, masks: Tensor) -> Tensor:
        """(N,3,S,S) images in [-1,1] with the (N,1,S,S) masked pixels replaced by background;
        pixels outside the mask kept."""
        ...

    def enhance(self, composites: Tensor, seed: int = 0) -> Tensor:
        """Enhanced (N,3,S,S) composites in [-1,1] of naive pastes m⊙x + (1−m)⊙y; ``seed``
        fixes any noise the enhancer draws."""
        ...


@runtime_checkable
class Retargeting(Protocol):
    """The ``"retarget"`` contract: resynthesise one image at another size or shape.

    Attributes:
        size_multiple: output H and W are multiples of it (sizes are rounded down to it).
        min_size: the smallest input H and W.
    """

    size_multiple: int
    min_size: int

    @property
    def source_image(self) -> Tensor | None:
        """The (1,3,H,W) image in [-1,1] the weights were trained on, or None when they do not
        hold it (official weights)."""
        ...

    def retarget(self, image: Tensor, size: tuple[int, int]) -> Tensor:
        """(1,3,h,w) in [-1,1] → (1,3,H,W) in [-1,1] at ``size``, multiples of
        ``size_multiple``."""
        ...

    def warp(self, image: Tensor, size: tuple[int, int], matrix: Tensor) -> Tensor:
        """(1,3,h,w) → (1,3,H,W) through a (3,3) sampling homography (output → input
        canonical coordinates): a non-rectangular target."""
        ...


@runtime_checkable
class Reposing(Protocol):
    """The ``"repose"`` contract: render the person of an image in another pose.

    Poses are (N, 14, 3) tensors ``[x, y, visible]`` of the 14 joints
    (:data:`compogan.geometry.pose.JOINT_NAMES`) in pixels of the (S, S) network input.

    Attributes:
        image_size: the side S of the square images the networks take.
    """

    image_size: int

    def repose(self, images: Tensor, source_pose: Tensor, target_pose: Tensor) -> Tensor:
        """(N,3,S,S) in [-1,1] showing people in ``source_pose`` → (N,3,S,S) in [-1,1] of them
        in ``target_pose``."""
        ...
