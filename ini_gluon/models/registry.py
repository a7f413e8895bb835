"""The model registry: a name is parsed once into a :class:`ModelSpec`, everything after works
on the spec.

A name is ``[<attention>_]<backbone>[<attention suffix>][_spa<τ>]``:

* ``<backbone>`` -- any depth of a registered family: ``resnet110``, ``resnet164`` (pre-act,
  CIFAR), ``wrn28_10`` (WRN-depth-k), ``resnet50_v2`` (ImageNet), ``allcnn``,
  ``pyramidnet272`` (α = 200; ``pyramidnet110_a48``);
* ``<attention>`` -- a registered attention kind (:mod:`ini_gluon.layers.create_attn`): none
  (plain), ``se``, ``cbam``, ``cmpe_se_<mode>`` (mode in doublefc, 1x1, 2x1, 3x3), or ``ini``,
  whose suffix after the backbone names the G-filter set of Table I and optionally ``_nojoint``
  (the ``*`` rows: residual signal alone) and ``_concat`` (eq. 11 literally):
  ``ini_wrn28_10_mix5d``, ``ini_resnet164_square1_nojoint``.

The original CMPE-SE code's names are accepted as aliases (its ``cmpe_se_resnet164`` is the SE
baseline), and so are GluonCV's (``cifar_wideresnet28_10``, ``cifar_resnet110_v2``).

A backbone registers data with its constructor (:func:`register_backbone`): the name templates,
the family whose training recipe applies, its blocks' widths (to check an attention before
building), the names to list.  Adding a backbone is one module with one decorated constructor
(the package imports every module of ``ini_gluon.models``).
"""
import difflib
import fnmatch
import re
import string
from collections import namedtuple
from functools import lru_cache

from ..layers.create_attn import (AttnSpec, attention_types, match_kind, parse_attn,
                                  split_spatial, suffix_name, spatial_name)
from .residual import check_blocks

__all__ = ['Backbone', 'ModelSpec', 'register_backbone', 'backbones', 'parse_model_name',
           'resolve_model_name', 'model_name', 'get_model', 'list_models', 'DEFAULT_INPUT_SHAPE']

DEFAULT_INPUT_SHAPE = (1, 3, 32, 32)
_ATTN_OPTIONS = tuple(f for f in AttnSpec._fields if f != 'kind')
# the original CMPE-SE code calls its SE baseline cmpe_se_<backbone>
_MODEL_ALIASES = [(re.compile(r'^cmpe_se_((?:resnet|wrn)[0-9_]+)$'), r'se_\1')]

Backbone = namedtuple('Backbone', ['key', 'names', 'build', 'blocks', 'family', 'listed',
                                   'input_shape', 'aliases', 'defaults'])
Backbone.__doc__ = """A registered backbone family (see :func:`register_backbone`)."""
_BACKBONES = {}


def register_backbone(names, blocks, family, listed, aliases=(), defaults=None,
                      input_shape=DEFAULT_INPUT_SHAPE):
    """Register a backbone family: a decorator of its constructor.

    Parameters
    ----------
    names : str or tuple of str
        Name templates of the backbone part of a model name, with integer fields in braces:
        ``'wrn{depth}_{width}'``.  Several templates: the first whose missing fields all have
        their ``defaults`` is the canonical name (``('pyramidnet{depth}',
        'pyramidnet{depth}_a{alpha}')``).
    blocks : callable
        ``blocks(**fields)`` -> list of :class:`~ini_gluon.models.residual.BlockShape`, one per
        attention block, to check an attention before building; raises ``ValueError`` for
        fields the family does not accept (a depth it cannot have).
    family : str
        Which of the papers' training recipes applies (:mod:`ini_gluon.training.recipes`):
        ``'resnet'``, ``'wrn'``, ``'allcnn'``, ``'pyramidnet'``.
    listed : list of str
        The backbones :func:`list_models` enumerates.
    aliases : tuple of str
        Other templates of the same names (GluonCV's, ``'cifar_wideresnet{depth}_{width}'``).
    defaults : dict, optional
        Values of fields a template may leave out.
    input_shape : tuple
        The input of one image (``net.input_shape``: summaries, counts, FLOPs).

    The constructor is called as ``constructor(attn=<AttnSpec or None>, **fields, **kwargs)``.
    """
    names = (names,) if isinstance(names, str) else tuple(names)

    def wrap(constructor):
        key = constructor.__name__
        known = _BACKBONES.get(key)
        if known is not None and known.build.__module__ != constructor.__module__:
            raise ValueError('a backbone %r is registered already, by %s'
                             % (key, known.build.__module__))
        _BACKBONES[key] = Backbone(key, names, constructor, blocks, family, tuple(listed),
                                   tuple(input_shape), tuple(aliases), dict(defaults or {}))
        return constructor
    return wrap


