"""Model names: a name is parsed once into a :class:`ModelSpec`, everything after works on the
spec.

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
baseline), and so are GluonCV's (``cifar_wideresnet28_10``, ``cifar_resnet110_v2``: templates of
their backbones).
"""
import re
from collections import namedtuple

from ..layers.create_attn import (AttnSpec, attention_types, match_kind, parse_attn,
                                  split_spatial, suffix_name, spatial_name)
from .families import (MAX_FIELD, check_flags, format_backbone, match_backbone,
                       registered_backbone)
from .templates import template_fields

__all__ = ['ModelSpec', 'parse_model_name', 'model_name', 'check_attention']


class ModelSpec(namedtuple('ModelSpec', ['backbone', 'args', 'attn'])):
    """A model: the key of its registered backbone, the backbone's fields as sorted
    ``(name, value)`` pairs, and an :class:`~ini_gluon.layers.AttnSpec` (``None``: plain).
    Immutable and hashable; ``spec.name`` is the canonical model name."""
    __slots__ = ()

    @property
    def entry(self):
        """The registered :class:`Backbone`."""
        return registered_backbone(self.backbone)

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
    backbone = format_backbone(spec.entry, spec.kwargs)
    attn = spec.attn
    if attn is None:
        return backbone
    return '%s_%s%s%s' % (attn.kind, backbone, suffix_name(attn), spatial_name(attn))


# the original CMPE-SE code calls its SE baseline cmpe_se_<backbone>
_MODEL_ALIASES = [(re.compile(r'^cmpe_se_((?:resnet|wrn)[0-9_]+)$'), r'se_\1')]


def _resolve_alias(name):
    for regex, repl in _MODEL_ALIASES:
        if regex.match(name):
            return regex.sub(repl, name)
    return name


def _split_suffix(attn_type, rest):
    """``(backbone text, suffix match, (Backbone, fields))``: the split of ``rest`` whose tail
    is the attention's suffix and whose head a backbone (rightmost first); ``(head, None,
    (None, None))`` where none is."""
    if match_backbone(rest)[0] is not None:
        raise ValueError('an %s_ name needs %s after the backbone, e.g. %s'
                         % (attn_type.kind, attn_type.suffix.what, _example(attn_type)))
    regex = re.compile(attn_type.suffix.model_regex)
    tails = [m.start() for m in re.finditer('_', rest) if regex.fullmatch(rest[m.start():])]
    for i in tails[::-1]:
        found = match_backbone(rest[:i])
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
    backbone, fields = found if found is not None else match_backbone(rest)
    if backbone is None:
        raise ValueError('unknown backbone %r' % rest)
    spec = checked_spec(ModelSpec(backbone.key, tuple(sorted(fields.items())), None))
    if attn_type is None:
        return spec
    options = attn_type.suffix.parse(match) if attn_type.suffix is not None else {}
    spec = spec._replace(attn=parse_attn(AttnSpec(attn_type.kind, spatial=spatial, **options)))
    check_attention(spec.entry, spec.attn)
    return spec


def takes_attention(backbone, attn):
    """Whether the family's blocks take the attention ``attn`` (``None``: plain, always)."""
    return attn is None or backbone.attentions is None or attn.kind in backbone.attentions


def check_attention(backbone, attn):
    """Raise ``ValueError`` where the family's blocks do not take the attention ``attn``."""
    if takes_attention(backbone, attn):
        return
    raise ValueError('%s takes %s' % (
        backbone.key, 'no attention: it has no attention block' if not backbone.attentions
        else 'only the attention %s, not %s' % (', '.join(backbone.attentions), attn.kind)))


def checked_spec(spec):
    """``spec`` with its backbone's defaults filled in and its fields sorted, after checking
    them against the backbone's templates and blocks."""
    entry = spec.entry
    known = set().union(*(template_fields(t) for t in entry.names))
    fields = dict(entry.defaults, **dict(spec.args))
    for key, value in sorted(fields.items()):
        if key not in known:
            raise ValueError('%s has no field %r: expected %s'
                             % (entry.key, key, ', '.join(sorted(known))))
        if not (isinstance(value, int) and not isinstance(value, bool)) or \
                not 0 <= value <= MAX_FIELD:
            raise ValueError('%s=%r: expected an integer from 0 to %d'
                             % (key, value, MAX_FIELD))
    missing = known - set(fields)
    if missing:
        raise ValueError('%s needs %s' % (entry.key, ', '.join(sorted(missing))))
    check_flags(entry, fields)
    spec = spec._replace(args=tuple(sorted(fields.items())))
    spec.blocks()  # checks the depth / width
    return spec
