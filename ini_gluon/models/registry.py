"""The model registry: names parsed into a backbone and an attention.

A name is ``[<attention>_]<backbone>``:

* ``<backbone>`` -- any depth of a registered family: ``resnet110``, ``resnet164`` (pre-act,
  CIFAR), ``wrn28_10``, ``wrn40_4`` (WRN-depth-k);
* ``<attention>`` -- none (plain), ``se``, ``cmpe_se_<mode>`` (mode in doublefc, 1x1, 2x1, 3x3),
  or ``ini``, in which case the G-filter set of Table I follows the backbone, then optionally
  ``_nojoint`` (the ``*`` rows: residual signal alone) and ``_concat`` (eq. 11 literally):
  ``ini_wrn28_10_mix5d``, ``ini_resnet164_square1_nojoint``.

The original CMPE-SE code's names are accepted as aliases (its ``cmpe_se_resnet164`` is the SE
baseline), and so are GluonCV's (``cifar_wideresnet28_10``, ``cifar_resnet110_v2``).
"""
import difflib
import fnmatch
import re
from collections import namedtuple
from functools import lru_cache

from ..layers.create_attn import parse_attn, AttnSpec, CMPE_SE_MODES
from ..layers.g_filters import parse_g_filters, set_names
from .residual import check_attention

__all__ = ['register_backbone', 'get_model', 'list_models', 'parse_model_name',
           'resolve_model_name',
           'DEFAULT_INPUT_SHAPE']

DEFAULT_INPUT_SHAPE = (1, 3, 32, 32)
Backbone = namedtuple('Backbone', ['regex', 'constructor', 'stages', 'listed', 'input_shape',
                                   'family'])
_BACKBONES = []
_ALIASES = [(re.compile(r'^cmpe_se_((?:resnet|wrn)[0-9_]+)$'), r'se_\1')]
_ATTN_PREFIXES = ['se'] + ['cmpe_se_' + m for m in CMPE_SE_MODES] + ['ini']
_ATTN_OPTIONS = set(AttnSpec._fields) - {'kind'}


def register_backbone(pattern, stages, listed, family, aliases=(),
                      input_shape=DEFAULT_INPUT_SHAPE):
    """Register a backbone family.

    Parameters
    ----------
    pattern : str
        Regular expression of the backbone part of a name; its named groups (integers) are
        passed to the constructor.
    stages : callable
        ``stages(**groups)`` -> list of ``(label, C, map_cols)``, to check configurations.
    listed : list of str
        The backbones :func:`list_models` enumerates.
    family : str
        Which of the papers' training schedules the backbone follows: ``'resnet'`` (pre-act
        ResNet: decay at fractions of the run) or ``'wrn'`` (fixed decay epochs); see
        :mod:`ini_gluon.training.recipes`.
    aliases : list of (pattern, replacement)
        Other names of the backbone (e.g. GluonCV's).
    input_shape : tuple
        The input of one image (``net.input_shape``: summaries, counts, FLOPs).
    """
    def wrap(constructor):
        _BACKBONES.append(Backbone(re.compile('^%s$' % pattern), constructor, stages, listed,
                                   tuple(input_shape), family))
        for alias, repl in aliases:
            _ALIASES.append((re.compile(r'^((?:%s)_)?%s$' % ('|'.join(_ATTN_PREFIXES), alias)),
                             _shift(repl)))
        _all_models.cache_clear()
        return constructor
    return wrap


def _shift(repl):
    """Shift the group references of an alias replacement by one (group 1 is the prefix)."""
    return r'\1' + re.sub(r'\\(\d)', lambda m: '\\%d' % (int(m.group(1)) + 1), repl)


def _match_backbone(text):
    for backbone in _BACKBONES:
        match = backbone.regex.match(text)
        if match:
            return backbone, {k: int(v) for k, v in match.groupdict().items()}
    return None, None


def _resolve_alias(name):
    for regex, repl in _ALIASES:
        if regex.match(name):
            return regex.sub(repl, name)
    return name