def backbones():
    """``{key: Backbone}`` of every registered family."""
    return dict(_BACKBONES)


@lru_cache(maxsize=None)
def _template_regex(template):
    fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    pattern = re.escape(template)
    for field in fields:
        pattern = pattern.replace(re.escape('{%s}' % field), r'(?P<%s>\d+)' % field)
    return re.compile(pattern)


def _match_backbone(text):
    """``(Backbone, fields)`` of the backbone name ``text``, or ``(None, None)``."""
    for backbone in _BACKBONES.values():
        for template in backbone.names + backbone.aliases:
            match = _template_regex(template).fullmatch(text)
            if match:
                fields = dict(backbone.defaults)
                fields.update((k, int(v)) for k, v in match.groupdict().items())
                return backbone, fields
    return None, None


def _format_backbone(backbone, fields):
    for template in backbone.names:
        used = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        if all(backbone.defaults.get(k) == v for k, v in fields.items() if k not in used):
            return template.format(**fields)
    raise ValueError('no name template of %s fits %r' % (backbone.key, fields))


class ModelSpec(namedtuple('ModelSpec', ['backbone', 'args', 'attn'])):
    """A model: the key of its registered backbone, the backbone's fields as sorted
    ``(name, value)`` pairs, and an :class:`~ini_gluon.layers.AttnSpec` (``None``: plain).
    Immutable and hashable; ``spec.name`` is the canonical model name."""
    __slots__ = ()

    @property
    def entry(self):
        """The registered :class:`Backbone`."""
        return _BACKBONES[self.backbone]

    @property
    def kwargs(self):
        return dict(self.args)

    @property
    def family(self):
        return self.entry.family

    @property
    def name(self):
        return model_name(self)

    def blocks(self):
        """The backbone's :class:`~ini_gluon.models.residual.BlockShape` list."""
        return self.entry.blocks(**self.kwargs)


def model_name(spec):
    """The canonical name of a :class:`ModelSpec` (``parse_model_name(name).name == name`` for
    every canonical name)."""
    backbone = _format_backbone(spec.entry, spec.kwargs)
    attn = spec.attn
    if attn is None:
        return backbone
    return '%s_%s%s%s' % (attn.kind, backbone, suffix_name(attn), spatial_name(attn))


def _resolve_alias(name):
    for regex, repl in _MODEL_ALIASES:
        if regex.match(name):
            return regex.sub(repl, name)
    return name


def _split_suffix(attn_type, rest):
    """``(backbone text, suffix match, (Backbone, fields))``: the split of ``rest`` whose tail
    is the attention's suffix and whose head a backbone (rightmost first); ``(head, None,
    (None, None))`` where none is."""
    if _match_backbone(rest)[0] is not None:
        raise ValueError('an %s_ name needs %s after the backbone, e.g. %s'
                         % (attn_type.kind, attn_type.suffix.what, _example(attn_type)))
    regex = re.compile(attn_type.suffix.model_regex)
    tails = [m.start() for m in re.finditer('_', rest) if regex.fullmatch(rest[m.start():])]
    for i in tails[::-1]:
        found = _match_backbone(rest[:i])
        if found[0] is not None:
            return rest[:i], regex.fullmatch(rest[i:]), found
    return (rest[:tails[0]] if tails else rest), None, (None, None)


