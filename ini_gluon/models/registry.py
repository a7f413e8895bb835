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
building), the names to list; optionally a line on how its names are formed (``describe``),
every backbone where they are finitely many (``every``) and GluonCV's ImageNet model whose
weights fit it (``imagenet_weights``).  Adding a backbone is one module with one decorated
constructor (the package imports every module of ``ini_gluon.models``).

An unknown name's error names the closest valid names (:func:`resolve_model_name`), and says
what GluonCV's names of models not built here are (``cifar_resnet56_v1``: the post-activation
CIFAR ResNet; ours is the pre-activation ``resnet56``).
"""
import difflib
import fnmatch
import re
import string
from collections import namedtuple
from functools import lru_cache

from ..layers.create_attn import (AttnSpec, attention_types, match_kind, parse_attn,
                                  split_spatial, suffix_name, spatial_name)
from . import weights
from .residual import check_blocks

__all__ = ['Backbone', 'ModelSpec', 'register_backbone', 'backbones', 'parse_model_name',
           'resolve_model_name', 'model_name', 'get_model', 'list_models', 'find_models',
           'backbone_models', 'check_attention', 'shown_template', 'default_classes',
           'DEFAULT_INPUT_SHAPE']

DEFAULT_INPUT_SHAPE = (1, 3, 32, 32)
_ATTN_OPTIONS = tuple(f for f in AttnSpec._fields if f != 'kind')
# the original CMPE-SE code calls its SE baseline cmpe_se_<backbone>
_MODEL_ALIASES = [(re.compile(r'^cmpe_se_((?:resnet|wrn)[0-9_]+)$'), r'se_\1')]

Backbone = namedtuple('Backbone', ['key', 'names', 'build', 'blocks', 'family', 'listed',
                                   'input_shape', 'aliases', 'defaults', 'describe', 'every',
                                   'imagenet_weights', 'paper', 'attentions'],
                      defaults=(None, None, None, None, None))
Backbone.__doc__ = """A registered backbone family (see :func:`register_backbone`)."""
_BACKBONES = {}


def register_backbone(names, blocks, family, listed, aliases=(), defaults=None,
                      input_shape=DEFAULT_INPUT_SHAPE, describe=None, every=None,
                      imagenet_weights=None, paper=None, attentions=None):
    """Register a backbone family: a decorator of its constructor.

    Parameters
    ----------
    names : str or tuple of str
        Name templates of the backbone part of a model name, with integer fields in braces:
        ``'wrn{depth}_{width}'``.  A field with a text after a colon is a flag, 1 where the
        name holds the text and 0 where it does not: ``'mobilenet{whole}_{tenths}_g{groups}'
        '{exchange:_ex}'`` reads ``mobilenet1_0_g2_ex`` as exchange = 1.  Several templates: the
        first whose missing fields all have their ``defaults`` is the canonical name
        (``('pyramidnet{depth}', 'pyramidnet{depth}_a{alpha}')``).
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
    describe : str, optional
        One line on the family and how its fields are formed (``'pre-act CIFAR ResNet, depth
        6n+2 ...'``), printed by ``python -m ini_gluon --list`` where the family has unboundedly
        many backbones.
    every : list of str, optional
        Every backbone name of a family that has finitely many (GluonCV's ImageNet ResNets:
        18 to 152, v1 and v2); ``None``: unbounded (any depth), described by ``describe``.
        ``--list`` and the suggestions for a wrong name draw on it.
    imagenet_weights : str, optional
        Template of GluonCV's model whose published ImageNet weights fit the plain backbone
        (``'resnet{depth}_v{version}'``): ``get_model(..., pretrained_base=True)`` loads them
        into the backbone, ``pretrained=True`` into the plain model.  ``None``: no such weights.
    paper : str, optional
        The paper whose recipe ``--preset paper`` trains the family with
        (:mod:`ini_gluon.training.recipes`: ``'sinet'``); ``None``: the InI paper's (the
        CMPE-SE paper's for ``cmpe_se_*`` names).
    attentions : tuple of str, optional
        The attention kinds the family's blocks take (``('se',)``; ``()``: none, the network
        has no attention slot); ``None``: every registered kind.

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
                                   tuple(input_shape), tuple(aliases), dict(defaults or {}),
                                   describe, None if every is None else tuple(every),
                                   imagenet_weights, paper,
                                   None if attentions is None else tuple(attentions))
        return constructor
    return wrap


