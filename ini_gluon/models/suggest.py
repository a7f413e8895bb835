"""The error a user sees for a name that is not a model: what is wrong, what GluonCV's names of
models not built here are, and the closest valid names (:func:`resolve_model_name`).

The suggestions keep what the name says: its attention and options, and its depth -- an
impossible depth goes first to a sibling family that has it (``resnet56_v1`` -> ``resnet56``),
then to the nearest depths of the family the name spells; GluonCV's name of a model not built
here to our counterpart (``cifar_resnet56_v1``: the post-activation CIFAR ResNet; ours is the
pre-activation ``resnet56``).
"""
import difflib
import re

from ..layers.create_attn import parse_attn
from .listing import all_models, backbone_models, canonical
from .families import (backbones, format_backbone, match_backbone, valid_backbone_text,
                       valid_fields)
from .names import ModelSpec, checked_spec, parse_model_name, word_options
from .templates import fields_of, template_fields, template_regex

__all__ = ['resolve_model_name']

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


def resolve_model_name(name):
    """:func:`parse_model_name`, with the error a user sees: the name and the closest valid
    names.  A :class:`ModelSpec` is returned as it is."""
    if isinstance(name, ModelSpec):
        if name.backbone not in backbones():
            raise ValueError('unknown backbone %r: expected one of %s'
                             % (name.backbone, ', '.join(sorted(backbones()))))
        return checked_spec(name)._replace(attn=parse_attn(name.attn))
    if not isinstance(name, str):
        raise ValueError('model name must be a string, not %r' % (name,))
    try:
        return parse_model_name(name)
    except ValueError as err:
        note = _not_built_note(name)
        raise ValueError('unknown model name %r (%s%s); closest valid names: %s'
                         % (name, err, '; ' + note if note else '', ', '.join(_near(name))))


def _bounded(text, start, end):
    return (start == 0 or not text[start - 1].isalnum()) and \
        (end == len(text) or not text[end].isalnum())


def _spelled_backbone(text):
    """The longest backbone-like part of ``text`` (a word of its own): ``(start, end, Backbone
    or None, fields, not-built entry or None)``, or ``None``."""
    found = []
    for backbone in backbones().values():
        for template in backbone.names + backbone.aliases:
            for m in template_regex(template).finditer(text):
                if _bounded(text, m.start(), m.end()):
                    fields = dict(backbone.defaults)
                    fields.update(fields_of(m))
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
    text = valid_backbone_text(counterpart.format(**fields)) if counterpart else None
    if text is not None:
        note += '; ' + how.format(counterpart=text, **fields)
    return note


def _distance(fields, wanted):
    return sum(abs(fields.get(k, v) - v) / max(abs(v), 1) for k, v in wanted.items())


def _nearest_backbones(backbone, fields, k=2, reach=64):
    """Valid backbone names of ``backbone`` nearest to ``fields`` (an invalid set): from
    ``every`` where the family has finitely many, else one field moved by up to ``reach``."""
    if backbone.every is not None:
        options = [match_backbone(t)[1] for t in backbone.every]
    else:
        options = [dict(fields, **{key: value + step})
                   for key, value in sorted(fields.items()) for step in range(-reach, reach + 1)
                   if step]
        options = [f for f in options if valid_fields(backbone, f)]
    options.sort(key=lambda f: (_distance(f, fields), -sum(f.values())))
    return [format_backbone(backbone, f) for f in options[:k]]


def _siblings(backbone, fields):
    """Valid backbones of the other families of the same recipe family with the same values of
    the fields they share (``resnet56_v1`` -> ``resnet56``; ``resnet18`` -> ``resnet18_v1``,
    ``resnet18_v2``)."""
    names = []
    for other in backbones().values():
        if other.key == backbone.key or other.family != backbone.family:
            continue
        if other.every is not None:
            names += [t for t in other.every if all(
                match_backbone(t)[1].get(k, v) == v for k, v in fields.items())
                and set(match_backbone(t)[1]) & set(fields)]
            continue
        own = set().union(*(template_fields(t) for t in other.names))
        if own and own <= set(fields) | set(other.defaults):
            mine = dict(other.defaults, **{k: fields[k] for k in own if k in fields})
            if valid_fields(other, mine):
                names.append(format_backbone(other, mine))
    return names


