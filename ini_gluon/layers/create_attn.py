"""One registry and one factory for every attention layer a block can take (timm's
``create_attn`` in Gluon).

An attention is named once and parsed once into an :class:`AttnSpec`, its kind and the value of
every option the kind takes; everything after works on the spec.  Each attention type registers
an :class:`AttnType`: how to build its layer for a block, the options it takes
(:class:`~ini_gluon.layers.attn_options.AttnOption`: a keyword, a default, and the word of a
name that spells a value), and optionally a pure-Python plan that says whether (and how) it fits
a block of ``C`` channels before any network is built.  Adding an attention is one new module
with one :func:`register_attention` call (the package imports every module of
``ini_gluon.layers``).

Names: ``<kind>[_<word>...]``, one word for each option whose value is not the default, in the
order the type declares its options -- ``'se'``, ``'cbam'``, ``'cmpe_se_3x3'``,
``'ini_mix5d'``, ``'ini_square1_nojoint'``, ``'se_t8_spa4'``; in a model name the words follow
the backbone (``ini_wrn28_10_mix5d``).
"""
import re
from collections import namedtuple

from mxnet.gluon.nn import BatchNorm

from .attn_options import AttnOption, SPATIAL, read_words, option_words
from .spatial import SpatialAttention

__all__ = ['AttnSpec', 'AttnType', 'BlockShape', 'register_attention', 'attention_types',
           'attention_options', 'match_kind', 'parse_attn', 'attn_name', 'suffix_name',
           'create_attn', 'plan_attn', 'plan_block']

_TYPES = {}


class AttnSpec(namedtuple('AttnSpec', ['kind', 'options'])):
    """What attention a block takes: immutable, hashable, comparable.

    kind : a registered type (``'se'``, ``'cbam'``, ``'cmpe_se_<mode>'``, ``'ini'``, ...).
    options : ``((name, value), ...)`` of every option the type declares, in its order, the
        defaults filled in and each value in its canonical form (``'MIX-5-d'`` is ``'mix5d'``,
        a list of G-filter shapes a tuple of ``(rows, cols, dilation)``).

    Built as ``AttnSpec(kind, *values, **options)``: positional values follow the type's options
    in order (``AttnSpec('ini', 'square3', joint=False)``), options not given take their
    defaults; an option the type does not take, a value an option cannot take, or values that
    do not go together (the type's ``check``) raise ``ValueError``.  Each option reads as an
    attribute (``spec.reduction``; ``spec.g_filters`` of ``ini``), ``spec.kwargs`` is the dict.
    """
    __slots__ = ()

    def __new__(cls, kind, *values, **options):
        attn_type = _type(kind)
        declared = attn_type.options
        if len(values) > len(declared):
            raise ValueError('%s takes %d options, not %d' % (kind, len(declared), len(values)))
        for option, value in zip(declared, values):
            if option.name in options:
                raise ValueError('%s: %s given twice' % (kind, option.name))
            options[option.name] = value
        foreign = [name for name in options if name not in {o.name for o in declared}]
        if foreign:
            raise ValueError('%s takes no %s: %s' % (kind, ', '.join(foreign), _why(foreign)))
        spec = super(AttnSpec, cls).__new__(cls, kind, tuple(
            (o.name, _converted(o, options.get(o.name, o.default))) for o in declared))
        if attn_type.check is not None:
            attn_type.check(spec)
        return spec

    def __getattr__(self, name):
        for key, value in self.options:
            if key == name:
                return value
        raise AttributeError('%s takes no option %r' % (self.kind, name))

    def __getnewargs_ex__(self):
        return (self.kind,), self.kwargs

    def __repr__(self):
        return 'AttnSpec(%r%s)' % (self.kind, ''.join(', %s=%r' % kv for kv in self.options))

    def _replace(self, **changes):
        """The spec with some options (or the kind) changed: the other options kept (another
        kind's, its defaults)."""
        kind = changes.pop('kind', self.kind)
        return AttnSpec(kind, **dict(self.kwargs if kind == self.kind else {}, **changes))

    @property
    def kwargs(self):
        """``{option: value}``."""
        return dict(self.options)

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


def _type(kind):
    if kind not in _TYPES:
        raise ValueError('unknown attention kind %r: expected one of %s'
                         % (kind, ', '.join(sorted(_TYPES))))
    return _TYPES[kind]


def _converted(option, value):
    value = value if option.convert is None else option.convert(value)
    try:
        hash(value)
    except TypeError:
        raise ValueError('%s=%r: an attention option takes hashable values' % (option.name,
                                                                               value))
    return value


def _why(names):
    """What the options ``names`` are and which kinds take them."""
    notes = []
    for name in names:
        kinds = attention_options().get(name)
        if not kinds:
            notes.append('%s is an option of no attention' % name)
            continue
        option = next(o for o in _TYPES[kinds[0]].options if o.name == name)
        notes.append('%s%s goes with %s' % (
            option.doc or name, ' (_%s)' % option.suffix.shown if option.suffix else '',
            ', '.join(kinds)))
    return '; '.join(notes)


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


AttnType = namedtuple('AttnType', ['kind', 'build', 'plan', 'options', 'variants', 'check',
                                   'paper'], defaults=(None, (), ({},), None, None))