def backbones():
    """``{key: Backbone}`` of every registered family."""
    return dict(_BACKBONES)


def _template_tokens(template):
    """``[(literal, field or None, flag text or '')]`` of a name template."""
    return [(lit, field, spec or '') for lit, field, spec, _ in
            string.Formatter().parse(template)]


def _template_fields(template):
    return {field for _, field, _ in _template_tokens(template) if field}


def _flags(backbone):
    """The flag fields of a backbone's templates (``{exchange:_ex}``)."""
    return {field for t in backbone.names + backbone.aliases
            for _, field, flag in _template_tokens(t) if field and flag}


@lru_cache(maxsize=None)
def _template_regex(template):
    pattern = ''
    for lit, field, flag in _template_tokens(template):
        pattern += re.escape(lit)
        if field:
            pattern += ('(?P<%s>%s)?' % (field, re.escape(flag)) if flag else
                        r'(?P<%s>\d+)' % field)
    return re.compile(pattern)


def _fields_of(match):
    """The field values of a template match: integers, and 1 / 0 for a flag there or not."""
    return {k: 0 if v is None else int(v) if v.isdigit() else 1
            for k, v in match.groupdict().items()}


def _match_backbone(text):
    """``(Backbone, fields)`` of the backbone name ``text``, or ``(None, None)``."""
    for backbone in _BACKBONES.values():
        for template in backbone.names + backbone.aliases:
            match = _template_regex(template).fullmatch(text)
            if match:
                fields = dict(backbone.defaults)
                fields.update(_fields_of(match))
                return backbone, fields
    return None, None


def _fill(template, fields):
    """The name ``template`` gives ``fields`` (a flag's text where it is 1)."""
    return ''.join(lit + ('' if not field else (flag if fields[field] else '') if flag else
                          str(fields[field]))
                   for lit, field, flag in _template_tokens(template))


def _format_backbone(backbone, fields):
    for template in backbone.names:
        used = _template_fields(template)
        if all(backbone.defaults.get(k) == v for k, v in fields.items() if k not in used):
            return _fill(template, fields)
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
    spec = spec._replace(attn=parse_attn(AttnSpec(attn_type.kind, spatial=spatial, **options)))
    check_attention(spec.entry, spec.attn)
    return spec


_MAX_FIELD = 10000


def _check_flags(backbone, fields):
    for key in sorted(_flags(backbone) & set(fields)):
        if fields[key] not in (0, 1):
            raise ValueError('%s is a flag of %s: 0 or 1, not %r' % (key, backbone.key,
                                                                    fields[key]))


def _takes(backbone, attn):
    """Whether the family's blocks take the attention ``attn`` (``None``: plain, always)."""
    return attn is None or backbone.attentions is None or attn.kind in backbone.attentions


def check_attention(backbone, attn):
    """Raise ``ValueError`` where the family's blocks do not take the attention ``attn``."""
    if _takes(backbone, attn):
        return
    raise ValueError('%s takes %s' % (
        backbone.key, 'no attention: it has no attention block' if not backbone.attentions
        else 'only the attention %s, not %s' % (', '.join(backbone.attentions), attn.kind)))


def _checked(spec):
    """``spec`` with its backbone's defaults filled in and its fields sorted, after checking
    them against the backbone's templates and blocks."""
    entry = spec.entry
    known = set().union(*(_template_fields(t) for t in entry.names))
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
    _check_flags(entry, fields)
    spec = spec._replace(args=tuple(sorted(fields.items())))
    spec.blocks()  # checks the depth / width
    return spec


