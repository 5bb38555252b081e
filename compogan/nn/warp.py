"""ST-GAN's geometric predictor (Lin et al., CVPR 2018), the network behind each warp update.

ST-GAN composes a foreground into a background by a sequence of warp updates
``p_k = p_{k-1} ∘ dp_k``; :class:`WarpPredictor` is one stage's network that maps the
background and the currently warped foreground to ``dp_k``. The model
(:mod:`compogan.models.stgan`) chains ``warp_n`` of them and trains them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from compogan.errors import InputError
from compogan.nn.blocks import ConvNormAct
from compogan.nn.discriminators import pad_to_even
from compogan.nn.init import init_weights

PREDICTOR_IN_CHANNELS = 7  # background RGB + warped foreground RGBA


class WarpPredictor(nn.Module):
    """ST-GAN's geometric predictor: a warp update dp from a background and a warped foreground.

    Layout: 4x4 stride-2 convolutions with ReLU and no normalisation (widths 32..512); after each,
    the input image average-pooled by 2 is concatenated to the features again (multi-resolution
    input); then a fully connected layer of ``fc_dim`` with ReLU and one to ``n_params``. Sizes
    halve rounding up (odd sizes are padded at the bottom/right), so 144 px gives 72, 36, 18, 9,
    5. Weights are N(0, init_std) and biases 0, so a fresh predictor outputs dp ≈ 0.

    Shapes: (N, in_channels, image_size, image_size) -> dp (N, n_params).

    Args:
        image_size: square input size (fixes the fully connected layer's input size).
        n_params: warp parameters per update (8 homography, 6 affine).
        widths: channels of the stride-2 convolutions.
        fc_dim: width of the hidden fully connected layer.
        in_channels: input channels (background RGB + warped foreground RGBA = 7).
        init_std: standard deviation of the initial weights.
    """

    def __init__(
        self,
        image_size: int,
        n_params: int,
        widths: tuple[int, ...] = (32, 64, 128, 256, 512),
        fc_dim: int = 256,
        in_channels: int = PREDICTOR_IN_CHANNELS,
        init_std: float = 0.01,
    ) -> None:
        super().__init__()
        self.image_size = image_size
        channels = [in_channels] + [width + in_channels for width in widths]
        self.convs = nn.ModuleList(
            ConvNormAct(channels[i], width, 4, stride=2, padding=1, activation="relu")
            for i, width in enumerate(widths)
        )
        final_size = image_size
        for _ in widths:
            final_size = math.ceil(final_size / 2)
        self.fc = nn.Sequential(
            nn.Linear(channels[-1] * final_size**2, fc_dim),
            nn.ReLU(),
            nn.Linear(fc_dim, n_params),
        )
        init_weights(self, kind="normal", gain=init_std)

    def forward(self, x: Tensor) -> Tensor:
        """Warp update: (N, C, image_size, image_size) -> (N, n_params).

        Raises:
            InputError: the input is not image_size x image_size.
        """
        if x.shape[-2:] != (self.image_size, self.image_size):
            raise InputError(
                f"the warp predictor expects {self.image_size}x{self.image_size} inputs, "
                f"got {x.shape[-2]}x{x.shape[-1]}"
            )
        image = features = x
        for conv in self.convs:
            features = conv(pad_to_even(features))
            image = F.avg_pool2d(pad_to_even(image), 2)
            features = torch.cat([features, image], dim=1)
        return self.fc(features.flatten(1))
