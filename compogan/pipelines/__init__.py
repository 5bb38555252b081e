"""Task APIs used by the command line, the web page and Python users."""

from compogan.pipelines.compose import CompositionResult, Compositor
from compogan.pipelines.inpaint import Inpainter, InpaintResult
from compogan.pipelines.translate import Translator

__all__ = ["CompositionResult", "Compositor", "InpaintResult", "Inpainter", "Translator"]