# GluonCV's names of models not built here: (regex, what GluonCV's model is, the template of
# our counterpart of the same fields or None, how to name it)
_NOT_BUILT = [
    (r'cifar_resnet(?P<depth>\d+)_v1', 'the post-activation CIFAR ResNet', 'resnet{depth}',
     'the pre-activation one is {counterpart} (cifar_resnet{depth}_v2)'),
    (r'resnet(?P<depth>\d+)_v1[bcdes](?:_gn)?', "a ResNetV1b variant (v1 with the stride on the "
     "3x3 convolution; c, d, e, s: deep stems, pooled shortcuts)", 'resnet{depth}_v1',
     'the nearest is {counterpart}, GluonCV\'s ResNetV1'),
    (r'cifar_resnext(?P<depth>\d+)_\d+x\d+d', 'a CIFAR ResNeXt', 'resnet{depth}',
     'the nearest built here is {counterpart}, the pre-act ResNet of its depth'),
    (r'cifar_residualattentionnet(?P<depth>\d+)', 'a Residual Attention Network',
     'resnet{depth}', 'the nearest built here is {counterpart}, the pre-act ResNet of its depth '
     '(with an attention: ini_{counterpart}_mix5d)'),
]


def _bounded(text, start, end):
    return (start == 0 or not text[start - 1].isalnum()) and \
        (end == len(text) or not text[end].isalnum())


def _spelled_backbone(text):
    """The longest backbone-like part of ``text`` (a word of its own): ``(start, end, Backbone
    or None, fields, not-built entry or None)``, or ``None``."""
    found = []
    for backbone in _BACKBONES.values():
        for template in backbone.names + backbone.aliases:
            for m in _template_regex(template).finditer(text):
                if _bounded(text, m.start(), m.end()):
                    fields = dict(backbone.defaults)
                    fields.update(_fields_of(m))
                    found.append((m.start(), m.end(), backbone, fields, None))
    for entry in _NOT_BUILT:
        for m in re.finditer(entry[0], text):
            if _bounded(text, m.start(), m.end()):
                found.append((m.start(), m.end(), None,
                              {k: int(v) for k, v in m.groupdict().items()}, entry))
    # the longest part; on a tie the one GluonCV's not-built names give
    return max(found, key=lambda f: (f[1] - f[0], f[4] is not None), default=None)


def _not_built_note(name):
    """The note on a GluonCV name that is not built here (``None`` for other names)."""
    found = _spelled_backbone(name.lower()) if isinstance(name, str) else None
    if found is None or found[4] is None:
        return None
    start, end, _, fields, (_, what, counterpart, how) = found
    note = "GluonCV's %s is %s, not built here" % (name.lower()[start:end], what)
    text = _valid_backbone_text(counterpart.format(**fields)) if counterpart else None
    if text is not None:
        note += '; ' + how.format(counterpart=text, **fields)
    return note


def _valid_backbone_text(text):
    """The canonical backbone name of ``text``, or ``None`` where it is not a valid one."""
    backbone, fields = _match_backbone(text)
    if backbone is None or not _valid_fields(backbone, fields):
        return None
    return _format_backbone(backbone, fields)


def _valid_fields(backbone, fields):
    if not all(0 <= v <= _MAX_FIELD for v in fields.values()):
        return False
    try:
        _check_flags(backbone, fields)
        backbone.blocks(**fields)
    except (ValueError, TypeError):
        return False
    return True


def _distance(fields, wanted):
    return sum(abs(fields.get(k, v) - v) / max(abs(v), 1) for k, v in wanted.items())


def _nearest_backbones(backbone, fields, k=2, reach=64):
    """Valid backbone names of ``backbone`` nearest to ``fields`` (an invalid set): from
    ``every`` where the family has finitely many, else one field moved by up to ``reach``."""
    if backbone.every is not None:
        options = [_match_backbone(t)[1] for t in backbone.every]
    else:
        options = [dict(fields, **{key: value + step})
                   for key, value in sorted(fields.items()) for step in range(-reach, reach + 1)
                   if step]
        options = [f for f in options if _valid_fields(backbone, f)]
    options.sort(key=lambda f: (_distance(f, fields), -sum(f.values())))
    return [_format_backbone(backbone, f) for f in options[:k]]


