"""Name templates of backbones: ``'wrn{depth}_{width}'``, integer fields in braces, and flags
(``'{exchange:_ex}'``: 1 where the name holds the text, 0 where it does not).

Pure string work: a template's fields, the regex that reads a name of it (and every start of
one, for ``--list`` patterns), the name it gives a set of fields, and how ``--list`` shows it.
"""
import re
import string
from functools import lru_cache

__all__ = ['template_tokens', 'template_fields', 'template_regex', 'start_regex', 'fields_of',
           'fill', 'shown_template']


def template_tokens(template):
    """``[(literal, field or None, flag text or '')]`` of a name template."""
    return [(lit, field, spec or '') for lit, field, spec, _ in
            string.Formatter().parse(template)]


def template_fields(template):
    """The names of the fields of ``template``."""
    return {field for _, field, _ in template_tokens(template) if field}


@lru_cache(maxsize=None)
def template_regex(template):
    """The regex of the names of ``template``, a group per field."""
    pattern = ''
    for lit, field, flag in template_tokens(template):
        pattern += re.escape(lit)
        if field:
            pattern += ('(?P<%s>%s)?' % (field, re.escape(flag)) if flag else
                        r'(?P<%s>\d+)' % field)
    return re.compile(pattern)


def fields_of(match):
    """The field values of a template match: integers, and 1 / 0 for a flag there or not."""
    return {k: 0 if v is None else int(v) if v.isdigit() else 1
            for k, v in match.groupdict().items()}


def fill(template, fields):
    """The name ``template`` gives ``fields`` (a flag's text where it is 1)."""
    return ''.join(lit + ('' if not field else (flag if fields[field] else '') if flag else
                          str(fields[field]))
                   for lit, field, flag in template_tokens(template))


@lru_cache(maxsize=None)
def start_regex(template):
    """A regex of every start of a name of ``template`` (``'resnet{depth}'``: ``''``, ``'re'``,
    ``'resnet8'``, ...)."""
    options, head = [], ''
    for lit, field, flag in template_tokens(template):
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
                   for lit, field, flag in template_tokens(template))
