"""Files written so that nothing is ever half-written: a temporary beside the target, renamed
into place (``os.replace`` within one folder is atomic), with the permissions the umask gives any
other output.  Temporaries carry names no user file has, and are the only files the project
removes unasked.
"""
import os
import tempfile

__all__ = ['TMP', 'OLD', 'atomic_write', 'atomic_write_text', 'as_other_outputs']

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
