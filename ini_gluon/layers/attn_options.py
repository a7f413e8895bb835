"""The options an attention type takes, and the words of a name that spell them.

An attention type declares its options (:class:`AttnOption`), as a backbone declares the fields
of its name templates: a keyword, a default, a conversion that checks a value and returns its
canonical form, and optionally a :class:`NameSuffix`, the one word of a name (between ``_``)
that spells a value other than the default: ``_t8`` is t = 8.  A name writes the words of a
spec's options in the order the type declares them, each only where its value is not the
default (a ``required`` option always: the G-filter set of ``ini``); :func:`read_words` reads
them back, so that a name spells its spec whole.

The options several types share are here: ``reduction`` (t, ``_t<t>``), ``map_cols`` (M,
``_m<M>``) and ``spatial`` (τ, ``_spa<τ>``).
"""
import re
from collections import namedtuple

__all__ = ['AttnOption', 'NameSuffix', 'integer_suffix', 'flag_suffix', 'choice_suffix',
           'reads_word', 'read_words', 'option_words', 'REDUCTION', 'MAP_COLS', 'SPATIAL']


AttnOption = namedtuple('AttnOption', ['name', 'default', 'convert', 'suffix', 'doc',
                                       'required'], defaults=(None, None, '', False))
AttnOption.__doc__ = """An option of an attention type.

name : str -- the keyword (``get_model(..., k=5)``) and the spec's attribute (``spec.k``).
default : the value where none is given (hashable).
convert : ``convert(value)`` -> the canonical value (hashable), raising ``ValueError`` for a
    value the option cannot take; ``None``: taken as given.
suffix : :class:`NameSuffix` or ``None`` -- how a name spells a value; ``None``: the option
    is in the spec but never in its name.
doc : str -- what it is, a few words for messages (``'the reduction ratio'``).
required : bool -- whether a model name must spell it (``ini``'s G-filter set); an attention
    name may leave it out for its default (``'ini'`` is ``'ini_mix5d'``).
"""

NameSuffix = namedtuple('NameSuffix', ['regex', 'parse', 'format', 'shown'])
NameSuffix.__doc__ = """One word of a name spelling an option's value.

regex : str -- the word (matched whole, without ``_``).
parse : ``parse(match)`` -> the value.
format : ``format(value)`` -> the word.
shown : str -- the word as messages show it (``'t<t>'``).
"""


def integer_suffix(prefix, symbol):
    """``<prefix><n>`` for a positive integer n: ``integer_suffix('t', 't')`` spells t = 8
    ``t8``."""
    return NameSuffix(re.escape(prefix) + r'([1-9]\d*)', lambda m: int(m.group(1)),
                      lambda value: '%s%d' % (prefix, value), '%s<%s>' % (prefix, symbol))


def flag_suffix(word, value):
    """The word ``word`` for the one value ``value``: ``flag_suffix('nojoint', False)``."""
    return NameSuffix(re.escape(word), lambda m: value, lambda v: word, word)


def choice_suffix(choices):
    """Each of the string values ``choices`` is its own word: ``('fold', 'stack', 'alt')``."""
    return NameSuffix('|'.join(re.escape(c) for c in choices), lambda m: m.group(0), str,
                      '|'.join(choices))


def reads_word(option, word):
    """The match of the word ``word`` by ``option``'s suffix, or ``None``."""
    return option.suffix is not None and re.fullmatch(option.suffix.regex, word)


def read_words(options, words):
    """``({name: value}, unread words)``: ``words`` (a name's words after the backbone, or
    after the kind in an attention name) read by ``options`` in their order.  Each word is read
    by one of the options after the last one read; a word several of them read goes to the
    last of those (``ini``'s G-filter set, read first, reads any word: ``nojoint`` is joint's,
    ``t8`` the reduction's).  Reading stops at the first word none reads."""
    values, left = {}, list(options)
    for i, word in enumerate(words):
        readers = [(o, m) for o, m in ((o, reads_word(o, word)) for o in left) if m]
        if not readers:
            return values, list(words[i:])
        option, match = readers[-1]
        values[option.name] = option.suffix.parse(match)
        left = left[left.index(option) + 1:]
    return values, []


def option_words(options, values):
    """The words of a name that spell ``values`` (``{name: value}``, every option's): one for
    each option with a suffix whose value is not its default, or that is ``required``."""
    return [o.suffix.format(values[o.name]) for o in options if o.suffix is not None and
            (o.required or values[o.name] != o.default)]


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _reduction(value):
    if not (_integer(value) and value >= 1):
        raise ValueError('reduction ratio t must be a positive integer, not %r' % (value,))
    return value


def _map_cols(value):
    if value is not None and not (_integer(value) and value >= 1):
        raise ValueError('map_cols must be a positive integer, not %r' % (value,))
    return value


def _spatial(value):
    if not (_integer(value) and value >= 0):
        raise ValueError('spatial (the number of spatial maps) must be an integer >= 0, not %r'
                         % (value,))
    return value


REDUCTION = AttnOption('reduction', 16, _reduction, integer_suffix('t', 't'),
                       'the reduction ratio')
MAP_COLS = AttnOption('map_cols', None, _map_cols, integer_suffix('m', 'M'),
                      "an exact column count of every block's inner-imaged map")
SPATIAL = AttnOption('spatial', 0, _spatial,
                     NameSuffix(r'spa([1-9]\d*)?', lambda m: int(m.group(1) or 1),
                                lambda value: 'spa' if value == 1 else 'spa%d' % value,
                                'spa<τ>'), 'spatial attention')