def _siblings(backbone, fields):
    """Valid backbones of the other families of the same recipe family with the same values of
    the fields they share (``resnet56_v1`` -> ``resnet56``; ``resnet18`` -> ``resnet18_v1``,
    ``resnet18_v2``)."""
    names = []
    for other in _BACKBONES.values():
        if other.key == backbone.key or other.family != backbone.family:
            continue
        if other.every is not None:
            names += [t for t in other.every if all(
                _match_backbone(t)[1].get(k, v) == v for k, v in fields.items())
                and set(_match_backbone(t)[1]) & set(fields)]
            continue
        own = set().union(*(_template_fields(t) for t in other.names))
        if own and own <= set(fields) | set(other.defaults):
            mine = dict(other.defaults, **{k: fields[k] for k in own if k in fields})
            if _valid_fields(other, mine):
                names.append(_format_backbone(other, mine))
    return names


def _canonical(name):
    """The canonical name of ``name`` if it parses and builds, else ``None``."""
    try:
        spec = parse_model_name(name)           # checks the attention against the family
        check_blocks(spec.attn, spec.blocks())
    except ValueError:
        return None
    return spec.name


def _near(name, n=3):
    """The valid names closest to ``name``, each buildable: first the name without an option
    it cannot take; then, where ``name`` spells a backbone (a word of its own), the name with
    that backbone repaired -- GluonCV's name of a model not built here by our counterpart
    (``cifar_resnet56_v1`` -> ``resnet56``), an impossible depth by the same depth in a sibling
    family (same recipe family) that has it (``resnet56_v1`` -> ``resnet56``, ``resnet18`` ->
    ``resnet18_v1``), then by the nearest depths of the family it spells (``resnet50_v1``;
    these first where one keeps the depth: ``resnet50_v3`` -> ``resnet50_v2``); a valid
    backbone is kept, with the closest spellings of its names; last the most similar listed
    names of the same input size (CIFAR or ImageNet), then of any."""
    text = name.lower()
    near = []

    def add(names):
        near.extend(m for m in names if m and m not in near)

    add(_canonical(text.replace(option, '')) for option in ('_nojoint', '_concat')
        if option in text)
    found = _spelled_backbone(text)
    pool = _all_models()
    if found is not None:
        start, end, backbone, fields, not_built = found
        if not_built is not None:
            repairs, backbone = [], None
            if not_built[2] is not None:
                backbone, fields = _match_backbone(not_built[2].format(**fields))
            if backbone is not None:
                repairs = ([_format_backbone(backbone, fields)]
                           if _valid_fields(backbone, fields) else
                           _nearest_backbones(backbone, fields))
        elif _valid_fields(backbone, fields):
            repairs = [_format_backbone(backbone, fields)]
        else:
            repairs = _ordered_repairs(_siblings(backbone, fields),
                                       _nearest_backbones(backbone, fields), fields)
        for repair in repairs:
            add(_repaired(text, start, end, repair, n if len(repairs) == 1 else 1))
        if backbone is not None:
            pool = [m for b in _BACKBONES.values() if b.input_shape == backbone.input_shape
                    for t in b.listed for m in backbone_models(t)] or pool
    add(difflib.get_close_matches(text, pool, n=n, cutoff=0.5))
    add(difflib.get_close_matches(text, _all_models(), n=n, cutoff=0.5))
    return near[:n] or ['wrn28_10', 'se_wrn28_10', 'ini_wrn28_10_mix5d']


def _ordered_repairs(siblings, nearest, fields):
    """The depth a name gives is kept first: the sibling families' backbones of the same depth
    come before the family's nearest, unless one of those keeps the depth too (``resnet50_v3``
    -> ``resnet50_v2`` before ``resnet50``)."""
    shared = {k for t in siblings for k in _match_backbone(t)[1] if k in fields}
    if any(all(_match_backbone(t)[1][k] == fields[k] for k in shared) for t in nearest):
        return nearest + siblings
    return siblings + nearest


