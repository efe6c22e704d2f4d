"""The course's models: how parameters are shared between tasks.

=====================  ==========================================================
``build_single_task``  one network per task (the baseline)
``build_hard_sharing`` shared bottom + one head per task (and the seed's
                       ``MultiTaskModel``)
``build_soft_sharing`` one tower per task + β Σ d(θ_i, θ_j)
``build_cross_stitch`` towers mixed by learned α after every layer
``build_mmoe``         experts shared by all tasks, one softmax gate per task
``build_ple``          shared and task-specific experts over progressive levels
``build_esmm``         pCTCVR = pCTR × pCVR for the click → purchase funnel
=====================  ==========================================================

Every builder returns a compiled ``MultiTaskNet``; how the task losses are balanced is the
separate ``mtl_kit.weighting`` half.
"""

from mtl_kit.models.base import MultiTaskNet
from mtl_kit.models.esmm import ESMMNet, build_esmm
from mtl_kit.models.feature import (
    CrossStitch,
    CrossStitchNet,
    MMoENet,
    PLENet,
    build_cross_stitch,
    build_mmoe,
    build_ple,
)
from mtl_kit.models.hard import HardSharingNet, MultiTaskModel, build_hard_sharing
from mtl_kit.models.layers import FeatureEncoder
from mtl_kit.models.single import SingleTaskNet, build_single_task
from mtl_kit.models.soft import SoftSharingNet, build_soft_sharing

__all__ = [
    "CrossStitch",
    "CrossStitchNet",
    "ESMMNet",
    "FeatureEncoder",
    "HardSharingNet",
    "MMoENet",
    "MultiTaskModel",
    "MultiTaskNet",
    "PLENet",
    "SingleTaskNet",
    "SoftSharingNet",
    "build_cross_stitch",
    "build_esmm",
    "build_hard_sharing",
    "build_mmoe",
    "build_ple",
    "build_single_task",
    "build_soft_sharing",
]
