"""Files written so that nothing is ever half-written: a temporary beside the target, renamed
into place (``os.replace`` within one folder is atomic), with the permissions the umask gives any
other output.

Temporaries carry names no user file has, ``.ini-gluon-tmp-<pid>-...`` (and
``.ini-gluon-old-<pid>-...`` for what they replace), with the process id of their writer: they
are the only files the project removes unasked, and only once their writer is gone
(:func:`clean_temporaries`), so that a command never removes another live process's files.

A write that fails because MXNet's C++ writer could not write (it raises ``MXNetError``, not
``OSError``) is an ``OSError`` here, ``ENOSPC`` where the disk is full: the commands report it in
one line (:func:`write_failure`).

The project's own JSON files (``settings.json``, a checkpoint's ``meta.json``, ``metrics.jsonl``,
an export's ``model.json``) are read back with :func:`read_json` / :func:`read_json_lines`,
strictly: what a damaged or crafted file holds is one :class:`JSONFileError` naming the file,
never a traceback and never a value the project would not have written (NaN, an infinity, a
number too large to be a setting, nesting deeper than any of its files, more than
:data:`MAX_JSON_BYTES`).
"""
import errno
import hashlib
import json
import math
import os
import shutil
import tempfile

from mxnet.base import MXNetError

__all__ = ['TMP', 'OLD', 'tmp_prefix', 'old_name', 'alive', 'clean_temporaries', 'atomic_write',
           'atomic_write_text', 'as_other_outputs', 'write_failure', 'writing', 'MANIFEST',
           'check_output_folder', 'check_utf8_path', 'record_outputs', 'digest',
           'JSONFileError', 'MAX_JSON_BYTES', 'read_json', 'read_json_lines', 'parse_json']

TMP = '.ini-gluon-tmp-'
OLD = '.ini-gluon-old-'
_LOW_SPACE = 1 << 20        # below 1 MiB free, a failed write is taken for a full disk


def tmp_prefix(tag=''):
    """The name prefix of a temporary of this process (``tag``: what it is)."""
    return '%s%d-%s' % (TMP, os.getpid(), tag)


def old_name(name):
    """The name a replaced file or folder ``name`` has until its replacement is in place."""
    return '%s%d-%s' % (OLD, os.getpid(), name)


def alive(pid):
    """Whether process ``pid`` runs: not gone, and not a zombie (a dead process not yet reaped,
    as a run killed with its launcher stays where the first process reaps no orphans); another
    user's process counts as alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # someone else's process: alive
        pass
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            return f.read().rsplit(b')', 1)[1].split()[0] != b'Z'
    except FileNotFoundError:        # gone meanwhile; or no /proc: alive as far as seen
        return not os.path.exists('/proc/self/stat')
    except (OSError, IndexError):
        return True


def _writer(name):
    """``(pid, what)`` of a temporary's name: its writer's process id (``None`` for a name
    without one, an earlier version's, whose writer is gone) and the rest of the name."""
    rest = name[len(TMP):] if name.startswith(TMP) else name[len(OLD):]
    head, _, tail = rest.partition('-')
    return (int(head), tail) if head.isdigit() and tail else (None, rest)


def clean_temporaries(folder, what=None):
    """Remove the temporaries in ``folder`` whose writer is gone (those of ``what`` alone
    where given: ``'export-best'``, the temporaries named ``export-best`` or ``export-best-...``
    after the pid); a link named like one is left alone.  Returns what was removed."""
    removed = []
    for name in sorted(os.listdir(folder)):
        if not (name.startswith(TMP) or name.startswith(OLD)):
            continue
        writer, rest = _writer(name)
        path = os.path.join(folder, name)
        ours = what is None or rest == what or rest.startswith(what + '-')
        if not ours or (writer is not None and alive(writer)) or os.path.islink(path):
            continue
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        removed.append(path)
    return removed


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


def write_failure(path, err):
    """The ``OSError`` of MXNet's failed write of ``path`` (``err``, an ``MXNetError``):
    ``ENOSPC`` where the disk has less than 1 MiB left, else ``EIO``."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        full = shutil.disk_usage(folder).free < _LOW_SPACE
    except OSError:
        full = False
    code = errno.ENOSPC if full else errno.EIO
    what = os.strerror(code) if full else 'MXNet could not write it (%s)' % (
        str(err).strip().splitlines()[-1][:200])
    return OSError(code, what, path)


class writing(object):
    """``with writing(path):`` turns MXNet's failure to write ``path`` into an ``OSError``."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        return self.path

    def __exit__(self, kind, err, tb):
        if kind is not None and issubclass(kind, MXNetError):
            raise write_failure(self.path, err) from err
        return False


def atomic_write(path, write):
    """Call ``write(tmp_path)`` then rename ``tmp_path`` to ``path`` (same folder, atomic)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=tmp_prefix(), dir=folder)
    os.close(fd)
    try:
        with writing(path):
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


# -- output folders of the commands: only their own files are ever replaced ------------------

MANIFEST = '.ini-gluon-outputs.json'


def digest(path):
    """The SHA-1 of a file's bytes (hex)."""
    digest = hashlib.sha1()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _manifest(folder):
    try:
        with open(os.path.join(folder, MANIFEST)) as f:
            found = json.load(f)
        return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}
    except (OSError, ValueError, AttributeError, RecursionError):
        return {}


def check_utf8_path(path, what):
    """Refuse (``ValueError``, one line) a path that is not UTF-8 text: MXNet's C library reads
    and writes only paths of UTF-8 names, and fails on others with a message naming no file."""
    try:
        path.encode('utf-8')
    except UnicodeEncodeError:
        raise ValueError('%s %s is not UTF-8 text: MXNet reads and writes only paths of UTF-8 '
                         'names; give another' % (what, ascii(path)[1:-1])) from None


def check_output_folder(folder, names, flag='--out'):
    """Refuse (``ValueError``, one line) an output ``folder`` that is a file, or that holds a
    file of one of ``names`` the project did not write there (or that was changed since): a
    user's file is never replaced.  Files the project wrote are listed with their SHA-1 in the
    folder's ``.ini-gluon-outputs.json`` (:func:`record_outputs`)."""
    check_utf8_path(folder, flag)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError('%s %s is a file, not a folder' % (flag, folder))
    ours = _manifest(folder)
    theirs = [n for n in names if os.path.lexists(os.path.join(folder, n)) and not (
        os.path.isfile(os.path.join(folder, n)) and not os.path.islink(os.path.join(folder, n))
        and ours.get(n) == digest(os.path.join(folder, n)))]
    if theirs:
        raise ValueError('%s %s holds %s, not written there by this command (or changed since): '
                         'give another %s, or move them' % (flag, folder, ', '.join(theirs), flag))


def record_outputs(folder, names):
    """List the files ``names`` of ``folder`` as the project's (see :func:`check_output_folder`)."""
    ours = _manifest(folder)
    ours.update((n, digest(os.path.join(folder, n))) for n in names)
    atomic_write_text(os.path.join(folder, MANIFEST), json.dumps(ours, indent=1, sort_keys=True))


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
