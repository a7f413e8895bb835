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
import re
import shutil
from contextlib import contextmanager

from .checkpoint import (CheckpointError, best_epoch, best_paths, best_record, checkpoint_folders,
                         describe_non_finite, ema_name, non_finite_file, read_meta, remove_best,
                         remove_checkpoint)
from .files import alive, read_json
from .trained import metrics_rows
from .settings import IDENTITY, TRAINING, differences, from_json, role_names

__all__ = ['RunFolderError', 'claim', 'in_use', 'previous_run', 'check_new_run',
           'check_resume', 'check_resume_into', 'check_same_run', 'checkpoint_settings',
           'discard_after', 'check_links', 'RUN_IDENTITY', 'RUN_TRAINING', 'EXPORTS', 'SUMMARY',
           'EVENTS', 'EVENTS_FILE']

# what makes a checkpoint another run's, and what a resume may not change (the roles of the
# settings' declarations); every other setting leaves the training result as it is, and a
# resume may change it
RUN_IDENTITY = role_names(IDENTITY)
RUN_TRAINING = role_names(TRAINING)


EXPORTS = ('export-final', 'export-best', 'export-ema-final', 'export-ema-best')
# summary.csv and the folder of TensorBoard's event file (ini_gluon.training.tracking writes
# them)
SUMMARY, EVENTS, EVENTS_FILE = 'summary.csv', 'tensorboard', 'events.out.tfevents.ini-gluon'
# the files of the best weights, of the run's model name and of its moving average's
_BEST = ('%s-best.params', '%s-best.json', '%s-ema-best.params', '%s-ema-best.json')


_CHECKPOINT = re.compile(r'^checkpoint-epoch(\d{4,})$')


class RunFolderError(ValueError):
    """The run folder is another run's, or in use."""


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
        if pid and alive(pid):
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
            if pid and pid != os.getpid() and alive(pid):
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


def _run_names(save_dir, found):
    """The names the run's files carry (its ``model_name``), from ``settings.json`` and the
    checkpoints ``found``; what cannot be read, or would name a file in another folder, names
    nothing."""
    names = set()
    sources = [os.path.join(save_dir, 'settings.json')] + \
        [os.path.join(p, 'meta.json') for p in found]
    for path in sources:
        try:
            s = read_json(path, 'settings') if os.path.isfile(path) else {}
            s = s.get('settings', s) if path.endswith('meta.json') else s
            name = str(s.get('model_name') or s['model'])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if name == os.path.basename(name) and name not in ('', '.', '..'):
            names.add(name)
    return sorted(names)


def _is_export(path):
    """Whether ``path`` is an export folder the project wrote (its ``model.json`` lists its
    files)."""
    record = os.path.join(path, 'model.json')
    try:
        files = set(read_json(record, 'export record')['files'].values()) \
            if os.path.isfile(record) else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    if files is None:
        return False
    return not os.path.islink(path) and set(os.listdir(path)) <= files


def _has_rows(path, header=0):
    """Whether the file ``path`` holds a row after its ``header`` lines (not a link)."""
    if os.path.islink(path):
        return False
    try:
        with open(path) as f:
            return sum(1 for line in f if line.strip()) > header
    except OSError:
        return False


def previous_run(save_dir):
    """The files of a run in ``save_dir`` the project wrote (not links): its checkpoints,
    ``settings.json``, ``metrics.jsonl`` with rows, its best weights and their record, its
    curve and its exports.  ``[]`` for a new folder, or one a run left before its first epoch
    ended."""
    if not os.path.isdir(save_dir):
        return []
    found = checkpoint_folders(save_dir)
    names = ['settings.json'] + [n % m for m in _run_names(save_dir, found)
                                 for n in _BEST + ('%s_history.png',)]
    found += [p for p in (os.path.join(save_dir, n) for n in names)
              if os.path.isfile(p) and not os.path.islink(p)]
    # the tables of epochs count once they hold one (a run stopped in its first epoch: not)
    found += [p for p, header in ((os.path.join(save_dir, 'metrics.jsonl'), 0),
                                  (os.path.join(save_dir, SUMMARY), 1)) if _has_rows(p, header)]
    events = os.path.join(save_dir, EVENTS)
    if _is_events(events):
        found.append(events)
    return found + [p for p in (os.path.join(save_dir, n) for n in EXPORTS) if _is_export(p)]


def _is_events(path):
    """Whether ``path`` is the folder of a run's event file (that file alone, not a link)."""
    return os.path.isdir(path) and not os.path.islink(path) and \
        os.listdir(path) == [EVENTS_FILE]


def _remove(paths):
    for path in paths:
        if os.path.isdir(path) and os.path.basename(path) in EXPORTS + (EVENTS,):
            shutil.rmtree(path)
        elif os.path.isdir(path):
            remove_checkpoint(path)
        else:
            os.remove(path)