AttnType.__doc__ = """A registered attention type.

kind : str -- the name prefix (``'se'``).
build : ``build(spec, block, norm_layer, norm_kwargs)`` -> the layer, a
    :class:`~ini_gluon.layers.channel_attention.ChannelAttention`, for the block described by
    the :class:`BlockShape` ``block``.
plan : ``plan(spec, block)`` -> a pure-Python plan (``InnerImagingPlan``) or ``None``; raises
    ``ValueError`` where the layer cannot be built for ``block``.  ``None``: fits any block.
options : tuple of :class:`~ini_gluon.layers.attn_options.AttnOption` -- what the type takes,
    in the order a name spells them (``REDUCTION``, ``SPATIAL``, or its own).
variants : the ``{option: value}`` of each model :func:`~ini_gluon.list_models` lists.
check : ``check(spec)`` raising ``ValueError`` for options that do not go together, or
    ``None``.
paper : str or None -- the paper whose training recipe its models follow where the backbone
    names none (``'cmpe-se'``; :func:`ini_gluon.models.model_paper`).
"""


def register_attention(attn_type):
    """Register an :class:`AttnType` under its ``kind`` (its variants checked: each a valid spec
    whose name spells it); returns it."""
    kind = attn_type.kind
    if not re.match(r'^[a-z][a-z0-9]*(_[a-z0-9]+)*$', kind):
        raise ValueError('attention kind %r: lowercase words joined by _' % (kind,))
    names = [getattr(o, 'name', None) for o in attn_type.options]
    bad = [o for o in attn_type.options if not isinstance(o, AttnOption) or
           not str(o.name).isidentifier() or hasattr(AttnSpec, o.name) or
           names.count(o.name) > 1 or (o.required and o.suffix is None)]
    if bad:
        raise ValueError('attention %r: each option is an AttnOption whose name is its own and '
                         'no attribute of AttnSpec (a required one with a suffix), not %s'
                         % (kind, ', '.join(repr(getattr(o, 'name', o)) for o in bad)))
    known = _TYPES.get(kind)
    _TYPES[kind] = attn_type
    try:
        for variant in attn_type.variants:
            unnamed = [o.name for o in attn_type.options if o.suffix is None and
                       AttnSpec(kind, **variant).kwargs[o.name] != o.default]
            if unnamed:
                raise ValueError('attention %r: a listed variant sets %s, which no name spells'
                                 % (kind, ', '.join(unnamed)))
    except ValueError:
        _TYPES.pop(kind)
        if known is not None:
            _TYPES[kind] = known
        raise
    return attn_type


def attention_types():
    """The registered types, ``{kind: AttnType}``, longest kind first (how names are matched)."""
    return dict(sorted(_TYPES.items(), key=lambda kv: (-len(kv[0]), kv[0])))


def attention_options():
    """``{option name: [kinds that take it]}`` over every registered type (kinds sorted)."""
    found = {}
    for kind, attn_type in sorted(_TYPES.items()):
        for option in attn_type.options:
            found.setdefault(option.name, []).append(kind)
    return found


def match_kind(text):
    """``(AttnType, rest)`` for the longest registered kind ``text`` starts with (followed by
    ``_`` or the end), or ``(None, text)``."""
    for kind, attn_type in attention_types().items():
        if text == kind or text.startswith(kind + '_'):
            return attn_type, text[len(kind):]
    return None, text


def parse_attn(attn, **overrides):
    """An :class:`AttnSpec` from a name (``'se'``, ``'cmpe_se_1x1'``, ``'ini'``,
    ``'ini_mix5d'``, ``'ini_square3d_nojoint_concat'``, ``'se_spa4'``) or a spec; ``overrides``
    replace its options.  ``None`` / ``'none'`` give ``None``.  Raises ``ValueError``."""
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
    return spec._replace(**overrides) if overrides else spec


def _parse_name(name):
    attn_type, rest = match_kind(name)
    if attn_type is None:
        raise ValueError('unknown attention %r: expected one of %s, each followed by the words '
                         'of its options' % (name, ', '.join("'%s'" % k for k in sorted(_TYPES))))
    values, unread = read_words(attn_type.options, rest[1:].split('_') if rest else [])
    if unread:
        raise ValueError('unknown attention %r: %s takes no %r'
                         % (name, attn_type.kind, '_' + '_'.join(unread)))
    return AttnSpec(attn_type.kind, **values)


def attn_name(spec):
    """The name part of a spec, as used in model names (``'se'``, ``'ini_mix5d_concat'``); the
    empty string for ``None``."""
    if spec is None:
        return ''
    return spec.kind + suffix_name(spec)


def suffix_name(spec):
    """The words of ``spec``'s options in a name (``'_mix5d_nojoint'``, ``'_t8_spa4'``): the
    part of a model name after the backbone."""
    return ''.join('_' + word for word in option_words(spec.type.options, spec.kwargs))


def _spatial_maps(spec):
    """τ, the spatial maps before the layer: the option
    :data:`~ini_gluon.layers.attn_options.SPATIAL` of the types that take it, which the factory
    applies (0 for the others)."""
    return spec.spatial if SPATIAL in spec.type.options else 0


def plan_attn(attn, channels, map_cols=16, identity=True, width=None):
    """The plan of the layer :func:`create_attn` would build for a block (``None`` where the
    type has no plan: SE, CBAM); raises ``ValueError`` where it could not be built."""
    return plan_block(parse_attn(attn), BlockShape('block', channels, width, map_cols, identity))


def plan_block(spec, block):
    """:func:`plan_attn` of an :class:`AttnSpec` (or ``None``) and a :class:`BlockShape`."""
    if spec is None:
        return None
    spatial = _spatial_maps(spec)
    if spatial and block.channels % spatial:
        raise ValueError('%d spatial maps need C divisible by %d' % (spatial, spatial))
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
    spatial = _spatial_maps(spec)
    if spatial:
        layer.add_spatial(SpatialAttention(channels, spatial, norm_layer=norm_layer,
                                           norm_kwargs=norm_kwargs))
    return layer