def _example(attn_type):
    return '%s_wrn28_10%s' % (attn_type.kind,
                              suffix_name(AttnSpec(attn_type.kind, **attn_type.suffix.parse(None))))


def parse_model_name(name):
    """The :class:`ModelSpec` of a model name.  Raises ``ValueError`` for a name that does not
    follow the naming (without suggestions; :func:`resolve_model_name` adds them)."""
    text, spatial = split_spatial(name.lower())
    attn_type, rest = match_kind(_resolve_alias(text))
    match, found = None, None
    if attn_type is None and spatial:
        raise ValueError('spatial attention (%s) goes with a channel attention: %s'
                         % (spatial_name(AttnSpec('-', spatial=spatial))[1:], ', '.join(
                             k + '_' for k, t in sorted(attention_types().items())
                             if 'spatial' in t.options)))
    if attn_type is not None:
        rest = rest[1:]
        if attn_type.suffix is not None:
            rest, match, found = _split_suffix(attn_type, rest)
    backbone, fields = found if found is not None else _match_backbone(rest)
    if backbone is None:
        raise ValueError('unknown backbone %r' % rest)
    spec = _checked(ModelSpec(backbone.key, tuple(sorted(fields.items())), None))
    if attn_type is None:
        return spec
    options = attn_type.suffix.parse(match) if attn_type.suffix is not None else {}
    return spec._replace(attn=parse_attn(AttnSpec(attn_type.kind, spatial=spatial, **options)))


_MAX_FIELD = 10000


def _checked(spec):
    """``spec`` with its backbone's defaults filled in and its fields sorted, after checking
    them against the backbone's templates and blocks."""
    entry = spec.entry
    known = {f for t in entry.names for _, f, _, _ in string.Formatter().parse(t) if f}
    fields = dict(entry.defaults, **dict(spec.args))
    for key, value in sorted(fields.items()):
        if key not in known:
            raise ValueError('%s has no field %r: expected %s'
                             % (entry.key, key, ', '.join(sorted(known))))
        if not (isinstance(value, int) and not isinstance(value, bool)) or \
                not 0 <= value <= _MAX_FIELD:
            raise ValueError('%s=%r: expected an integer from 0 to %d'
                             % (key, value, _MAX_FIELD))
    missing = known - set(fields)
    if missing:
        raise ValueError('%s needs %s' % (entry.key, ', '.join(sorted(missing))))
    spec = spec._replace(args=tuple(sorted(fields.items())))
    spec.blocks()  # checks the depth / width
    return spec


def _near(name, n=3):
    """The listed names closest to ``name``: first the name without an option it cannot take,
    then the most similar spellings."""
    models = _all_models()
    stripped = [name.replace(option, '') for option in ('_nojoint', '_concat') if option in name]
    near = [m for m in stripped if m in models]
    near += [m for m in difflib.get_close_matches(name, models, n=n, cutoff=0.5) if m not in near]
    return near[:n] or ['wrn28_10', 'se_wrn28_10', 'ini_wrn28_10_mix5d']


def resolve_model_name(name):
    """:func:`parse_model_name`, with the error a user sees: the name and the closest valid
    names.  A :class:`ModelSpec` is returned as it is."""
    if isinstance(name, ModelSpec):
        if name.backbone not in _BACKBONES:
            raise ValueError('unknown backbone %r: expected one of %s'
                             % (name.backbone, ', '.join(sorted(_BACKBONES))))
        return _checked(name)._replace(attn=parse_attn(name.attn))
    if not isinstance(name, str):
        raise ValueError('model name must be a string, not %r' % (name,))
    try:
        return parse_model_name(name)
    except ValueError as err:
        raise ValueError('unknown model name %r (%s); closest valid names: %s'
                         % (name, err, ', '.join(_near(name))))


