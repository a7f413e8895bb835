"""One registry and one factory for every attention layer a block can take (timm's
``create_attn`` in Gluon).

An attention is named once and parsed once into an :class:`AttnSpec`; everything after works on
the spec.  Each attention type registers an :class:`AttnType`: how to build its layer for a
block, and optionally a pure-Python plan that says whether (and how) it fits a block of ``C``
channels before any network is built.  Adding an attention is one new module with one
:func:`register_attention` call (the package imports every module of ``ini_gluon.layers``).

Names: ``<kind>[<suffix>][_spa<τ>]`` -- ``'se'``, ``'cbam'``, ``'cmpe_se_3x3'``,
``'ini_mix5d'``, ``'ini_square1_nojoint'``, ``'se_spa4'``; in a model name the suffix follows
the backbone (``ini_wrn28_10_mix5d``).
"""
import re
from collections import namedtuple

from mxnet.gluon.nn import BatchNorm

__all__ = ['AttnSpec', 'AttnType', 'NameSuffix', 'BlockShape', 'register_attention',
           'attention_types', 'parse_attn', 'attn_name', 'split_spatial', 'create_attn',
           'plan_attn']


class AttnSpec(namedtuple('AttnSpec', ['kind', 'g_filters', 'joint', 'aggregation', 'layout',
                                       'reduction', 'map_cols', 'spatial'])):
    """What attention a block takes: immutable, hashable, comparable.

    kind : a registered type (``'se'``, ``'cbam'``, ``'cmpe_se_<mode>'``, ``'ini'``, ...).
    g_filters : set name or list of shapes (``'ini'`` only).
    joint : bool -- model the identity with the residual (``False``: the ``*`` rows).
    aggregation : ``'sum'`` or ``'concat'``.
    layout : ``None`` (the paper's choice) or ``'fold'``, ``'stack'``, ``'alt'``.
    reduction : ``t``.
    map_cols : ``None`` (the backbone's rule) or an exact column count for every block.
    spatial : τ, the number of spatial attention maps applied first (0: none; Table V).

    A type accepts only the fields it lists in :attr:`AttnType.options`; the others keep their
    defaults.
    """
    __slots__ = ()

    def __new__(cls, kind, g_filters=None, joint=True, aggregation='sum', layout=None,
                reduction=16, map_cols=None, spatial=0):
        return super(AttnSpec, cls).__new__(cls, kind, g_filters, joint, aggregation, layout,
                                            reduction, map_cols, spatial)

    @property
    def type(self):
        """The registered :class:`AttnType` of ``kind``."""
        return _TYPES[self.kind]

    @property
    def name(self):
        """The spec's name (``'ini_mix5d_concat'``); see :func:`attn_name`."""
        return attn_name(self)

    def layer(self, channels, width=None, map_cols=16, **kwargs):
        """The layer for a block of ``channels`` output channels (timm's ``attn_layer``);
        :func:`create_attn` with this spec."""
        return create_attn(self, channels, width, map_cols, **kwargs)

    def plan(self, channels, map_cols=16, identity=True):
        """The pure-Python plan of :meth:`layer` (``None`` for types without one); raises
        ``ValueError`` where the layer cannot be built."""
        return plan_attn(self, channels, map_cols, identity)


_DEFAULTS = AttnSpec('-')._asdict()


class BlockShape(namedtuple('BlockShape', ['label', 'channels', 'width', 'map_cols',
                                           'identity'])):
    """The block an attention layer is built for: ``channels`` = ``C`` of its output,
    ``width`` its (bottleneck) width, which sets ε = width // t; ``map_cols`` the backbone's
    column count of an inner-imaged map (InI Section V-B); ``identity`` whether the block has
    an identity flow to model (All-CNN has none).  Backbones register one per block."""
    __slots__ = ()

    def __new__(cls, label, channels, width=None, map_cols=16, identity=True):
        return super(BlockShape, cls).__new__(cls, label, channels,
                                              channels if width is None else width, map_cols,
                                              identity)

AttnType = namedtuple('AttnType', ['kind', 'build', 'plan', 'options', 'suffix', 'variants',
                                   'check'], defaults=(None, (), None, ({},), None))
