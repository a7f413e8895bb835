"""One factory for every channel-attention layer a residual block can take.

``create_attn(attn, channels, width, map_cols)`` builds the layer named by ``attn`` -- a string
such as ``'se'``, ``'cmpe_se_3x3'``, ``'ini_mix5d'``, ``'ini_square1_nojoint'``, or an
:class:`AttnSpec` -- for a block whose residual output has ``channels`` channels.  ``None``
means no attention (the plain backbone).
"""
import re
from collections import namedtuple

from mxnet.gluon.nn import BatchNorm

from .channel_attention import SqueezeExcite, DoubleFCSqueezeExcite, reduced
from .g_filters import GFilter, parse_g_filters, plan_inner_imaging, LAYOUTS, AGGREGATIONS
from .inner_imaging import InnerImaging
from .spatial import SpatialAttention

__all__ = ['AttnSpec', 'parse_attn', 'attn_name', 'create_attn', 'plan_attn', 'CMPE_SE_MODES']

# CMPE-SE pair-view modes as Inner-Imaging configurations: (layout, G-filter)
CMPE_SE_MODES = {
    'doublefc': None,                          # CMPE-SE eq. 7-9: its own layer
    '1x1': ('stack', GFilter(1, 1, 1)),        # CMPE-SE eq. 13-14
    '2x1': ('stack', GFilter(2, 1, 1)),        # CMPE-SE eq. 10-12
    '3x3': ('alt', GFilter(3, 3, 1)),          # CMPE-SE eq. 15-16
}
DEFAULT_G_FILTERS = 'mix5d'


class AttnSpec(namedtuple('AttnSpec', ['kind', 'g_filters', 'joint', 'aggregation', 'layout',
                                       'reduction', 'map_cols', 'spatial'])):
    """What attention a block takes.

    kind : ``'se'``, ``'cmpe_se_<mode>'`` (mode in doublefc, 1x1, 2x1, 3x3) or ``'ini'``.
    g_filters : set name or list of shapes (``'ini'`` only).
    joint : bool -- model the identity with the residual (``False``: the ``*`` rows).
    aggregation : ``'sum'`` or ``'concat'``.
    layout : ``None`` (the paper's choice) or ``'fold'``, ``'stack'``, ``'alt'``.
    reduction : ``t``.
    map_cols : ``None`` (the backbone's rule) or an exact column count for every block.
    spatial : τ, the number of spatial attention maps applied first (0: none; Table V).
    """
    __slots__ = ()

    def __new__(cls, kind, g_filters=None, joint=True, aggregation='sum', layout=None,
                reduction=16, map_cols=None, spatial=0):
        return super(AttnSpec, cls).__new__(cls, kind, g_filters, joint, aggregation, layout,
                                            reduction, map_cols, spatial)


_ATTN_RE = re.compile(r'^(?:(se)|cmpe_se_(doublefc|1x1|2x1|3x3)|'
                      r'ini(?:_(?!nojoint|concat|spa)([a-z0-9]+))?(_nojoint)?(_concat)?)'
                      r'(?:_spa(\d*))?$')


def parse_attn(attn, **overrides):
    """An :class:`AttnSpec` from a name (``'se'``, ``'cmpe_se_1x1'``, ``'ini'``, ``'ini_mix5d'``,
    ``'ini_square3d_nojoint_concat'``) or a spec; ``overrides`` replace its fields.
    ``None`` / ``'none'`` give ``None``."""
    if attn is None or attn == 'none':
        return None
    if isinstance(attn, str):
        match = _ATTN_RE.match(attn)
        if not match:
            raise ValueError("unknown attention %r: expected 'se', 'cmpe_se_doublefc', "
                             "'cmpe_se_1x1', 'cmpe_se_2x1', 'cmpe_se_3x3' or 'ini[_<G-filter set>]"
                             "[_nojoint][_concat]'" % (attn,))
        se, mode, g_set, nojoint, concat, spa = match.groups()
        spatial = 0 if spa is None else int(spa or 1)
        if se:
            spec = AttnSpec('se', spatial=spatial)
        elif mode:
            spec = AttnSpec('cmpe_se_' + mode, spatial=spatial)
        else:
            spec = AttnSpec('ini', g_set or DEFAULT_G_FILTERS, joint=not nojoint,
                            aggregation='concat' if concat else 'sum', spatial=spatial)
    elif isinstance(attn, AttnSpec):
        spec = attn
    else:
        raise ValueError('attention must be a name, an AttnSpec or None, not %r' % (attn,))
    spec = spec._replace(**overrides) if overrides else spec
    _check(spec)
    return spec