def _repaired(text, start, end, backbone_text, k):
    """Up to ``k`` valid names: ``text`` with its part ``[start:end]`` replaced by the backbone
    ``backbone_text``, or else the closest spellings of that backbone's names."""
    candidate = text[:start] + backbone_text + text[end:]
    valid = _canonical(candidate)
    if valid is not None:
        return [valid]
    return difflib.get_close_matches(candidate, backbone_models(backbone_text), n=k, cutoff=0.5)


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
        note = _not_built_note(name)
        raise ValueError('unknown model name %r (%s%s); closest valid names: %s'
                         % (name, err, '; ' + note if note else '', ', '.join(_near(name))))


def default_classes(input_side):
    """The classes of a head when none are given: 1000 for ImageNet-sized inputs (``input_side``
    224 or more), else 10."""
    return 1000 if input_side >= 224 else 10


def get_model(name, pretrained=False, ctx=None, root=None, pretrained_base=False, **kwargs):
    """Build a model by name or :class:`ModelSpec`; GluonCV's ``get_model`` keywords are
    taken, and nothing is ever downloaded.

    Parameters
    ----------
    name : str or ModelSpec
        E.g. ``'ini_wrn28_10_mix5d'``, ``'se_resnet164'``, ``'cmpe_se_3x3_wrn28_10'``,
        ``'cbam_resnet50_v1'``, ``'ini_allcnn_square3'``.
    pretrained : bool or str, default False
        GluonCV's published weights of the whole model, which exist for the plain ImageNet
        ResNets only (``resnet50_v1``, GluonCV's own model): read from GluonCV's cache in
        ``root`` (a string: GluonCV's hash tag of another version of the file), the classifier
        included (``classes`` must be 1000).  No weights are published for the attention models
        (nor by GluonCV for its SE-ResNets): ``ValueError`` saying what to do instead
        (``pretrained_base=True``, or a run's parameters).
    ctx : Context or list of Context, default ``mx.cpu()``
        Where the loaded (and the rest, initialised) parameters go; unused when nothing is
        loaded (the net is returned uninitialised: give ``ctx`` to ``net.initialize``).
    root : str, optional
        GluonCV's model folder, ``~`` expanded; by default GluonCV's own:
        ``$MXNET_HOME/models`` where ``MXNET_HOME`` is set, else ``~/.mxnet/models``.  A file
        that is not there is a ``ValueError`` naming it (GluonCV's file name:
        ``<name>-<short hash>.params``).
    pretrained_base : bool, default False
        For the ImageNet backbones: GluonCV's ImageNet ``resnet<depth>_v<version>`` of the same
        depth and version into every backbone parameter (checked both ways: each of GluonCV's
        parameters finds its place and each of ours that is not attention is loaded, or
        ``ValueError`` naming the mismatch, nothing loaded).  The classifier is loaded too
        where ``classes`` is 1000; for another class count the output layer is new, as in
        GluonCV's fine-tuning.  A CIFAR backbone has no ImageNet weights: ``ValueError``.
        (GluonCV's default differs per model; here it is ``False``: nothing is downloaded.)
    **kwargs
        Passed to the backbone constructor (``classes``, ``drop_rate``, ``norm_layer``, ...),
        except the attention options ``g_filters``, ``joint``, ``aggregation``, ``layout``,
        ``reduction``, ``map_cols``, ``spatial``, which override those of the name.

    Returns
    -------
    HybridBlock
        Not initialised, as GluonCV's models, unless weights were loaded (``pretrained``,
        ``pretrained_base``): then initialised on ``ctx``, every parameter not loaded with its
        own initializer (BatchNorm's ones and zeros) or Xavier's -- do not call
        ``net.initialize`` on it (Gluon warns for each parameter and keeps it;
        ``force_reinit=True`` would discard the weights).  ``net.model_name`` holds the name,
        ``net.model_spec`` the spec it was built from.

    Raises
    ------
    ValueError
        For an unknown or malformed name (naming the closest valid names), or a configuration
        that cannot be built (naming the block and the shapes), or weights that cannot be
        loaded (naming the file or the parameters).
    """
    spec = resolve_model_name(name)
    ctx = weights.check_ctx(ctx)
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
        check_attention(spec.entry, spec.attn)
        check_blocks(spec.attn, spec.blocks())
        plan = _weights_plan(spec, pretrained, pretrained_base, root)
        net = _build(spec, kwargs)
    except ValueError as err:
        raise ValueError('cannot build %r%s: %s' % (
            name if isinstance(name, str) else spec.name,
            ' with %s' % ', '.join('%s=%r' % kv for kv in sorted(options.items()))
            if options else '', err))
    if plan is not None:
        gluoncv_name, path, whole = plan
        left = weights.load_gluoncv(net, gluoncv_name, path, ctx, spec.name, whole=whole)
        weights.initialize_rest(net, left, ctx)
        if whole:
            weights.imagenet_attributes(net)
    net.model_name = name if isinstance(name, str) else spec.name
    net.model_spec = spec
    net.input_shape = spec.entry.input_shape
    return net


