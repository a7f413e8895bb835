"""The Inner-Imaging (InI) attention module.

Hu et al., "Inner-Imaging Networks: Put Lenses into Convolutional Structure" (InI paper), and
its earlier version "Competitive Inner-Imaging Squeeze and Excitation for Residual Network"
(CMPE-SE paper).  The squeezed channel signals are laid out as a 2-D *inner-imaged map*, scanned
by G-filters whose receptive fields group channels, and the averaged group signals are encoded
into channel attention:

1. squeeze ``U`` (and the identity ``X``) by global average pooling          (eq. 2, eq. 17)
2. lay the signals out: ``fold`` (eq. 4), ``stack`` (eq. 19), ``alt`` (eq. 24)
3. each G-filter shape: ε valid convolutions + BatchNorm, averaged over ε      (eq. 5-7, 9)
4. aggregate the shapes into the grouping map and flatten it to ``C^g`` signals (eq. 10-12)
5. encode: ``s = sigmoid(w2 . ReLU(w1 . v))``                                  (eq. 13-14)
6. rescale: ``s o U``                                                          (eq. 15, eq. 27)

The CMPE-SE pair-view modes are the same module with one G-filter: ``1x1`` and ``2x1`` on the
stacked map (CMPE-SE eq. 10-14), ``3x3`` on the alternating fold (CMPE-SE eq. 15-16).
"""
import re

from mxnet.gluon import nn
from mxnet.gluon.nn import BatchNorm
from mxnet.gluon.block import HybridBlock

from .attn_options import (AttnOption, NameSuffix, flag_suffix, choice_suffix, REDUCTION,
                           MAP_COLS, SPATIAL)
from .channel_attention import ChannelAttention, ChannelEncoder, reduced
from .create_attn import AttnType, register_attention
from .formulation import in_use
from .g_filters import (GFilter, parse_g_filters, plan_inner_imaging, set_names, shapes_word,
                        SHAPES_RE, LAYOUTS, AGGREGATIONS)

__all__ = ['inner_imaged_map', 'group_signals', 'GFilterBank', 'InnerImaging']


def inner_imaged_map(F, u_hat, x_hat, layout, map_shape):
    """Lay the squeezed signals out as a one-channel image ``(N, 1, rows, cols)``.

    Parameters
    ----------
    u_hat, x_hat : NDArray or Symbol, ``(N, C, 1, 1)``
        Squeezed residual and identity signals (``x_hat`` is unused by ``fold``).
    layout : {'fold', 'stack', 'alt'}
        ``fold``  (eq. 4):  ``u_hat`` row-major, ``rows * cols = C``;
        ``stack`` (eq. 19): ``[u_hat; x_hat]``, ``2 x C``;
        ``alt``   (eq. 24, CMPE-SE eq. 15): row ``2i`` holds residual channels
        ``[i*cols, (i+1)*cols)``, row ``2i+1`` the identity channels of the same range,
        ``rows * cols = 2C``.
    map_shape : (int, int)
    """
    rows, cols = map_shape
    if layout == 'fold':  # eq. 4
        return F.reshape(u_hat, shape=(0, 1, rows, cols))
    if layout == 'stack':  # eq. 19
        return F.concat(F.reshape(u_hat, shape=(0, 1, 1, -1)),
                        F.reshape(x_hat, shape=(0, 1, 1, -1)), dim=2)
    # eq. 24: (N, rows/2, 1, cols) residual and identity row blocks, interleaved row by row
    pairs = rows // 2
    u_rows = F.reshape(u_hat, shape=(0, pairs, 1, cols))
    x_rows = F.reshape(x_hat, shape=(0, pairs, 1, cols))
    return F.reshape(F.concat(u_rows, x_rows, dim=2), shape=(0, 1, rows, cols))


def _zero_fill(F, y, extra_rows, extra_cols):
    """Pad ``(N, 1, n, m)`` with zeros below and to the right."""
    if not (extra_rows or extra_cols):
        return y
    return F.pad(y, mode='constant', constant_value=0,
                 pad_width=(0, 0, 0, 0, 0, extra_rows, 0, extra_cols))