AttnType.__doc__ = """A registered attention type.

kind : str -- the name prefix (``'se'``).
build : ``build(spec, block, norm_layer, norm_kwargs)`` -> the layer, a
    :class:`~ini_gluon.layers.channel_attention.ChannelAttention`, for the block described by
    the :class:`BlockShape` ``block``.
plan : ``plan(spec, block)`` -> a pure-Python plan (``InnerImagingPlan``) or ``None``; raises
    ``ValueError`` where the layer cannot be built for ``block``.  ``None``: fits any block.
options : the :class:`AttnSpec` fields besides ``kind`` the type takes.
suffix : ``None``, or a :class:`NameSuffix`: the part of a name after the kind (after the
    backbone in a model name).
variants : the ``{field: value}`` of each model :func:`~ini_gluon.list_models` lists.
check : ``check(spec)`` raising ``ValueError`` for an inconsistent spec, or ``None``.
"""

NameSuffix = namedtuple('NameSuffix', ['regex', 'model_regex', 'parse', 'format', 'what'])
NameSuffix.__doc__ = """The suffix of an attention's names: ``regex`` matches it in an attention
name (``'_mix5d_nojoint'`` of ``'ini_mix5d_nojoint'``, possibly empty), ``model_regex`` at the
end of a model name; ``parse(match or None) -> {field: value}``, ``format(spec) -> str``;
``what`` it names, for messages (``'a G-filter set'``)."""

_TYPES = {}


def register_attention(attn_type):
    """Register an :class:`AttnType` under its ``kind``; returns it."""
    if not re.match(r'^[a-z][a-z0-9]*(_[a-z0-9]+)*$', attn_type.kind):
        raise ValueError('attention kind %r: lowercase words joined by _' % (attn_type.kind,))
    unknown = set(attn_type.options) - set(_DEFAULTS) | ({'kind'} & set(attn_type.options))
    if unknown:
        raise ValueError('attention %r lists unknown options %s'
                         % (attn_type.kind, ', '.join(sorted(unknown))))
    _TYPES[attn_type.kind] = attn_type
    return attn_type


def attention_types():
    """The registered types, ``{kind: AttnType}``, longest kind first (how names are matched)."""
    return dict(sorted(_TYPES.items(), key=lambda kv: (-len(kv[0]), kv[0])))


_SPATIAL_RE = re.compile(r'_spa([1-9]\d*)?\Z')


def split_spatial(text):
    """``(text without '_spa<τ>', τ)``; τ = 0 where there is none, 1 for ``_spa``."""
    match = _SPATIAL_RE.search(text)
    if not match:
        return text, 0
    return text[:match.start()], int(match.group(1) or 1)


def match_kind(text):
    """``(AttnType, rest)`` for the longest registered kind ``text`` starts with (followed by
    ``_`` or the end), or ``(None, text)``."""
    for kind, attn_type in attention_types().items():
        if text == kind or text.startswith(kind + '_'):
            return attn_type, text[len(kind):]
    return None, text


def _expected():
    return ', '.join("'%s'" % k for k in sorted(_TYPES)) + ' (each optionally + _spa<τ>)'


def parse_attn(attn, **overrides):
    """An :class:`AttnSpec` from a name (``'se'``, ``'cmpe_se_1x1'``, ``'ini'``,
    ``'ini_mix5d'``, ``'ini_square3d_nojoint_concat'``, ``'se_spa4'``) or a spec; ``overrides``
    replace its fields.  ``None`` / ``'none'`` give ``None``.  Raises ``ValueError``."""
    if attn is None or attn == 'none':
        if overrides:
            raise ValueError('no attention takes no options (%s)' % ', '.join(sorted(overrides)))
        return None
    if isinstance(attn, str):
        spec = _parse_name(attn)
    elif isinstance(attn, AttnSpec):
        spec = attn
    else:
        raise ValueError('attention must be a name, an AttnSpec or None, not %r' % (attn,))
    spec = spec._replace(**overrides) if overrides else spec
    check(spec)
    return _normalised(spec)


def _normalised(spec):
    """The same spec with its G-filter set hashable and canonically named (``'MIX-5-d'`` ->
    ``'mix5d'``, a list of shapes -> a tuple of ``(rows, cols, dilation)``)."""
    g = spec.g_filters
    if isinstance(g, str):
        g = g.replace('-', '').replace('_', '').lower()
    elif g is not None:
        g = tuple(tuple(shape) + (1,) * (3 - len(shape)) for shape in g)
    return spec if g == spec.g_filters else spec._replace(g_filters=g)


def _parse_name(name):
    text, spatial = split_spatial(name)
    attn_type, rest = match_kind(text)
    if attn_type is None:
        raise ValueError('unknown attention %r: expected %s' % (name, _expected()))
    suffix = attn_type.suffix
    match = suffix and re.match('^(?:%s)$' % suffix.regex, rest)
    if rest and not match:
        raise ValueError('unknown attention %r: %s takes no %r' % (name, attn_type.kind, rest))
    fields = suffix.parse(match or None) if suffix else {}
    return AttnSpec(attn_type.kind, spatial=spatial, **fields)