def _weights_plan(spec, pretrained, pretrained_base, root):
    """``(GluonCV's model, file, whole)`` of the weights to load, ``None`` for none; raises
    ``ValueError`` saying why they cannot be (no such weights, the file is not there)."""
    if not isinstance(pretrained, (bool, str)):
        raise ValueError('pretrained must be True, False or a GluonCV hash tag, not %r'
                         % (pretrained,))
    if not isinstance(pretrained_base, bool):
        raise ValueError('pretrained_base must be True or False, not %r' % (pretrained_base,))
    root = weights.gluoncv_root(root)
    if not pretrained and not pretrained_base:
        return None
    template = spec.entry.imagenet_weights
    base = template.format(**spec.kwargs) if template else None
    if pretrained:
        if spec.attn is not None or base is None:
            instead = ('pretrained_base=True loads GluonCV\'s ImageNet %s into its backbone '
                       '(the attention initialised), or ' % base if base and spec.attn else
                       'train it, or ')
            raise ValueError(
                'pretrained=True: no weights are published for %s (GluonCV publishes ImageNet '
                'weights for its plain ResNets only; this project publishes none): %sload a '
                "run's parameters: net.load_parameters('<save-dir>/%s-best.params')"
                % (spec.name, instead, spec.name))
    elif base is None:
        raise ValueError(
            'pretrained_base=True: GluonCV has no ImageNet weights for the %sbackbone %s '
            '(only its ImageNet ResNets, resnet<depth>_v1/_v2, have them): train it from '
            'scratch (net.initialize)' % ('CIFAR ' if spec.entry.input_shape[-1] <= 32 else '',
                                          _format_backbone(spec.entry, spec.kwargs)))
    path, exists = weights.gluoncv_file(base, root,
                                        tag=pretrained if isinstance(pretrained, str) else None)
    if not exists:
        raise ValueError(weights.missing_file_message(base, path))
    return base, path, bool(pretrained)


def _build(spec, kwargs):
    try:
        return spec.entry.build(attn=spec.attn, **dict(spec.kwargs, **kwargs))
    except TypeError as err:
        if 'unexpected keyword argument' not in str(err) and \
                'multiple values for keyword argument' not in str(err):
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


def _registered():
    """What the cached listings depend on: the registered backbones and attentions."""
    return (tuple((k, id(b)) for k, b in _BACKBONES.items()),
            tuple((k, id(t)) for k, t in attention_types().items()))


def _all_models():
    """Every listed name, computed once per set of registered backbones and attentions."""
    return _listing(*_registered())


@lru_cache(maxsize=None)
def _listing(_backbones, _attention_types):
    names = []
    for backbone in _BACKBONES.values():
        for text in backbone.listed:
            names += _backbone_models(text, _backbones, _attention_types)
    return tuple(sorted(names))


def backbone_models(text):
    """Every name that builds on the backbone ``text`` (``'resnet8'``): the plain model and
    each attention variant :func:`list_models` lists.  Raises ``ValueError`` for a name that is
    not a valid backbone."""
    return _backbone_models(text, *_registered())


@lru_cache(maxsize=1024)
def _backbone_models(text, _backbones, _attention_types):
    backbone, fields = _match_backbone(text)
    if backbone is None:
        raise ValueError('unknown backbone %r' % text)
    if not all(0 <= v <= _MAX_FIELD for v in fields.values()):
        raise ValueError('%r: fields from 0 to %d' % (text, _MAX_FIELD))
    plain = ModelSpec(backbone.key, tuple(sorted(fields.items())), None)
    blocks = plain.blocks()                     # raises for a depth the family cannot have
    return tuple(plain._replace(attn=attn).name for attn in _attentions()
                 if _takes(backbone, attn) and _buildable(attn, blocks))


