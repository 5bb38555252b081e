"""Poisson blending (Pérez et al., 2003): paste a fill into an image's holes without seams.

Inside a hole the blended result keeps the fill's details (its discrete Laplacian) while it meets
the image's own pixels at the hole's border, so a fill whose colours are slightly off (a common
flaw of a generator trained briefly) takes the colours of its surroundings. Iizuka et al. (2017)
apply this post-process to their learned inpainting; compogan offers it for EdgeConnect's fills
(``Inpainter(blend="poisson")``, ``compogan inpaint --blend poisson``).

With f the fill and g the image, the result is f + h where h solves Laplace's equation Δh = 0 in
the hole with h = g − f on the known pixels next to it (5-point stencil; the image border is a
zero-flux boundary), solved exactly with a sparse LU factorisation (scipy). Known pixels are
returned unchanged, bit for bit.
"""

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch

from compogan.errors import InputError

NEIGHBOURS = ((0, 1), (0, -1), (1, 0), (-1, 0))


def harmonic_fill(values: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``values`` with its hole pixels replaced by the harmonic interpolation of the rest.

    Args:
        values: (C, H, W) float array; only the pixels outside ``hole`` are read.
        hole: (H, W) bool array, True = unknown. Must leave at least one pixel known.

    Returns:
        (C, H, W) float64 array equal to ``values`` outside the hole, harmonic inside it.
    """
    height, width = hole.shape
    ys, xs = np.nonzero(hole)
    count = len(ys)
    index = np.full(hole.shape, -1)
    index[ys, xs] = np.arange(count)
    degree = np.zeros(count)
    rows, cols = [], []
    rhs = np.zeros((count, values.shape[0]))
    for dy, dx in NEIGHBOURS:
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        degree += inside
        pixel, ny, nx = np.nonzero(inside)[0], ny[inside], nx[inside]
        unknown = hole[ny, nx]
        rows.append(pixel[unknown])
        cols.append(index[ny[unknown], nx[unknown]])
        np.add.at(rhs, pixel[~unknown], values[:, ny[~unknown], nx[~unknown]].T)
    neighbours = np.concatenate(rows), np.concatenate(cols)
    adjacency = scipy.sparse.csc_matrix((np.ones(len(neighbours[0])), neighbours), (count, count))
    laplacian = (scipy.sparse.diags(degree) - adjacency).tocsc()
    solution = np.asarray(scipy.sparse.linalg.splu(laplacian).solve(rhs)).reshape(count, -1)
    result = values.astype(np.float64)
    result[:, ys, xs] = solution.T
    return result


def poisson_blend(images: torch.Tensor, fills: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    """Blend ``fills`` into the holes of ``images`` (see the module docstring).

    Args:
        images: (N, C, H, W) images; their hole pixels are ignored.
        fills: (N, C, H, W) fills of the same value range (a generator's full output).
        holes: (N, 1, H, W) masks, hole where > 0.5.

    Returns:
        (N, C, H, W) tensor like ``images``: the images' pixels outside the holes, the blended
        fill inside. An image that is all hole gets its fill unchanged.

    Raises:
        InputError: the shapes do not match.
    """
    if images.shape != fills.shape or holes.shape != (*images.shape[:1], 1, *images.shape[2:]):
        raise InputError(
            f"poisson_blend needs images and fills of one shape and (N, 1, H, W) holes, got "
            f"{tuple(images.shape)}, {tuple(fills.shape)} and {tuple(holes.shape)}"
        )
    image_array = images.detach().cpu().double().numpy()
    fill_array = fills.detach().cpu().double().numpy()
    hole_array = holes.detach().cpu().numpy()[:, 0] > 0.5
    blended = [
        fill if hole.all() or not hole.any() else fill + harmonic_fill(image - fill, hole)
        for image, fill, hole in zip(image_array, fill_array, hole_array, strict=True)
    ]
    result = torch.from_numpy(np.stack(blended)).to(images)
    return torch.where(holes > 0.5, result, images)


def harmonic_interpolation(images: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    """The smoothest fill there is: each hole solves Laplace's equation with the known pixels
    around it as its boundary (Poisson blending of a flat fill).

    Args:
        images: (N, C, H, W) images of any value range; their hole pixels are ignored.
        holes: (N, 1, H, W) masks, hole where > 0.5.

    Returns:
        (N, C, H, W) tensor like ``images``, harmonic in the holes. An image that is all hole
        becomes all zeros (the middle of compogan's [-1, 1] range).
    """
    return poisson_blend(images, torch.zeros_like(images), holes)