def group_signals(F, maps, shapes, group_shape, aggregation):
    """Aggregate the per-shape grouping maps ``v'_j`` into one map (eq. 10-12).

    ``sum``: every map zero-filled to ``n_max x m_max`` and averaged over the shapes;
    ``concat``: zero-padded to ``n_max`` rows and concatenated along the columns (eq. 11
    literally, ``m_{1:p} = sum_j m_j``).
    """
    n_max, m_max = group_shape
    if aggregation == 'sum':
        filled = [_zero_fill(F, y, n_max - n, m_max - m) for y, (n, m) in zip(maps, shapes)]
        return filled[0] if len(filled) == 1 else F.add_n(*filled) / len(filled)
    padded = [_zero_fill(F, y, n_max - n, 0) for y, (n, _) in zip(maps, shapes)]
    return padded[0] if len(padded) == 1 else F.concat(*padded, dim=3)


class GFilterBank(HybridBlock):
    r"""ε G-filters of one shape: valid convolution + BatchNorm, averaged over ε (eq. 5-7).

    ``(N, 1, rows, cols) -> (N, 1, n, m)`` with ``n = rows - (a-1)d``, ``m = cols - (b-1)d``.

    Parameters
    ----------
    g_filter : GFilter
    num_filters : int
        ε, the number of G-filters of this shape.
    norm_layer, norm_kwargs
        Normalisation after the G-filters (BatchNorm over the ε filter maps).
    """

    def __init__(self, g_filter, num_filters, norm_layer=BatchNorm, norm_kwargs=None, **kwargs):
        super(GFilterBank, self).__init__(**kwargs)
        self._num_filters = num_filters
        with self.name_scope():
            self.conv = nn.Conv2D(num_filters, kernel_size=(g_filter.rows, g_filter.cols),
                                  dilation=(g_filter.dilation, g_filter.dilation),
                                  use_bias=False, in_channels=1)
            self.bn = norm_layer(in_channels=num_filters, **({} if norm_kwargs is None
                                                                else norm_kwargs))

    def hybrid_forward(self, F, v):
        f = in_use(F, self, v)                                   # forced, else by device
        return f.average_filters(F, self.bn(self.conv(v)), self._num_filters)  # eq. 5-7


class InnerImaging(ChannelAttention):
    r"""Inner-Imaging channel attention (InI paper Section III; CMPE-SE pair-view modes).

    Parameters
    ----------
    channels : int
        ``C``, width of the residual output ``U``.
    num_filters : int
        ε, the number of G-filters of each shape (the block width // t in the original code).
    g_filters : tuple of GFilter
        The set (see :func:`ini_gluon.layers.parse_g_filters`); shapes whose receptive field
        exceeds the map are discarded (Section V-B).
    layout : {'alt', 'fold', 'stack'}, default 'alt'
        How the signals are laid out (:func:`inner_imaged_map`).  ``fold`` uses ``U`` alone.
    map_cols : float, default 16
        Column count of the map (the divisor of ``C`` closest to it, unless ``exact_cols``).
    aggregation : {'sum', 'concat'}, default 'sum'
        How the shapes' grouping maps are combined (:func:`group_signals`).
    reduction : int, default 16
        ``t`` of the encoder.
    exact_cols : bool, default False
        Require ``map_cols`` to divide ``C``.
    norm_layer, norm_kwargs
        Normalisation after the G-filters.
    kind : str, default 'ini'
        Label for the model summary.
    """

    def __init__(self, channels, num_filters, g_filters, layout='alt', map_cols=16,
                 aggregation='sum', reduction=16, exact_cols=False, norm_layer=BatchNorm,
                 norm_kwargs=None, kind='ini', **kwargs):
        super(InnerImaging, self).__init__(**kwargs)
        self.plan = plan_inner_imaging(channels, g_filters, layout, map_cols, aggregation,
                                       exact=exact_cols)
        self.uses_identity = layout != 'fold'
        self._kind = kind
        self._num_filters = num_filters
        with self.name_scope():
            self.g_filters = nn.HybridSequential(prefix='g_')
            with self.g_filters.name_scope():
                for g, _ in self.plan.kept:
                    self.g_filters.add(GFilterBank(g, num_filters, norm_layer, norm_kwargs))
            self.encoder = ChannelEncoder(channels, self.plan.group_signals, reduction)

    def scale_pieces(self, F, u_hat, x_hat):
        """``inner_imaged_map`` ``(N, 1, rows, cols)``, ``grouping_maps`` (one ``(N, 1, n, m)``
        per kept G-filter shape), ``group_signals`` (their aggregate) and ``attention``."""
        plan = self.plan
        v_f = inner_imaged_map(F, u_hat, x_hat, plan.layout, plan.map_shape)
        maps = [bank(v_f) for bank in self.g_filters]  # eq. 9
        grouped = group_signals(F, maps, [s for _, s in plan.kept], plan.group_shape,
                                plan.aggregation)
        return {'inner_imaged_map': v_f, 'grouping_maps': maps, 'group_signals': grouped,
                'attention': self.encoder(grouped)}  # Dense flattens row-major: eq. 8 / 12

    def scale(self, F, u_hat, x_hat):
        return self.scale_pieces(F, u_hat, x_hat)['attention']

    def describe(self):
        plan = self.plan
        return {'kind': self._kind, 'layout': plan.layout, 'map_shape': plan.map_shape,
                'kept': [(str(g), s) for g, s in plan.kept],
                'discarded': [str(g) for g in plan.discarded],
                'num_filters': self._num_filters, 'aggregation': plan.aggregation,
                'group_signals': plan.group_signals}