def list_models(pattern='*'):
    """Names of the models of every listed backbone that can be built, optionally filtered by
    a shell-style ``pattern`` (``'ini_wrn28_10_*'``).  Other depths are accepted by
    :func:`get_model` too (:func:`find_models` finds them)."""
    return [n for n in _all_models() if fnmatch.fnmatchcase(n, pattern)]


_GLOB = re.compile(r'[*?\[]')


@lru_cache(maxsize=None)
def _start_regex(template):
    """A regex of every start of a name of ``template`` (``'resnet{depth}'``: ``''``, ``'re'``,
    ``'resnet8'``, ...)."""
    options, head = [], ''
    for lit, field, flag in _template_tokens(template):
        options += [head + re.escape(lit[:i]) for i in range(len(lit) + 1)]
        head += re.escape(lit)
        if field and flag:
            options += [head + re.escape(flag[:i]) for i in range(1, len(flag) + 1)]
            head += '(?:%s)?' % re.escape(flag)
        elif field:
            options.append(head + r'\d*')
            head += r'\d+'
    return re.compile('(?:%s)' % '|'.join(options))


def shown_template(template):
    """``'wrn{depth}_{width}'`` -> ``'wrn<depth>_<width>'``."""
    return ''.join(lit + ('[%s]' % flag if flag else '<%s>' % field if field else '')
                   for lit, field, flag in _template_tokens(template))


def find_models(pattern='*'):
    """What ``python -m ini_gluon --list PATTERN`` prints: ``(names, notes)``.

    ``names`` are the buildable names matching the shell-style ``pattern``: those of
    :func:`list_models`, every backbone of a family with finitely many (the ImageNet ResNets,
    18 to 152), and the backbone the pattern spells before its first wildcard
    (``'ini_resnet8*'``: ``resnet8``, with every attention variant).  ``notes`` has one line for
    each family with unboundedly many backbones (any depth) whose names the pattern may reach:
    how its names are formed (the family's ``describe``), with examples.
    """
    match = _GLOB.search(pattern)
    literal = pattern[:match.start()] if match else pattern
    attn_type, rest = match_kind(literal)
    if attn_type is not None:
        rest = rest[1:]
    elif any((kind + '_').startswith(literal) for kind in attention_types()):
        rest = ''                             # still in the attention's name: any backbone
    texts = [t for b in _BACKBONES.values() for t in b.listed + (b.every or ())]
    texts += [t for t in (_valid_backbone_text(rest[:i]) for i in range(1, len(rest) + 1)) if t]
    owner = {}                                  # name -> its backbone's key
    for text in dict.fromkeys(texts):
        key = _match_backbone(text)[0].key
        owner.update((m, key) for m in backbone_models(text) if fnmatch.fnmatchcase(m, pattern))
    names = set(owner)
    notes = []
    for backbone in _BACKBONES.values():
        templates = backbone.names + backbone.aliases
        if backbone.every is not None or not any(_start_regex(t).fullmatch(rest)
                                                  for t in templates):
            continue
        # examples: its names that match (the G-filter set of the papers' best models first),
        # else InI on its first listed backbone
        examples = sorted((m for m, key in owner.items() if key == backbone.key),
                          key=lambda m: ('_mix5d' not in m, len(m), m))[:2] or \
            [m for m in (_canonical('ini_%s_mix5d' % t) for t in backbone.listed[:1]) if m]
        notes.append('%s%s: %s%s' % (
            ', '.join(shown_template(t) for t in backbone.names),
            ' (also %s)' % ', '.join(shown_template(t) for t in backbone.aliases)
            if backbone.aliases else '',
            backbone.describe or 'any ' + ', '.join(
                '<%s>' % f for _, f, _ in _template_tokens(templates[-1]) if f),
            '; e.g. %s' % ', '.join(examples) if examples else ''))
    return sorted(names), notes