def _describe(found):
    """The names of a run's files for a message: its two latest checkpoints, two others."""
    checkpoints = [os.path.basename(p) for p in found if os.path.basename(p).startswith(
        'checkpoint-epoch')]
    others = [os.path.basename(p) for p in found if not os.path.basename(p).startswith(
        'checkpoint-epoch')]
    shown = checkpoints[-2:] + others[:2]
    more = len(found) - len(shown)
    return ', '.join(shown) + (' and %d more' % more if more else '')


def check_new_run(save_dir, overwrite):
    """A run without ``--resume``: refuse a folder holding another run's files (its
    checkpoints would be resumed by a later ``--resume auto``, its best weights, settings and
    exports would be taken for the new run's), or (with ``overwrite``) remove those files, and
    only those, before anything of the new run is written."""
    found = previous_run(save_dir)
    if not found:
        return
    if not overwrite:
        raise RunFolderError(
            'save folder %s holds another run\'s files (%s): give another --save-dir, '
            '--resume auto to continue that run, or --overwrite to start over (its '
            'checkpoints, best weights, metrics, settings and exports are removed)'
            % (save_dir, _describe(found)))
    _remove(found)


def _written(model_name, rank, log):
    """The names of the files a run's worker ``rank`` writes in its folder (``log``: with its
    log there), checkpoints aside."""
    if rank:
        return {'final-rank%d.params' % rank, 'shard-rank%d.json' % rank} | (
            {'train-rank%d.log' % rank} if log else set())
    return {'settings.json', 'metrics.jsonl', SUMMARY, EVENTS, '%s_history.png' % model_name,
            'final-rank0.params', 'shard-rank0.json'} | {n % model_name for n in _BEST} | \
        set(EXPORTS) | ({'train.log'} if log else set())


def check_links(save_dir, model_name, num_epochs, rank=0, log=True):
    """Refuse, before anything is written, a run folder holding a link where the run's worker
    ``rank`` writes one of its files (a checkpoint of its ``num_epochs``, the log where ``log``,
    the best weights, the exports, ...): a link is not the run's file, and would be written
    through (a file outside the folder changed) or replaced (the user's link lost).  Links of
    other names are left alone."""
    try:
        names = os.listdir(save_dir)
    except OSError:
        return
    written = _written(model_name, rank, log)
    links = sorted(n for n in names if os.path.islink(os.path.join(save_dir, n)) and (
        n in written or rank == 0 and _CHECKPOINT.match(n) and
        int(_CHECKPOINT.match(n).group(1)) < num_epochs))
    if links:
        raise RunFolderError('save folder %s holds links named like files the run writes (%s): '
                             'a run writes its own files, not through links nor over them; move '
                             'them, or give another --save-dir' % (save_dir, ', '.join(links[:4])))


def check_resume_into(path, save_dir):
    """A resume from the checkpoint ``path`` of another folder writes into ``save_dir``: refuse
    a ``save_dir`` that holds a run (it would be overwritten by another run's continuation)."""
    if os.path.realpath(os.path.dirname(os.path.abspath(path))) == os.path.realpath(save_dir):
        return
    found = previous_run(save_dir)
    if found:
        raise RunFolderError(
            'save folder %s holds a run (%s), and checkpoint %s is of another folder: its '
            'continuation would overwrite that run; give an empty --save-dir, or --save-dir '
            'the checkpoint\'s own folder' % (save_dir, _describe(found), path))


def _best_of(save_dir, model_name):
    """``{'epoch'}`` of the run's best weights: their record, or (an earlier version's run,
    with none) the best epoch of ``metrics.jsonl``; a record that does not match the file, or
    rows that cannot be read, count as after any epoch (not kept)."""
    params, _ = best_paths(save_dir, model_name)
    if not os.path.isfile(params):
        return None
    try:
        record = best_record(save_dir, model_name)
        if record is None:
            rows = metrics_rows(save_dir)
            record = {'epoch': best_epoch(rows) if rows else float('inf')}
    except ValueError:
        record = {'epoch': float('inf')}
    return record


def discard_after(save_dir, epoch, model_name, last):
    """A run resumed at the checkpoint of ``epoch`` continues from there: what it wrote after
    that epoch (later checkpoints, best weights of a later epoch) is of a course it no longer
    takes, and, unless ``epoch`` is its ``last``, its end (``settings.json``, the exports) is to
    come.  Removes them; returns the paths removed."""
    gone = [p for p in checkpoint_folders(save_dir)
            if int(os.path.basename(p)[len('checkpoint-epoch'):]) > epoch]
    if epoch < last:
        gone += [p for p in (os.path.join(save_dir, 'settings.json'),) if os.path.isfile(p)]
        gone += [p for p in (os.path.join(save_dir, n) for n in EXPORTS) if _is_export(p)]
    events = os.path.join(save_dir, EVENTS)
    if _is_events(events):          # written again from the rows the run continues with
        gone.append(events)
    later = [name for name in (model_name, ema_name(model_name))
             if (_best_of(save_dir, name) or {'epoch': -1})['epoch'] > epoch]
    gone += [p for name in later for p in best_paths(save_dir, name) if os.path.isfile(p)]
    _remove(p for p in gone if not p.endswith(('-best.params', '-best.json')))
    for name in later:
        remove_best(save_dir, name)
    return gone


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
