"""A run folder belongs to one run.

* A new run does not start in a folder that holds another run's checkpoints (they would be
  resumed by a later ``--resume auto``), unless ``--overwrite`` asks to start over; then only
  those checkpoints, which the project wrote, are removed.
* ``--resume`` continues the run of the checkpoint as it was: a checkpoint of another model,
  data set or class count is refused, and so is a changed training setting (the optimizer state
  the checkpoint restores would silently keep the old one), naming each difference.
* One run at a time: a lock file per worker, ``.ini-gluon-rank<r>.lock``, holds the process id;
  a second run is refused while that process lives, and a lock left by a dead one is taken over.
"""
import errno
import os
from contextlib import contextmanager

from .checkpoint import (CheckpointError, checkpoint_folders, describe_non_finite,
                         non_finite_file, read_meta, remove_checkpoint)
from .settings import IDENTITY, TRAINING, differences, from_json, role_names

__all__ = ['RunFolderError', 'claim', 'in_use', 'check_new_run', 'check_resume',
           'check_same_run', 'checkpoint_settings', 'RUN_IDENTITY', 'RUN_TRAINING']

# what makes a checkpoint another run's, and what a resume may not change (the roles of the
# settings' declarations); every other setting leaves the training result as it is, and a
# resume may change it
RUN_IDENTITY = role_names(IDENTITY)
RUN_TRAINING = role_names(TRAINING)


class RunFolderError(ValueError):
    """The run folder is another run's, or in use."""


def _alive(pid):
    """Whether process ``pid`` runs: not gone, and not a zombie (a dead process not yet reaped,
    as a run killed with its launcher stays where the first process reaps no orphans)."""
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


def in_use(save_dir):
    """The process id of a live run holding a lock of ``save_dir``, else ``None``."""
    try:
        names = [n for n in os.listdir(save_dir)
                 if n.startswith('.ini-gluon-rank') and n.endswith('.lock')]
    except OSError:
        return None
    for name in sorted(names):
        try:
            with open(os.path.join(save_dir, name)) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            continue
        if pid and _alive(pid):
            return pid
    return None


@contextmanager
def claim(save_dir, rank=0):
    """Hold the lock of worker ``rank`` in ``save_dir`` for the body."""
    path = os.path.join(save_dir, '.ini-gluon-rank%d.lock' % rank)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            break
        except OSError as err:
            if err.errno != errno.EEXIST:
                raise
            try:
                with open(path) as f:
                    pid = int(f.read().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _alive(pid):
                raise RunFolderError('save folder %s is in use by another run (process %d): '
                                     'wait for it to end, or give another --save-dir'
                                     % (save_dir, pid))
            os.remove(path)          # stale: its process is gone
    else:
        raise RunFolderError('cannot take the lock %s of save folder %s' % (path, save_dir))
    try:
        os.write(fd, b'%d\n' % os.getpid())
        os.close(fd)
        yield path
    finally:
        if os.path.exists(path):
            os.remove(path)


def check_new_run(save_dir, overwrite):
    """A run without ``--resume``: refuse a folder with another run's checkpoints, or (with
    ``overwrite``) remove them."""
    found = checkpoint_folders(save_dir)
    if not found:
        return
    if not overwrite:
        raise RunFolderError(
            'save folder %s holds another run\'s checkpoints (%s): give another --save-dir, '
            '--resume auto to continue that run, or --overwrite to start over (its '
            'checkpoints are removed)' % (save_dir, ', '.join(os.path.basename(p)
                                                               for p in found[-2:])))
    for path in found:
        remove_checkpoint(path)


def checkpoint_settings(path):
    """The :class:`~ini_gluon.run.settings.Settings` a checkpoint folder was written with;
    :class:`CheckpointError` where its ``meta.json`` has none that can be read."""
    try:
        return from_json(read_meta(path).get('settings'))
    except ValueError as err:
        raise CheckpointError('checkpoint %r is corrupt: its settings cannot be read (%s)'
                              % (path, err)) from err


def check_resume(path, s):
    """Refuse to resume from the checkpoint folder ``path`` what is not the run ``s``
    continues, or what holds non-finite values; returns the checkpoint's settings.  Settings
    ``s`` does not have yet (the class count before the data is read) are not compared."""
    theirs = checkpoint_settings(path)
    bad = non_finite_file(os.path.join(path, 'model.params'))
    if bad:
        raise CheckpointError('checkpoint %r holds non-finite values (NaN or infinity) in %s: '
                              'not resumed' % (path, describe_non_finite(bad)))
    check_same_run(path, theirs, s)
    changed = _differences(theirs, s, TRAINING)
    if changed:
        raise RunFolderError('--resume continues the checkpoint\'s run as it was trained, and '
                             'these settings differ from it: %s; give them as the checkpoint '
                             'has them, or start a new run (another --save-dir)' % changed)
    return theirs


def check_same_run(path, theirs, s):
    """Refuse the checkpoint ``path``, whose settings are ``theirs``, when it is of another
    model (another spelling of the same network is the same), data set or class count than
    ``s``."""
    other = _differences(theirs, s, IDENTITY)
    if other:
        raise RunFolderError('checkpoint %s is of another run (%s): resume only a checkpoint of '
                             'the same model, data set and classes' % (path, other))


def _differences(theirs, ours, role):
    return '; '.join('%s %r (checkpoint: %r)' % row for row in differences(theirs, ours, (role,)))
