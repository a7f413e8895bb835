"""Attention layers: SE, competitive SE (CMPE-SE), Inner-Imaging (InI), CBAM, and their factory;
the formulations of their arithmetic (:mod:`ini_gluon.layers.formulation`).

Every module of this package is imported here, so that a new attention module's
``register_attention`` call runs: adding an attention is one file (README, "Adding an
attention").
"""
import importlib
import pkgutil

from .g_filters import (GFilter, GFILTER_SETS, parse_g_filters, set_names, plan_inner_imaging,
                        InnerImagingPlan, closest_divisor)
from .attn_options import (AttnOption, NameSuffix, integer_suffix, flag_suffix, choice_suffix,
                           REDUCTION, MAP_COLS, SPATIAL)
from .create_attn import (AttnSpec, AttnType, BlockShape, register_attention, attention_types,
                          attention_options, parse_attn, attn_name, create_attn, plan_attn)
from .formulation import Formulation, squeeze, average_filters, portable_graph
from .channel_attention import (ChannelEncoder, ChannelAttention, SqueezeExcite,
                                DoubleFCSqueezeExcite)
from .inner_imaging import inner_imaged_map, group_signals, GFilterBank, InnerImaging
from .spatial import SpatialAttention
from .cbam import CBAM

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module('%s.%s' % (__name__, _module.name))

__all__ = ['GFilter', 'GFILTER_SETS', 'parse_g_filters', 'set_names', 'plan_inner_imaging',
           'InnerImagingPlan', 'closest_divisor', 'AttnOption', 'NameSuffix', 'integer_suffix',
           'flag_suffix', 'choice_suffix', 'REDUCTION', 'MAP_COLS', 'SPATIAL', 'AttnSpec',
           'AttnType', 'BlockShape', 'register_attention', 'attention_types',
           'attention_options', 'parse_attn', 'attn_name', 'create_attn', 'plan_attn',
           'Formulation', 'squeeze', 'average_filters', 'portable_graph', 'ChannelEncoder',
           'ChannelAttention', 'SqueezeExcite', 'DoubleFCSqueezeExcite', 'inner_imaged_map',
           'group_signals', 'GFilterBank', 'InnerImaging', 'SpatialAttention', 'CBAM']
