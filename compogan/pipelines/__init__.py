"""Task APIs used by the command line, the web page and Python users (see :mod:`.base`)."""

from compogan.pipelines.base import PORT_KINDS, Pipeline, PipelineResult, Port, progress_bar
from compogan.pipelines.compose import CompositionResult, Compositor
from compogan.pipelines.cutpaste import CutPaster
from compogan.pipelines.inpaint import Inpainter, InpaintResult
from compogan.pipelines.repose import Reposer, ReposeResult
from compogan.pipelines.retarget import Retargeter, RetargetResult
from compogan.pipelines.translate import TranslationResult, Translator

PIPELINES: dict[str, type[Pipeline]] = {
    pipeline.task: pipeline
    for pipeline in (Translator, Inpainter, Compositor, CutPaster, Retargeter, Reposer)
}
"""Every pipeline by the task it serves."""

__all__ = [
    "PIPELINES",
    "PORT_KINDS",
    "CompositionResult",
    "Compositor",
    "InpaintResult",
    "Inpainter",
    "Pipeline",
    "PipelineResult",
    "Port",
    "ReposeResult",
    "Reposer",
    "RetargetResult",
    "Retargeter",
    "TranslationResult",
    "Translator",
    "progress_bar",
]