def _without_a_word(text):
    """``text`` without each word that an option spells (``_nojoint``, ``_spa``), where that
    makes a valid name: an option the attention cannot take, or in the wrong place."""
    words = text.split('_')
    return [canonical('_'.join(words[:i] + words[i + 1:]))
            for i in range(1, len(words)) if word_options(words[i])]


def _repairs(text, n):
    """``(repaired names, Backbone or None)``: where ``text`` spells a backbone (a word of its
    own), the names with that backbone repaired -- GluonCV's name of a model not built here by
    our counterpart (``cifar_resnet56_v1`` -> ``resnet56``), an impossible depth by the same
    depth in a sibling family (same recipe family) that has it (``resnet56_v1`` ->
    ``resnet56``, ``resnet18`` -> ``resnet18_v1``), then by the nearest depths of the family it
    spells (these first where one keeps the depth: ``resnet50_v3`` -> ``resnet50_v2``); a
    valid backbone is kept, with the closest spellings of its names (up to ``n`` of them)."""
    found = _spelled_backbone(text)
    if found is None:
        return [], None
    start, end, backbone, fields, not_built = found
    if not_built is not None:
        repairs, backbone = [], None
        if not_built[2] is not None:
            backbone, fields = match_backbone(not_built[2].format(**fields))
        if backbone is not None:
            repairs = ([format_backbone(backbone, fields)] if valid_fields(backbone, fields)
                       else _nearest_backbones(backbone, fields))
    elif valid_fields(backbone, fields):
        repairs = [format_backbone(backbone, fields)]
    else:
        repairs = _ordered_repairs(_siblings(backbone, fields),
                                   _nearest_backbones(backbone, fields), fields)
    names = [m for repair in repairs
             for m in _repaired(text, start, end, repair, n if len(repairs) == 1 else 1)]
    return names, backbone


def _near(name, n=3):
    """The valid names closest to ``name``, each buildable: first the name without an option
    it cannot take; then the name with the backbone it spells repaired (:func:`_repairs`); last
    the most similar listed names of the same input size (CIFAR or ImageNet), then of any."""
    text = name.lower()
    near = []

    def add(names):
        near.extend(m for m in names if m and m not in near)

    add(_without_a_word(text))
    repaired, backbone = _repairs(text, n)
    add(repaired)
    pool = all_models()
    if backbone is not None:
        pool = [m for b in backbones().values() if b.input_shape == backbone.input_shape
                for t in b.listed for m in backbone_models(t)] or pool
    add(difflib.get_close_matches(text, pool, n=n, cutoff=0.5))
    add(difflib.get_close_matches(text, all_models(), n=n, cutoff=0.5))
    return near[:n] or ['wrn28_10', 'se_wrn28_10', 'ini_wrn28_10_mix5d']


def _ordered_repairs(siblings, nearest, fields):
    """The depth a name gives is kept first: the sibling families' backbones of the same depth
    come before the family's nearest, unless one of those keeps the depth too (``resnet50_v3``
    -> ``resnet50_v2`` before ``resnet50``)."""
    shared = {k for t in siblings for k in match_backbone(t)[1] if k in fields}
    if any(all(match_backbone(t)[1][k] == fields[k] for k in shared) for t in nearest):
        return nearest + siblings
    return siblings + nearest


def _repaired(text, start, end, backbone_text, k):
    """Up to ``k`` valid names: ``text`` with its part ``[start:end]`` replaced by the backbone
    ``backbone_text``, or else the closest spellings of that backbone's names."""
    candidate = text[:start] + backbone_text + text[end:]
    valid = canonical(candidate)
    if valid is not None:
        return [valid]
    return difflib.get_close_matches(candidate, backbone_models(backbone_text), n=k, cutoff=0.5)