def parse_model_name(name):
    """Split a model name into ``(backbone, backbone_args, attention_name)``.

    ``attention_name`` is ``None`` for the plain backbone.  Raises ``ValueError`` for a name
    that does not follow the naming (without suggestions; :func:`get_model` adds them).
    """
    name = _resolve_alias(name.lower())
    spa = re.search(r'_spa\d*$', name)
    spa, name = (spa.group(0), name[:spa.start()]) if spa else ('', name)
    attn, rest = None, name
    for prefix in sorted(_ATTN_PREFIXES, key=len, reverse=True):
        if name.startswith(prefix + '_'):
            attn, rest = prefix, name[len(prefix) + 1:]
            break
    if attn == 'ini':
        options = ''
        for suffix in ('_concat', '_nojoint'):
            if rest.endswith(suffix):
                options, rest = suffix + options, rest[:-len(suffix)]
        if '_' not in rest or _match_backbone(rest)[0] is not None:
            raise ValueError('an ini_ name needs a G-filter set after the backbone, '
                             'e.g. ini_wrn28_10_mix5d')
        rest, g_set = rest.rsplit('_', 1)
        attn = 'ini_%s%s' % (g_set, options)
        parse_attn(attn)  # checks the set and the options together
    if spa:
        if attn is None:
            raise ValueError('spatial attention (%s) goes with a channel attention: se_, '
                             'cmpe_se_<mode>_ or ini_' % spa[1:])
        attn += spa
        parse_attn(attn)
    backbone, args = _match_backbone(rest)
    if backbone is None:
        raise ValueError('unknown backbone %r' % rest)
    backbone.stages(**args)  # checks the depth / width
    return backbone, args, attn


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
    names."""
    if not isinstance(name, str):
        raise ValueError('model name must be a string, not %r' % (name,))
    try:
        return parse_model_name(name)
    except ValueError as err:
        raise ValueError('unknown model name %r (%s); closest valid names: %s'
                         % (name, err, ', '.join(_near(name))))


def get_model(name, **kwargs):
    """Build a model by name.

    Parameters
    ----------
    name : str
        E.g. ``'ini_wrn28_10_mix5d'``, ``'se_resnet164'``, ``'cmpe_se_3x3_wrn28_10'``.
    **kwargs
        Passed to the backbone constructor (``classes``, ``drop_rate``, ``norm_layer``, ...),
        except the attention options ``g_filters``, ``joint``, ``aggregation``, ``layout``,
        ``reduction``, ``map_cols``, which override those of the name.

    Returns
    -------
    HybridBlock
        Not initialised, as GluonCV's models; ``net.model_name`` holds the canonical name.

    Raises
    ------
    ValueError
        For an unknown or malformed name (naming the closest valid names), or a configuration
        that cannot be built (naming the block and the shapes).
    """
    backbone, args, attn = resolve_model_name(name)
    options = {k: kwargs.pop(k) for k in list(kwargs) if k in _ATTN_OPTIONS}
    try:
        if options and attn is None:
            raise ValueError('the plain backbone takes no attention options (%s)'
                             % ', '.join(sorted(options)))
        if options:
            attn = parse_attn(attn, **options)
        net = backbone.constructor(attn=attn, **dict(args, **kwargs))
    except ValueError as err:
        raise ValueError('cannot build %r%s: %s' % (
            name, ' with %s' % ', '.join('%s=%r' % kv for kv in sorted(options.items()))
            if options else '', err))
    net.model_name = name
    net.input_shape = backbone.input_shape
    return net


def _variants():
    yield ''
    for attn in _ATTN_PREFIXES[:-1]:
        yield attn
    for g_set in set_names():
        yield 'ini_' + g_set
        if not g_set.startswith('simple'):
            yield 'ini_%s_nojoint' % g_set
        if len(parse_g_filters(g_set)) > 1:
            yield 'ini_%s_concat' % g_set
            if not g_set.startswith('simple'):
                yield 'ini_%s_nojoint_concat' % g_set
    for spa in ('_spa', '_spa4'):                   # Table V
        yield 'ini_mix5d' + spa


def _model_name(backbone, attn):
    if not attn:
        return backbone
    if attn.startswith('ini_'):
        parts = attn.split('_')
        return '_'.join(['ini', backbone] + parts[1:])
    return '%s_%s' % (attn, backbone)


def _buildable(backbone, args, attn):
    try:
        check_attention(attn, backbone.stages(**args))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=None)
def _all_models():
    names = []
    for backbone in _BACKBONES:
        for text in backbone.listed:
            args = _match_backbone(text)[1]
            for attn in _variants():
                if _buildable(backbone, args, attn or None):
                    names.append(_model_name(text, attn))
    return tuple(sorted(names))


def list_models(pattern='*'):
    """Names of the models of every listed backbone that can be built, optionally filtered by
    a shell-style ``pattern`` (``'ini_wrn28_10_*'``).  Other depths are accepted by
    :func:`get_model` too."""
    return [n for n in _all_models() if fnmatch.fnmatchcase(n, pattern)]