# Registration: Inner-Imaging (any G-filter set, layout, aggregation) and the CMPE-SE pair-view
# modes, which are Inner-Imaging configurations with one G-filter
DEFAULT_G_FILTERS = 'mix5d'
CMPE_SE_PAIR_VIEWS = {
    '1x1': ('stack', GFilter(1, 1, 1)),        # CMPE-SE eq. 13-14
    '2x1': ('stack', GFilter(2, 1, 1)),        # CMPE-SE eq. 10-12
    '3x3': ('alt', GFilter(3, 3, 1)),          # CMPE-SE eq. 15-16
}


def ini_layout(spec):
    """The layout of an ``ini`` spec: as given, else the paper's -- ``stack`` for the simple-*
    sets (eq. 19), ``alt`` for joint modelling (eq. 24), ``fold`` without it (eq. 4)."""
    if spec.layout is not None:
        return spec.layout
    if _simple(spec.g_filters):
        return 'stack'
    return 'alt' if spec.joint else 'fold'


def _simple(g_filters):
    return isinstance(g_filters, str) and g_filters.startswith('simple')


def _configuration(spec, block):
    """``(layout, G-filters, aggregation)`` of an ``ini`` or pair-view spec in ``block``.  Where
    the block has no identity flow (All-CNN), the ``ini`` map is the residual signal's fold
    (eq. 4)."""
    if spec.kind == 'ini':
        if block.identity:
            if spec.layout == 'fold' and spec.joint:
                raise ValueError("layout 'fold' holds the residual signal alone: it needs "
                                 "joint=False")
            return ini_layout(spec), parse_g_filters(spec.g_filters), spec.aggregation
        if not spec.joint:
            raise ValueError('_nojoint leaves out an identity this block does not have: the '
                             'ini model without it is the same')
        layout = spec.layout or ('stack' if _simple(spec.g_filters) else 'fold')
        if layout != 'fold':
            raise ValueError("the %s layout holds the identity signal, and this block has no "
                             "identity flow: only 'fold' applies" % layout)
        return 'fold', parse_g_filters(spec.g_filters), spec.aggregation
    if not block.identity:
        raise ValueError('%s lays the identity out with the residual, and this block has no '
                         'identity flow' % spec.kind)
    layout, g_filter = CMPE_SE_PAIR_VIEWS[spec.kind[len('cmpe_se_'):]]
    return layout, (g_filter,), 'sum'


def _plan(spec, block):
    layout, g_filters, aggregation = _configuration(spec, block)
    exact = spec.map_cols is not None
    return plan_inner_imaging(block.channels, g_filters, layout,
                              spec.map_cols if exact else block.map_cols, aggregation,
                              exact=exact)


