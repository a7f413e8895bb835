"""Attention layers: SE, competitive SE (CMPE-SE) and Inner-Imaging (InI), and their factory."""
from .g_filters import (GFilter, GFILTER_SETS, parse_g_filters, set_names, plan_inner_imaging,
                        InnerImagingPlan, closest_divisor)
from .channel_attention import (squeeze, ChannelEncoder, ChannelAttention, SqueezeExcite,
                                DoubleFCSqueezeExcite)
from .inner_imaging import (inner_imaged_map, average_filters, group_signals, GFilterBank,
                            InnerImaging)
from .create_attn import AttnSpec, parse_attn, attn_name, create_attn, plan_attn, CMPE_SE_MODES
from .spatial import SpatialAttention