def get_model(name, **kwargs):
    """Build a model by name or :class:`ModelSpec`.

    Parameters
    ----------
    name : str or ModelSpec
        E.g. ``'ini_wrn28_10_mix5d'``, ``'se_resnet164'``, ``'cmpe_se_3x3_wrn28_10'``,
        ``'cbam_resnet50_v1'``, ``'ini_allcnn_square3'``.
    **kwargs
        Passed to the backbone constructor (``classes``, ``drop_rate``, ``norm_layer``, ...),
        except the attention options ``g_filters``, ``joint``, ``aggregation``, ``layout``,
        ``reduction``, ``map_cols``, ``spatial``, which override those of the name.

    Returns
    -------
    HybridBlock
        Not initialised, as GluonCV's models; ``net.model_name`` holds the name,
        ``net.model_spec`` the spec it was built from.

    Raises
    ------
    ValueError
        For an unknown or malformed name (naming the closest valid names), or a configuration
        that cannot be built (naming the block and the shapes).
    """
    spec = resolve_model_name(name)
    options = {k: kwargs.pop(k) for k in list(kwargs) if k in _ATTN_OPTIONS}
    try:
        if options and spec.attn is None:
            raise ValueError('the plain backbone takes no attention options (%s)'
                             % ', '.join(sorted(options)))
        if options:
            spec = spec._replace(attn=parse_attn(spec.attn, **options))
        classes = kwargs.get('classes', 1)
        if not (isinstance(classes, int) and not isinstance(classes, bool) and classes >= 1):
            raise ValueError('classes must be a positive integer, not %r' % (classes,))
        named = sorted(set(spec.kwargs) & set(kwargs))
        if named:
            raise ValueError('%s belong%s in the name (%s), not in the keyword arguments'
                             % (', '.join(named), 's' if len(named) == 1 else '', spec.name))
        check_blocks(spec.attn, spec.blocks())
        net = _build(spec, kwargs)
    except ValueError as err:
        raise ValueError('cannot build %r%s: %s' % (
            name if isinstance(name, str) else spec.name,
            ' with %s' % ', '.join('%s=%r' % kv for kv in sorted(options.items()))
            if options else '', err))
    net.model_name = name if isinstance(name, str) else spec.name
    net.model_spec = spec
    net.input_shape = spec.entry.input_shape
    return net


def _build(spec, kwargs):
    try:
        return spec.entry.build(attn=spec.attn, **dict(spec.kwargs, **kwargs))
    except TypeError as err:
        if 'unexpected keyword argument' not in str(err):
            raise
        unknown = re.search(r"argument '(\w+)'", str(err))
        raise ValueError('%s takes no keyword %s' % (spec.entry.key, unknown.group(1)
                                                     if unknown else str(err)))


def _attentions():
    """Every attention :func:`list_models` lists: ``None`` and each type's variants."""
    yield None
    for attn_type in attention_types().values():
        for variant in attn_type.variants:
            yield AttnSpec(attn_type.kind, **variant)


def _buildable(attn, blocks):
    try:
        check_blocks(attn, blocks)
    except ValueError:
        return False
    return True


def _all_models():
    """Every listed name, computed once per set of registered backbones and attentions."""
    return _listing(tuple((k, id(b)) for k, b in _BACKBONES.items()),
                    tuple((k, id(t)) for k, t in attention_types().items()))


@lru_cache(maxsize=None)
def _listing(_backbones, _attention_types):
    names = []
    for backbone in _BACKBONES.values():
        for text in backbone.listed:
            plain = ModelSpec(backbone.key, tuple(sorted(_match_backbone(text)[1].items())),
                              None)
            blocks = plain.blocks()
            names += [plain._replace(attn=attn).name for attn in _attentions()
                      if _buildable(attn, blocks)]
    return tuple(sorted(names))


def list_models(pattern='*'):
    """Names of the models of every listed backbone that can be built, optionally filtered by
    a shell-style ``pattern`` (``'ini_wrn28_10_*'``).  Other depths are accepted by
    :func:`get_model` too."""
    return [n for n in _all_models() if fnmatch.fnmatchcase(n, pattern)]
