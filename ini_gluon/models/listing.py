"""What can be built: the names matching a pattern (:func:`list_models`, and with the notes
on the families of any depth, what ``python -m ini_gluon --list PATTERN`` prints:
:func:`find_models`), every attention on one backbone (:func:`backbone_models`), and the
listed backbones' names the suggestions for a wrong name draw on (:func:`all_models`).

The catalogue is every listed backbone of each registered family, and every backbone of a
family with finitely many, with every attention variant its blocks can take (each type's
``variants``); the names of a backbone are computed once per set of registered backbones and
attention types.
"""
import fnmatch
import re
from functools import lru_cache

from ..layers.create_attn import AttnSpec, attention_types, match_kind
from .families import MAX_FIELD, backbones, match_backbone, valid_backbone_text
from .names import ModelSpec, parse_model_name, takes_attention
from .residual import check_blocks
from .templates import shown_template, start_regex, template_tokens

__all__ = ['list_models', 'find_models', 'backbone_models', 'shown_template']


@lru_cache(maxsize=8)
def _attentions(_attention_types):
    """Every attention :func:`list_models` lists: ``None`` and each type's variants (once per
    set of registered attention types, the key)."""
    return (None,) + tuple(AttnSpec(attn_type.kind, **variant)
                           for attn_type in attention_types().values()
                           for variant in attn_type.variants)


def buildable(attn, blocks):
    """Whether every block of ``blocks`` can take the attention ``attn``."""
    try:
        check_blocks(attn, blocks)
    except ValueError:
        return False
    return True


def canonical(name):
    """The canonical name of ``name`` if it parses and builds, else ``None``."""
    try:
        spec = parse_model_name(name)           # checks the attention against the family
    except ValueError:
        return None
    return spec.name if buildable(spec.attn, spec.blocks()) else None


def _registered():
    """What the cached listings depend on: the registered backbones and attentions."""
    return (tuple((k, id(b)) for k, b in backbones().items()),
            tuple((k, id(t)) for k, t in attention_types().items()))


def all_models():
    """Every listed name, computed once per set of registered backbones and attentions."""
    return _listing(*_registered())


@lru_cache(maxsize=None)
def _listing(_backbones, _attention_types):
    names = []
    for backbone in backbones().values():
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
    backbone, fields = match_backbone(text)
    if backbone is None:
        raise ValueError('unknown backbone %r' % text)
    if not all(0 <= v <= MAX_FIELD for v in fields.values()):
        raise ValueError('%r: fields from 0 to %d' % (text, MAX_FIELD))
    plain = ModelSpec(backbone.key, tuple(sorted(fields.items())), None)
    blocks = plain.blocks()                     # raises for a depth the family cannot have
    return tuple(plain._replace(attn=attn).name for attn in _attentions(_attention_types)
                 if takes_attention(backbone, attn) and buildable(attn, blocks))


def list_models(pattern='*'):
    """The buildable names matching the shell-style ``pattern`` (``'ini_wrn28_10_*'``), sorted:
    what ``python -m ini_gluon --list PATTERN`` prints (:func:`find_models`).

    Without a pattern, or with one that spells no backbone before its first wildcard, the
    catalogue: every listed backbone of each family (the papers') and every backbone of a
    family that has finitely many (the ImageNet ResNets, 18 to 152), each with every attention
    variant its blocks take.  A pattern that spells a backbone adds that backbone's models
    (``'ini_resnet8*'``: every attention on ``resnet8``); :func:`get_model` builds any depth of
    a family, listed or not.
    """
    return _matching(pattern)[0]


_GLOB = re.compile(r'[*?\[]')


def _spelled_backbones(pattern):
    """``(backbone text of the pattern, [backbone names to list])``: every listed backbone and
    every one of a finite family, and those the pattern spells before its first wildcard."""
    match = _GLOB.search(pattern)
    literal = pattern[:match.start()] if match else pattern
    attn_type, rest = match_kind(literal)
    if attn_type is not None:
        rest = rest[1:]
    elif any((kind + '_').startswith(literal) for kind in attention_types()):
        rest = ''                             # still in the attention's name: any backbone
    texts = [t for b in backbones().values() for t in b.listed + (b.every or ())]
    texts += [t for t in (valid_backbone_text(rest[:i]) for i in range(1, len(rest) + 1)) if t]
    return rest, list(dict.fromkeys(texts))


def _note(backbone, owner):
    """The ``--list`` line on how the names of ``backbone``'s family are formed, with examples:
    its names that match (the G-filter set of the papers' best models first), else InI on its
    first listed backbone."""
    templates = backbone.names + backbone.aliases
    examples = sorted((m for m, key in owner.items() if key == backbone.key),
                      key=lambda m: ('_mix5d' not in m, len(m), m))[:2] or \
        [m for m in (canonical('ini_%s_mix5d' % t) for t in backbone.listed[:1]) if m]
    return '%s%s: %s%s' % (
        ', '.join(shown_template(t) for t in backbone.names),
        ' (also %s)' % ', '.join(shown_template(t) for t in backbone.aliases)
        if backbone.aliases else '',
        backbone.describe or 'any ' + ', '.join(
            '<%s>' % f for _, f, _ in template_tokens(templates[-1]) if f),
        '; e.g. %s' % ', '.join(examples) if examples else '')


def find_models(pattern='*'):
    """What ``python -m ini_gluon --list PATTERN`` prints: ``(names, notes)``.

    ``names`` are the buildable names matching the shell-style ``pattern``: those of
    :func:`list_models`, every backbone of a family with finitely many (the ImageNet ResNets,
    18 to 152), and the backbone the pattern spells before its first wildcard
    (``'ini_resnet8*'``: ``resnet8``, with every attention variant).  ``notes`` has one line for
    each family with unboundedly many backbones (any depth) whose names the pattern may reach:
    how its names are formed (the family's ``describe``), with examples.
    """
    names, rest, owner = _matching(pattern)
    notes = [_note(backbone, owner) for backbone in backbones().values()
             if backbone.every is None and any(start_regex(t).fullmatch(rest) for t in
                                               backbone.names + backbone.aliases)]
    return names, notes


def _matching(pattern):
    """``(sorted names, backbone text of the pattern, {name: its backbone's key})``: the names
    of :func:`find_models`."""
    if not isinstance(pattern, str):
        raise ValueError('a model name pattern is a string, not %r' % (pattern,))
    rest, texts = _spelled_backbones(pattern)
    owner = {}
    for text in texts:
        key = match_backbone(text)[0].key
        owner.update((m, key) for m in backbone_models(text) if fnmatch.fnmatchcase(m, pattern))
    return sorted(owner), rest, owner