def check(spec):
    """Raise ``ValueError`` unless ``spec`` is a consistent spec of a registered type."""
    if spec.kind not in _TYPES:
        raise ValueError('unknown attention kind %r: expected one of %s'
                         % (spec.kind, ', '.join(sorted(_TYPES))))
    attn_type = _TYPES[spec.kind]
    if not (_integer(spec.spatial) and spec.spatial >= 0):
        raise ValueError('spatial (the number of spatial maps) must be an integer >= 0, not %r'
                         % (spec.spatial,))
    if not (_integer(spec.reduction) and spec.reduction >= 1):
        raise ValueError('reduction ratio t must be a positive integer, not %r'
                         % (spec.reduction,))
    if spec.map_cols is not None and not (_integer(spec.map_cols) and spec.map_cols >= 1):
        raise ValueError('map_cols must be a positive integer, not %r' % (spec.map_cols,))
    if not isinstance(spec.joint, bool):
        raise ValueError('joint must be True or False, not %r' % (spec.joint,))
    foreign = [f for f, v in spec._asdict().items()
               if f != 'kind' and f not in attn_type.options and v != _DEFAULTS[f]]
    if foreign:
        raise ValueError('%s takes no %s: %s' % (spec.kind, ', '.join(foreign), _why(foreign)))
    if attn_type.check is not None:
        attn_type.check(spec)


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _why(fields):
    if fields == ['spatial']:
        return ('spatial maps before the channel attention (_spa<τ>) go with %s'
                % ', '.join(sorted(k for k, t in _TYPES.items() if 'spatial' in t.options)))
    return 'these options shape an inner-imaged map of ini models'


def attn_name(spec):
    """The name part of a spec, as used in model names (``'se'``, ``'ini_mix5d_concat'``); the
    empty string for ``None``."""
    if spec is None:
        return ''
    return spec.kind + suffix_name(spec) + spatial_name(spec)


def suffix_name(spec):
    """The suffix of ``spec``'s name (``'_mix5d_nojoint'``), empty for types without one."""
    attn_type = _TYPES[spec.kind]
    return attn_type.suffix.format(spec) if attn_type.suffix else ''


def spatial_name(spec):
    return '' if not spec.spatial else '_spa' if spec.spatial == 1 else '_spa%d' % spec.spatial


def plan_attn(attn, channels, map_cols=16, identity=True, width=None):
    """The plan of the layer :func:`create_attn` would build for a block (``None`` where the
    type has no plan: SE, CBAM); raises ``ValueError`` where it could not be built."""
    return plan_block(parse_attn(attn), BlockShape('block', channels, width, map_cols, identity))


def plan_block(spec, block):
    """:func:`plan_attn` of an :class:`AttnSpec` (or ``None``) and a :class:`BlockShape`."""
    if spec is None:
        return None
    if spec.spatial and block.channels % spec.spatial:
        raise ValueError('%d spatial maps need C divisible by %d' % (spec.spatial, spec.spatial))
    plan = spec.type.plan
    return None if plan is None else plan(spec, block)


def create_attn(attn, channels, width=None, map_cols=16, norm_layer=BatchNorm, norm_kwargs=None,
                identity=True):
    """Build the attention layer of a block (timm's ``create_attn``).

    Parameters
    ----------
    attn : AttnSpec, str or None
        A spec (a name is parsed here, for direct use; the models pass specs).
    channels : int
        ``C``, width of the residual output.
    width : int, optional
        The block's width (the bottleneck width in bottleneck blocks); ε = width // t.
        Defaults to ``channels``.
    map_cols : float
        The backbone's column count for an inner-imaged map (InI paper Section V-B).
    norm_layer, norm_kwargs
        Normalisation of the layer (after the G-filters, in the spatial map).
    identity : bool, default True
        Whether the block has an identity flow (All-CNN has none).

    Returns
    -------
    ChannelAttention or None
    """
    spec = parse_attn(attn)
    if spec is None:
        return None
    block = BlockShape('block', channels, width, map_cols, identity)
    plan_block(spec, block)
    layer = spec.type.build(spec, block, norm_layer, norm_kwargs)
    if spec.spatial:
        from .spatial import SpatialAttention
        layer.add_spatial(SpatialAttention(channels, spec.spatial, norm_layer=norm_layer,
                                           norm_kwargs=norm_kwargs))
    return layer