def _build(spec, block, norm_layer, norm_kwargs):
    layout, g_filters, aggregation = _configuration(spec, block)
    exact = spec.map_cols is not None
    return InnerImaging(block.channels, reduced(block.width, spec.reduction), g_filters,
                        layout=layout,
                        map_cols=spec.map_cols if exact else block.map_cols,
                        aggregation=aggregation, reduction=spec.reduction,
                        exact_cols=exact, norm_layer=norm_layer, norm_kwargs=norm_kwargs,
                        kind=spec.name)


def _check(spec):
    """The options of an ``ini`` spec go together: a layout that holds the identity needs
    joint modelling."""
    if ini_layout(spec) != 'fold' and not spec.joint:
        raise ValueError("the %s layout holds the identity signal; without joint modelling "
                         "(_nojoint) only 'fold' applies" % ini_layout(spec))


# The options of ini: the G-filter set (a name of Table I, or shapes), joint modelling, the
# aggregation, the layout; and the shared t, M, τ.  A model name spells each that is not the
# default after the backbone, in this order: ini_wrn28_10_mix5d_nojoint_concat_fold_t8_m8_spa4.
def _g_filters(value):
    """A set name, normalised (``'MIX-5-d'`` -> ``'mix5d'``), or shapes as a tuple of
    ``(rows, cols, dilation)``; checked."""
    shapes = parse_g_filters(value)
    if isinstance(value, str) and not re.fullmatch(SHAPES_RE, value):
        return value.replace('-', '').replace('_', '').lower()
    return tuple(tuple(g) for g in shapes)


def _g_filters_word(value):
    return value if isinstance(value, str) else shapes_word(value)


def _joint(value):
    if not isinstance(value, bool):
        raise ValueError('joint must be True or False, not %r' % (value,))
    return value


def _aggregation(value):
    if value not in AGGREGATIONS:
        raise ValueError('unknown G-filter aggregation %r: expected one of %s'
                         % (value, ', '.join(AGGREGATIONS)))
    return value


def _layout(value):
    if value is not None and value not in LAYOUTS:
        raise ValueError('unknown inner-imaged map layout %r: expected one of %s'
                         % (value, ', '.join(LAYOUTS)))
    return value


G_FILTERS = AttnOption(
    'g_filters', DEFAULT_G_FILTERS, _g_filters,
    NameSuffix('[a-z0-9]+|' + SHAPES_RE, lambda m: m.group(0), _g_filters_word,
               '<G-filter set>'), 'a G-filter set', required=True)
JOINT = AttnOption('joint', True, _joint, flag_suffix('nojoint', False), 'joint modelling')
AGGREGATION = AttnOption('aggregation', 'sum', _aggregation, flag_suffix('concat', 'concat'),
                         "the G-filter maps' aggregation")
LAYOUT = AttnOption('layout', None, _layout, choice_suffix(LAYOUTS),
                    "the inner-imaged map's layout")


def _ini_variants():
    """The variants of every backbone that :func:`~ini_gluon.list_models` lists: each set of
    Table I, with ``_nojoint`` and ``_concat`` where they apply; mix-5-d with the spatial maps
    of Table V."""
    for g_set in set_names():
        yield {'g_filters': g_set}
        if not g_set.startswith('simple'):
            yield {'g_filters': g_set, 'joint': False}
        if len(parse_g_filters(g_set)) > 1:
            yield {'g_filters': g_set, 'aggregation': 'concat'}
            if not g_set.startswith('simple'):
                yield {'g_filters': g_set, 'joint': False, 'aggregation': 'concat'}
    for spatial in (1, 4):
        yield {'g_filters': 'mix5d', 'spatial': spatial}


register_attention(AttnType(
    'ini', _build, _plan,
    options=(G_FILTERS, JOINT, AGGREGATION, LAYOUT, REDUCTION, MAP_COLS, SPATIAL),
    variants=tuple(_ini_variants()), check=_check))
for _mode in CMPE_SE_PAIR_VIEWS:
    register_attention(AttnType('cmpe_se_' + _mode, _build, _plan,
                                options=(REDUCTION, MAP_COLS, SPATIAL), paper='cmpe-se'))
