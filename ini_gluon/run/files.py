"""Files written so that nothing is ever half-written: a temporary beside the target, renamed
into place (``os.replace`` within one folder is atomic), with the permissions the umask gives any
other output.  Temporaries carry names no user file has, and are the only files the project
removes unasked.

The project's own JSON files (``settings.json``, a checkpoint's ``meta.json``, ``metrics.jsonl``,
an export's ``model.json``) are read back with :func:`read_json` / :func:`read_json_lines`,
strictly: what a damaged or crafted file holds is one :class:`JSONFileError` naming the file,
never a traceback and never a value the project would not have written (NaN, an infinity, a
number too large to be a setting, nesting deeper than any of its files, more than
:data:`MAX_JSON_BYTES`).
"""
import json
import math
import os
import tempfile

__all__ = ['TMP', 'OLD', 'atomic_write', 'atomic_write_text', 'as_other_outputs', 'JSONFileError',
           'MAX_JSON_BYTES', 'read_json', 'read_json_lines', 'parse_json']

# the project's temporaries: names no user file has, and the only ones it removes unasked
TMP = '.ini-gluon-tmp-'
OLD = '.ini-gluon-old-'


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def as_other_outputs(path):
    """Give ``path`` (a file, or a folder and its files) the permissions of a file the
    process creates (the umask's), not ``tempfile``'s 0600 / 0700."""
    mask = _umask()
    if os.path.isdir(path):
        os.chmod(path, 0o777 & ~mask)
        for name in os.listdir(path):
            os.chmod(os.path.join(path, name), 0o666 & ~mask)
    else:
        os.chmod(path, 0o666 & ~mask)


def atomic_write(path, write):
    """Call ``write(tmp_path)`` then rename ``tmp_path`` to ``path`` (same folder, atomic)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=TMP, dir=folder)
    os.close(fd)
    try:
        write(tmp)
        as_other_outputs(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path, text):
    """Write the string ``text`` to ``path`` with :func:`atomic_write`."""
    def write(tmp):
        with open(tmp, 'w') as f:
            f.write(text)
    atomic_write(path, write)


# the largest JSON file the project reads back: a settings.json is a few kB, and a meta.json or
# metrics.jsonl of the longest run (100,000 epochs, ~300 bytes per row) 30 MB
MAX_JSON_BYTES = 64 * 1024 * 1024
_MAX_DIGITS = 30          # no number the project writes has more digits


class JSONFileError(ValueError):
    """A JSON file of the project that cannot be read back: one line naming the file."""


def _constant(name):
    raise ValueError('%s is not a number JSON allows' % name)


def _float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError('%s is too large a number' % text[:20])
    return value


def _int(text):
    if len(text.lstrip('-')) > _MAX_DIGITS:
        raise ValueError('a number of %d digits' % len(text))
    return int(text)


def parse_json(text):
    """``json.loads(text)``, strictly: NaN, infinities, numbers that overflow a float or have
    more than 30 digits are refused (``ValueError``), and so is nesting deeper than Python's
    recursion allows (a ``ValueError``, not a ``RecursionError``)."""
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise ValueError('nested too deeply') from None


def _read_text(path):
    try:
        if os.path.getsize(path) > MAX_JSON_BYTES:
            raise JSONFileError('%s is %d bytes: more than the %d MB any file of a run holds'
                                % (path, os.path.getsize(path), MAX_JSON_BYTES >> 20))
        with open(path, 'rb') as f:
            return f.read(MAX_JSON_BYTES + 1).decode('utf-8')
    except UnicodeDecodeError as err:
        raise JSONFileError('%s is not UTF-8 text (byte %d): the file is damaged'
                            % (path, err.start)) from None
    except OSError as err:
        raise JSONFileError('%s cannot be read (%s)' % (path, err.strerror or err)) from None


def read_json(path, what, kind=dict):
    """The JSON value of the file ``path`` (``what``: its role, for the message, e.g. ``'run
    settings'``), which must be a ``kind`` (``dict``: a JSON object; ``None``: any); parsed
    with :func:`parse_json`.

    Raises
    ------
    JSONFileError
        One line naming the file and what is wrong with it.
    """
    text = _read_text(path)
    try:
        value = parse_json(text)
    except ValueError as err:
        raise JSONFileError('%s %s is not valid JSON (%s): the file is damaged'
                            % (what, path, str(err).splitlines()[0][:120])) from None
    if kind is not None and not isinstance(value, kind):
        raise JSONFileError('%s %s holds a JSON %s, expected a JSON %s'
                            % (what, path, _json_type(value), _json_type(kind())))
    return value


def read_json_lines(path, what):
    """``[(line number, dict)]``: the JSON objects of the lines of ``path`` (blank lines left
    out), parsed as :func:`read_json` parses a file; a :class:`JSONFileError` ``<path>, line
    <n>: not <what> (<why>)``."""
    rows = []
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = parse_json(line)
        except ValueError as err:
            raise JSONFileError('%s, line %d: not %s (invalid JSON: %s)'
                                % (path, number, what, str(err).splitlines()[0][:120])) from None
        if not isinstance(row, dict):
            raise JSONFileError('%s, line %d: not %s (a JSON %s, not an object)'
                                % (path, number, what, _json_type(row)))
        rows.append((number, row))
    return rows


def _json_type(value):
    if isinstance(value, dict):
        return 'object'
    if isinstance(value, list):
        return 'array'
    if isinstance(value, str):
        return 'string'
    return 'null' if value is None else 'number' if not isinstance(value, bool) else 'boolean'
