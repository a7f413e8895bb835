"""Model names: a name is parsed once into a :class:`ModelSpec`, everything after works on the
spec.

A name is ``[<attention>_]<backbone>[_<word>...]``:

* ``<backbone>`` -- any depth of a registered family: ``resnet110``, ``resnet164`` (pre-act,
  CIFAR), ``wrn28_10`` (WRN-depth-k), ``resnet50_v2`` (ImageNet), ``allcnn``,
  ``pyramidnet272`` (α = 200; ``pyramidnet110_a48``); the longest start of the name (up to a
  ``_``) that is a backbone name is the backbone;
* ``<attention>`` -- a registered attention kind (:mod:`ini_gluon.layers.create_attn`): none
  (plain), ``se``, ``cbam``, ``cmpe_se_<mode>`` (mode in doublefc, 1x1, 2x1, 3x3), or ``ini``;
* ``<word>`` -- one per option of the attention whose value is not its default, in the order the
  kind declares them (:mod:`ini_gluon.layers.attn_options`): ``ini``'s G-filter set of Table I
  (always), ``_nojoint`` (the ``*`` rows: residual signal alone), ``_concat`` (eq. 11 read
  literally), a layout (``_fold``, ``_stack``, ``_alt``); and the shared ``_t<t>`` (reduction
  ratio), ``_m<M>`` (an exact column count of every inner-imaged map), ``_spa<τ>`` (spatial
  maps): ``ini_wrn28_10_mix5d``, ``ini_resnet164_square1_nojoint``, ``se_resnet164_t8_spa``.

So a name spells its spec whole: ``parse_model_name(spec.name) == spec`` for every spec.  The
original CMPE-SE code's names are accepted as aliases (its ``cmpe_se_resnet164`` is the SE
baseline, trained with the CMPE-SE paper's recipe: :func:`model_paper`), and so are GluonCV's
(``cifar_wideresnet28_10``, ``cifar_resnet110_v2``: templates of their backbones).
"""
import re
from collections import namedtuple

from ..layers.attn_options import read_words, reads_word
from ..layers.create_attn import AttnSpec, attention_types, match_kind, suffix_name
from .families import (MAX_FIELD, check_flags, format_backbone, match_backbone,
                       registered_backbone)
from .templates import template_fields

__all__ = ['ModelSpec', 'ModelAlias', 'MODEL_ALIASES', 'parse_model_name', 'model_name',
           'model_paper', 'check_attention']


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
    """The canonical name of a :class:`ModelSpec`: ``parse_model_name(model_name(spec)) ==
    spec`` for every spec (an attention option without a name suffix aside: none of the
    project's)."""
    backbone = format_backbone(spec.entry, spec.kwargs)
    attn = spec.attn
    if attn is None:
        return backbone
    return '%s_%s%s' % (attn.kind, backbone, suffix_name(attn))


ModelAlias = namedtuple('ModelAlias', ['prefix', 'means', 'backbone', 'paper'])
ModelAlias.__doc__ = """Another code's name of an attention: ``<prefix>_<backbone>[_<word>...]``
is the attention ``means`` on a backbone whose name matches the regex ``backbone``, trained with
the recipe of ``paper`` (:func:`model_paper`)."""
# the original CMPE-SE code calls its SE baseline cmpe_se_<backbone>
MODEL_ALIASES = (ModelAlias('cmpe_se', 'se', r'(?:resnet|wrn)[0-9_]+', 'cmpe-se'),)


def _attention_of(text):
    """``(AttnType or None, ModelAlias or None, rest)``: the attention a name starts with (a
    registered kind, else an alias), and the rest of the name (``'_'`` first where not empty)."""
    attn_type, rest = match_kind(text)
    if attn_type is None:
        for alias in MODEL_ALIASES:
            if text.startswith(alias.prefix + '_'):
                return attention_types()[alias.means], alias, text[len(alias.prefix):]
    return attn_type, None, rest


def _split_backbone(text):
    """``(Backbone, fields, backbone text, words)``: the longest start of ``text`` up to a ``_``
    that is a backbone name, and the words after it; ``(None, None, None, [])`` for none."""
    for end in [len(text)] + [m.start() for m in re.finditer('_', text)][::-1]:
        backbone, fields = match_backbone(text[:end])
        if backbone is not None:
            return backbone, fields, text[:end], text[end + 1:].split('_') if text[end:] else []
    return None, None, None, []


