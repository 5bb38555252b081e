"""Network building blocks shared by the compogan models."""

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
    "init_weights",
    "load_vgg19",
    "make_activation",
    "make_norm",
]
