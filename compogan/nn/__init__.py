"""The networks of every compogan model, and the blocks they are built from.

The rule: every network lives here, a model file never defines one. Blocks, generators and
discriminators that several papers share sit in blocks / discriminators / unet / vgg; a network
one paper introduced gets a module of its own named for what it is (inpainting: EdgeConnect's
generators; warp: ST-GAN's warp predictor). So a network can be built, imported from official
weights and tested without its model's training recipe, and a model file reads as the paper's
method: configs, losses, phases, inference.
"""

from compogan.nn.blocks import (
    ConvNormAct,
    ResnetBlock,
    ResnetGenerator,
    make_activation,
    make_norm,
)
from compogan.nn.discriminators import (
    DCGANDiscriminator,
    PatchDiscriminator,
    StridedCritic,
    WGANCritic,
)
from compogan.nn.init import init_weights
from compogan.nn.inpainting import EdgeGenerator, InpaintGenerator
from compogan.nn.unet import UNet
from compogan.nn.vgg import LAYER_INDEX, VGG19, load_vgg19
from compogan.nn.warp import WarpPredictor

__all__ = [
    "LAYER_INDEX",
    "VGG19",
    "ConvNormAct",
    "DCGANDiscriminator",
    "EdgeGenerator",
    "InpaintGenerator",
    "PatchDiscriminator",
    "ResnetBlock",
    "ResnetGenerator",
    "StridedCritic",
    "UNet",
    "WGANCritic",
    "WarpPredictor",
    "init_weights",
    "load_vgg19",
    "make_activation",
    "make_norm",
]