def _example(attn_type):
    return '%s_wrn28_10%s' % (attn_type.kind, suffix_name(AttnSpec(attn_type.kind)))


def word_options(word):
    """``[(AttnOption, kind)]`` of the options, none required, whose suffix reads ``word``."""
    return [(o, kind) for kind, t in sorted(attention_types().items()) for o in t.options
            if not o.required and reads_word(o, word)]


def _misplaced(attn_type, word):
    """Why ``word`` after the backbone is not one of ``attn_type``'s: the option of another
    kind it spells, or the order of its own words."""
    for option, _ in word_options(word):
        if option.name not in {o.name for o in attn_type.options}:
            try:
                AttnSpec(attn_type.kind, **{option.name: option.default})
            except ValueError as err:
                return ' (%s)' % err
    if any(reads_word(o, word) for o in attn_type.options if not o.required):
        return ' (the words of %s go in the order %s)' % (attn_type.kind, ', '.join(
            '_' + o.suffix.shown for o in attn_type.options if o.suffix))
    return ''


def _option_values(attn_type, words, rest):
    """``{option: value}`` the words after the backbone spell, every required one among them."""
    values, unread = read_words(attn_type.options, words)
    if unread:
        raise ValueError('unknown backbone %r%s' % (rest, _misplaced(attn_type, unread[0])))
    missing = [o for o in attn_type.options if o.required and o.name not in values]
    if missing:
        raise ValueError('an %s_ name needs %s after the backbone, e.g. %s'
                         % (attn_type.kind, missing[0].doc, _example(attn_type)))
    return values


def _plain(text):
    backbone, fields = match_backbone(text)
    if backbone is None:
        words = _split_backbone(text)[3]
        readers = word_options(words[0]) if words else []
        if readers:
            raise ValueError('%s (%s) goes with a channel attention: %s' % (
                readers[0][0].doc, words[0], ', '.join(
                    dict.fromkeys(kind + '_' for o, kind in readers
                                  if o.name == readers[0][0].name))))
        raise ValueError('unknown backbone %r' % text)
    return checked_spec(ModelSpec(backbone.key, tuple(sorted(fields.items())), None))


def parse_model_name(name):
    """The :class:`ModelSpec` of a model name.  Raises ``ValueError`` for a name that does not
    follow the naming (without suggestions; :func:`resolve_model_name` adds them)."""
    text = name.lower()
    attn_type, alias, rest = _attention_of(text)
    if attn_type is None:
        return _plain(text)
    rest = rest[1:]
    backbone, fields, backbone_text, words = _split_backbone(rest)
    if backbone is None or (alias is not None and
                            not re.fullmatch(alias.backbone, backbone_text)):
        raise ValueError('unknown backbone %r' % (rest if alias is None else text))
    values = _option_values(attn_type, words, rest)
    spec = checked_spec(ModelSpec(backbone.key, tuple(sorted(fields.items())), None))
    spec = spec._replace(attn=AttnSpec(attn_type.kind, **values))
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


def model_paper(name):
    """The paper whose training recipe a model follows, for ``--preset paper``: the paper its
    backbone registers (``register_backbone(..., paper='sinet')``: SINet and its ablation
    networks), else the one its name implies as the alias it is (``cmpe_se_resnet164``, the
    original CMPE-SE code's SE baseline: ``'cmpe-se'``), else its attention type's
    (``cmpe_se_*``: ``'cmpe-se'``), else ``None`` (the caller's default: the InI paper).

    Parameters
    ----------
    name : str or ModelSpec
        The name as given (an alias keeps what it implies), or a spec (which holds no alias:
        ``cmpe_se_resnet164``'s spec is ``se_resnet164``'s).

    Raises
    ------
    ValueError
        For a name that does not parse (:func:`parse_model_name`).
    """
    if isinstance(name, ModelSpec):
        spec, alias = name, None
    else:
        spec, alias = parse_model_name(name), _attention_of(name.lower())[1]
    papers = (spec.entry.paper, alias.paper if alias is not None else None,
              spec.attn.type.paper if spec.attn is not None else None)
    return next((paper for paper in papers if paper is not None), None)