def _check(spec):
    valid = ('se', 'ini') + tuple('cmpe_se_' + m for m in CMPE_SE_MODES)
    if spec.kind not in valid:
        raise ValueError('unknown attention kind %r: expected one of %s'
                         % (spec.kind, ', '.join(valid)))
    if spec.aggregation not in AGGREGATIONS:
        raise ValueError('unknown G-filter aggregation %r: expected one of %s'
                         % (spec.aggregation, ', '.join(AGGREGATIONS)))
    if spec.layout is not None and spec.layout not in LAYOUTS:
        raise ValueError('unknown inner-imaged map layout %r: expected one of %s'
                         % (spec.layout, ', '.join(LAYOUTS)))
    if not (isinstance(spec.spatial, int) and spec.spatial >= 0):
        raise ValueError('spatial (the number of spatial maps) must be an integer >= 0, not %r'
                         % (spec.spatial,))
    if not (isinstance(spec.reduction, int) and spec.reduction >= 1):
        raise ValueError('reduction ratio t must be a positive integer, not %r'
                         % (spec.reduction,))
    if spec.map_cols is not None and not (isinstance(spec.map_cols, int)
                                          and spec.map_cols >= 1):
        raise ValueError('map_cols must be a positive integer, not %r' % (spec.map_cols,))
    if spec.kind != 'ini':
        ini_only = [f for f, v in (('g_filters', spec.g_filters), ('layout', spec.layout),
                                   ('joint', not spec.joint),
                                   ('aggregation', spec.aggregation != 'sum')) if v]
        if spec.kind in ('se', 'cmpe_se_doublefc') and spec.map_cols is not None:
            ini_only.append('map_cols')
        if ini_only:
            raise ValueError('%s takes no %s: these options shape an inner-imaged map of '
                             'ini models' % (spec.kind, ', '.join(ini_only)))
    if spec.kind == 'ini':
        g_filters = parse_g_filters(spec.g_filters)
        layout = _ini_layout(spec, g_filters)
        if layout == 'fold' and spec.joint and spec.layout is not None:
            raise ValueError("layout 'fold' holds the residual signal alone: it needs joint=False")
        if layout != 'fold' and not spec.joint:
            raise ValueError("the %s layout holds the identity signal; without joint modelling "
                             "(_nojoint) only 'fold' applies" % layout)


def _ini_layout(spec, g_filters):
    """The paper's layout: ``stack`` for the simple-* sets (eq. 19), ``alt`` for joint
    modelling (eq. 24), ``fold`` without it (eq. 4)."""
    if spec.layout is not None:
        return spec.layout
    if isinstance(spec.g_filters, str) and spec.g_filters.startswith('simple'):
        return 'stack'
    return 'alt' if spec.joint else 'fold'


def attn_name(spec):
    """The name part of a spec, as used in model names (``'se'``, ``'ini_mix5d_concat'``)."""
    if spec is None:
        return ''
    spa = '' if not spec.spatial else '_spa' if spec.spatial == 1 else '_spa%d' % spec.spatial
    if spec.kind != 'ini':
        return spec.kind + spa
    g = spec.g_filters if isinstance(spec.g_filters, str) else 'custom'
    return 'ini_%s%s%s%s' % (g, '' if spec.joint else '_nojoint',
                             '_concat' if spec.aggregation == 'concat' else '', spa)


def _ini_args(spec, channels, map_cols):
    """Arguments of :class:`InnerImaging` (or ``None`` for SE / double FC)."""
    if spec.kind.startswith('cmpe_se_'):
        mode = CMPE_SE_MODES[spec.kind[len('cmpe_se_'):]]
        if mode is None:
            return None
        layout, g_filters = mode[0], (mode[1],)
    elif spec.kind == 'ini':
        g_filters = parse_g_filters(spec.g_filters)
        layout = _ini_layout(spec, g_filters)
    else:
        return None
    exact = spec.map_cols is not None
    return dict(g_filters=g_filters, layout=layout, aggregation=spec.aggregation,
                map_cols=spec.map_cols if exact else map_cols, exact_cols=exact)


def plan_attn(attn, channels, map_cols):
    """The :class:`~ini_gluon.layers.g_filters.InnerImagingPlan` of the layer ``create_attn``
    would build (``None`` for no attention, SE and double FC); raises ``ValueError`` where it
    could not be built."""
    spec = parse_attn(attn)
    if spec is not None and spec.spatial and channels % spec.spatial:
        raise ValueError('%d spatial maps need C divisible by %d' % (spec.spatial, spec.spatial))
    args = None if spec is None else _ini_args(spec, channels, map_cols)
    if args is None:
        return None
    return plan_inner_imaging(channels, args['g_filters'], args['layout'], args['map_cols'],
                              args['aggregation'], exact=args['exact_cols'])


def create_attn(attn, channels, width=None, map_cols=16, norm_layer=BatchNorm, norm_kwargs=None,
                **kwargs):
    """Build the attention layer for a block.

    Parameters
    ----------
    attn : str, AttnSpec or None
    channels : int
        ``C``, width of the residual output.
    width : int, optional
        The block's width (the bottleneck width in bottleneck blocks); ε = width // t.
        Defaults to ``channels``.
    map_cols : float
        The backbone's column count for the inner-imaged map (paper Section V-B).
    norm_layer, norm_kwargs
        Normalisation after the G-filters.

    Returns
    -------
    ChannelAttention or None
    """
    spec = parse_attn(attn)
    if spec is None:
        return None
    if spec.kind == 'se':
        layer = SqueezeExcite(channels, spec.reduction, **kwargs)
    elif spec.kind == 'cmpe_se_doublefc':
        layer = DoubleFCSqueezeExcite(channels, spec.reduction, **kwargs)
    else:
        args = _ini_args(spec, channels, map_cols)
        num_filters = reduced(channels if width is None else width, spec.reduction)
        layer = InnerImaging(channels, num_filters, reduction=spec.reduction,
                             norm_layer=norm_layer, norm_kwargs=norm_kwargs,
                             kind=attn_name(spec), **dict(args, **kwargs))
    if spec.spatial:
        layer.add_spatial(SpatialAttention(channels, spec.spatial, norm_layer=norm_layer,
                                           norm_kwargs=norm_kwargs))
    return layer
