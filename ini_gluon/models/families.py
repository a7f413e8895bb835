"""The registered backbone families: each registers its name templates, the shape of its
attention blocks and how it trains (:func:`register_backbone`); a backbone name is read into
the family and its fields, and written back (:func:`match_backbone`, :func:`format_backbone`).

Adding a backbone is one module with one decorated constructor (the package imports every
module of ``ini_gluon.models``).
"""
from collections import namedtuple

from .templates import fields_of, fill, template_fields, template_regex, template_tokens

__all__ = ['Backbone', 'register_backbone', 'backbones', 'registered_backbone',
           'match_backbone', 'format_backbone', 'valid_fields', 'valid_backbone_text',
           'check_flags', 'DEFAULT_INPUT_SHAPE', 'MAX_FIELD']

DEFAULT_INPUT_SHAPE = (1, 3, 32, 32)
MAX_FIELD = 10000          # the largest value of a backbone field a name may give

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
        (:mod:`ini_gluon.training.recipes`: ``'sinet'``); ``None``: the one the name or the
        attention implies, else the InI paper's (:func:`model_paper`).
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


def registered_backbone(key):
    """The registered :class:`Backbone` of ``key`` (``KeyError`` for none)."""
    return _BACKBONES[key]


def match_backbone(text):
    """``(Backbone, fields)`` of the backbone name ``text``, or ``(None, None)``."""
    for backbone in _BACKBONES.values():
        for template in backbone.names + backbone.aliases:
            match = template_regex(template).fullmatch(text)
            if match:
                fields = dict(backbone.defaults)
                fields.update(fields_of(match))
                return backbone, fields
    return None, None


def format_backbone(backbone, fields):
    """The canonical backbone name of ``fields`` (the first template that fits)."""
    for template in backbone.names:
        used = template_fields(template)
        if all(backbone.defaults.get(k) == v for k, v in fields.items() if k not in used):
            return fill(template, fields)
    raise ValueError('no name template of %s fits %r' % (backbone.key, fields))


def check_flags(backbone, fields):
    flags = {field for t in backbone.names + backbone.aliases
             for _, field, flag in template_tokens(t) if field and flag}
    for key in sorted(flags & set(fields)):
        if fields[key] not in (0, 1):
            raise ValueError('%s is a flag of %s: 0 or 1, not %r' % (key, backbone.key,
                                                                    fields[key]))


def valid_fields(backbone, fields):
    """Whether ``fields`` make a backbone of the family (its blocks accept them)."""
    if not all(0 <= v <= MAX_FIELD for v in fields.values()):
        return False
    try:
        check_flags(backbone, fields)
        backbone.blocks(**fields)
    except (ValueError, TypeError):
        return False
    return True


def valid_backbone_text(text):
    """The canonical backbone name of ``text``, or ``None`` where it is not a valid one."""
    backbone, fields = match_backbone(text)
    if backbone is None or not valid_fields(backbone, fields):
        return None
    return format_backbone(backbone, fields)
