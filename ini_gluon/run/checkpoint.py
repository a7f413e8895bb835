"""Checkpoints that survive a kill.

A checkpoint is a folder ``checkpoint-epoch<NNNN>/`` holding ``model.params``,
``optimizer.params`` (the optimizer's state arrays: momentum; :mod:`ini_gluon.run.optimizer_state`),
with ``--ema`` ``ema.params`` (the moving average of the weights, a parameter file of the
network), and ``meta.json`` (epoch, resolved settings, metrics so far, best validation error,
the optimizer's update counts, the average's update count).  Nothing in it is code: a
checkpoint of an earlier version that holds a pickled ``trainer.states`` is not resumed.  It is
written in a temporary folder and renamed into place, so a folder with that name is always
complete; a kill while writing leaves only a temporary folder, which is never loaded and is
removed by the next run in the folder.  Single files (best parameters, metrics) are written to
a temporary file and renamed.  A link named like a checkpoint folder is not a checkpoint: it is
neither read nor removed.
"""
import json
import os
import re
import shutil
import tempfile

import mxnet as mx
import numpy as np

from .files import (as_other_outputs, atomic_write, atomic_write_text, digest, old_name,
                    read_json, tmp_prefix, writing)
from .optimizer_state import (OPTIMIZER_FILE, OptimizerStateError, load_optimizer,
                              save_optimizer)

__all__ = ['CheckpointError', 'save_checkpoint', 'load_checkpoint', 'latest_checkpoint',
           'checkpoint_name', 'non_finite_parameters', 'checkpoint_folders', 'read_meta',
           'remove_checkpoint', 'prune_checkpoints', 'non_finite_file', 'best_epoch',
           'describe_non_finite', 'best_paths', 'save_best', 'best_record', 'remove_best',
           'checked_meta', 'checked_row', 'checked_error', 'check_weights', 'ema_name', 'EMA_FILE']

_NAME = re.compile(r'^checkpoint-epoch(\d{4,})$')
EMA_FILE = 'ema.params'
FILES = ('model.params', OPTIMIZER_FILE, EMA_FILE, 'meta.json')
PICKLED = 'trainer.states'      # an earlier version's optimizer state: a pickle, never loaded


class CheckpointError(ValueError):
    """A checkpoint that is missing, incomplete or corrupt."""


def non_finite_parameters(net):
    """Names of ``net``'s parameters, BatchNorm running statistics included, that hold a NaN
    or an infinity on any device.  MXNet's ReLU turns NaN into 0, so a finite loss does not
    show them."""
    return [name for name, p in net.collect_params().items()
            if any(not np.isfinite(d.asnumpy()).all() for d in p.list_data())]


def non_finite_file(path):
    """Names of the arrays of a saved parameter file holding a NaN or an infinity (``[]``
    for a file that is missing or unreadable: loading it says why)."""
    try:
        arrays = mx.nd.load(path)
    except Exception:  # MXNetError on garbage: load_checkpoint reports it
        return []
    items = arrays.items() if isinstance(arrays, dict) else enumerate(arrays)
    return [str(k) for k, v in items if not np.isfinite(v.asnumpy()).all()]


def describe_non_finite(names):
    """``'a, b and 3 more'``: the first names of :func:`non_finite_parameters`."""
    shown = ', '.join(names[:3])
    return shown + (' and %d more' % (len(names) - 3) if len(names) > 3 else '')


def checkpoint_name(epoch):
    """Folder name of the checkpoint taken after ``epoch`` (0-based) finished."""
    return 'checkpoint-epoch%04d' % epoch


def save_checkpoint(save_dir, epoch, net, trainer, meta, ema=None):
    """Write the checkpoint of ``epoch`` atomically; returns its folder.

    ``trainer`` may be ``None`` (e.g. ``dist_async``, whose optimizer lives on the servers);
    ``ema``: the moving average of the weights (``save(path)`` returning its record), if any.
    """
    final = os.path.join(save_dir, checkpoint_name(epoch))
    tmp = tempfile.mkdtemp(prefix=tmp_prefix(checkpoint_name(epoch) + '-'), dir=save_dir)
    try:
        with writing(os.path.join(tmp, 'model.params')) as path:
            net.save_parameters(path)
        weights = digest(path)
        optimizer = average = None
        if trainer is not None:
            with writing(os.path.join(tmp, OPTIMIZER_FILE)) as path:
                optimizer = save_optimizer(trainer, path)
        if ema is not None:
            with writing(os.path.join(tmp, EMA_FILE)) as path:
                average = dict(ema.save(path), sha1=digest(path))
        with open(os.path.join(tmp, 'meta.json'), 'w') as f:
            json.dump(dict(meta, epoch=epoch, optimizer=optimizer, model_sha1=weights,
                           **({'ema': average} if average else {})), f, indent=1)
        as_other_outputs(tmp)
        if os.path.exists(final):          # an earlier run reached this epoch: replace it
            old = os.path.join(save_dir, old_name(checkpoint_name(epoch)))
            os.rename(final, old)
            os.rename(tmp, final)
            shutil.rmtree(old)
        else:
            os.rename(tmp, final)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
    return final


def _numbered(save_dir):
    """``[(epoch, folder name)]`` of the folders ``checkpoint-epochNNNN`` in ``save_dir`` (not
    links of that name)."""
    return [(int(m.group(1)), name) for name in os.listdir(save_dir)
            for m in [_NAME.match(name)]
            if m and not os.path.islink(os.path.join(save_dir, name))]


def checkpoint_folders(save_dir):
    """The complete checkpoints in ``save_dir`` (folders the project wrote: the name and a
    ``meta.json``), oldest epoch first."""
    if not os.path.isdir(save_dir):
        return []
    return [os.path.join(save_dir, name) for _, name in sorted(_numbered(save_dir))
            if os.path.isfile(os.path.join(save_dir, name, 'meta.json'))]


def remove_checkpoint(path):
    """Remove a checkpoint folder: its files, then the folder (nothing a user put there; a
    link is not followed)."""
    if os.path.islink(path) or not os.path.isdir(path):
        return
    for name in FILES + (PICKLED,):
        if os.path.isfile(os.path.join(path, name)):
            os.remove(os.path.join(path, name))
    try:
        os.rmdir(path)
    except OSError:
        pass                          # something else is in it: leave it


def best_epoch(rows):
    """The epoch of the lowest validation error among metrics ``rows`` (``None``: no row)."""
    return min(rows, key=lambda r: r['val_error'])['epoch'] if rows else None


def prune_checkpoints(save_dir, keep, best_epoch=None):
    """Keep the ``keep`` newest checkpoints and the one of ``best_epoch``; remove the other
    complete ones (``keep`` None: keep all)."""
    if keep is None:
        return []
    found = checkpoint_folders(save_dir)
    protected = set(found[-keep:])
    if best_epoch is not None:
        protected.add(os.path.join(save_dir, checkpoint_name(best_epoch)))
    removed = [p for p in found if p not in protected]
    for path in removed:
        remove_checkpoint(path)
    return removed


def latest_checkpoint(save_dir):
    """The checkpoint folder of the highest epoch in ``save_dir``, or ``None``."""
    if not os.path.isdir(save_dir):
        return None
    found = _numbered(save_dir)
    return os.path.join(save_dir, max(found)[1]) if found else None


def read_meta(path):
    """The ``meta.json`` of the checkpoint folder ``path`` (with an integer ``epoch``).

    Raises
    ------
    CheckpointError
        Naming the folder where it is missing or unreadable.
    """
    if not os.path.isdir(path):
        raise CheckpointError('checkpoint %r not found: expected a folder %s/ with %s'
                              % (path, 'checkpoint-epochNNNN', ', '.join(FILES)))
    try:
        meta = checked_meta(read_json(os.path.join(path, 'meta.json'), 'checkpoint meta'))
    except ValueError as err:
        raise CheckpointError('checkpoint %r is corrupt: %s' % (path, err)) from None
    named = _NAME.match(os.path.basename(os.path.normpath(path)))
    if named and int(named.group(1)) != meta['epoch']:
        raise CheckpointError('checkpoint %r holds the checkpoint of epoch %d (its meta.json): '
                              'renamed or copied by hand; give it its name back, or move it'
                              % (path, meta['epoch']))
    return meta


def check_weights(path, meta):
    """Refuse (:class:`CheckpointError`) a checkpoint folder ``path`` whose ``model.params``
    is not the file the run wrote there (its SHA-1 differs from the one ``meta`` records:
    replaced by hand); a checkpoint of an earlier version records none."""
    recorded = meta.get('model_sha1')
    params = os.path.join(path, 'model.params')
    if recorded is not None and os.path.isfile(params) and digest(params) != recorded:
        raise CheckpointError('checkpoint %r: model.params is not the file the run wrote there '
                              '(its SHA-1 differs from meta.json\'s): replaced by hand; put the '
                              'run\'s file back' % (path,))


def checked_meta(meta):
    """A checkpoint's ``meta.json`` dict as the project writes it: ``epoch`` an integer >= 0,
    ``best_val_error`` (where there) a number in [0, 1], ``metrics`` (where there) a list of
    metrics rows (:func:`checked_row`); a ``ValueError`` saying which is not."""
    epoch = meta.get('epoch')
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError('its epoch is %s, expected an integer >= 0'
                         % json.dumps(epoch)[:40])
    if 'best_val_error' in meta:
        checked_error(meta['best_val_error'], 'best_val_error')
    rows = meta.get('metrics', [])
    if not isinstance(rows, list):
        raise ValueError('its metrics are not a list of rows')
    for row in rows:
        checked_row(row)
    return meta


def checked_error(value, name='val_error'):
    """``value`` as a float if it is an error rate, a number in [0, 1]; else a ``ValueError``
    naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError('%s is %s, expected a number in [0, 1]' % (name, json.dumps(value)[:40]))
    return float(value)


def checked_row(row):
    """A metrics row (of ``metrics.jsonl`` or a checkpoint's metrics) as
    ``{'epoch': int >= 0, 'val_error': float in [0, 1]}``; a ``ValueError`` saying what it
    lacks."""
    if not isinstance(row, dict):
        raise ValueError('a metrics row is %s, expected a JSON object' % json.dumps(row)[:40])
    epoch = row.get('epoch')
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError('a metrics row\'s epoch is %s, expected an integer >= 0'
                         % json.dumps(epoch)[:40])
    return {'epoch': epoch, 'val_error': checked_error(row.get('val_error'))}


def load_checkpoint(path, net, trainer, ctx, ema=None):
    """Restore ``net`` and ``trainer`` (``None``: the weights alone) from the checkpoint folder
    ``path``, and the moving average of the weights ``ema`` (``load(path, record)``) where
    given; returns its meta.

    Raises
    ------
    CheckpointError
        Naming the folder and what is missing, unreadable, or an earlier version's pickled
        optimizer state (which could carry code: it is never loaded).
    """
    meta = read_meta(path)
    if trainer is not None and meta.get('optimizer') is None and \
            (meta.get('has_trainer_states') or os.path.exists(os.path.join(path, PICKLED))):
        raise CheckpointError(
            'checkpoint %r holds its optimizer state as a Python pickle (trainer.states, '
            'written by an earlier version), which can carry code: not loaded; start from its '
            'weights with --initial-checkpoint %s (a fresh optimizer and schedule)' % (path, path))
    needed = ['model.params'] + ([OPTIMIZER_FILE] if trainer is not None and
                                 meta.get('optimizer') is not None else [])
    missing = [n for n in needed if not os.path.isfile(os.path.join(path, n))]
    if missing:
        raise CheckpointError('checkpoint %r is incomplete: %s missing'
                              % (path, ', '.join(missing)))
    check_weights(path, meta)
    try:
        net.load_parameters(os.path.join(path, 'model.params'), ctx=ctx)
    except Exception as err:  # MXNet raises MXNetError / AssertionError / ValueError here
        raise CheckpointError('checkpoint %r: model.params is corrupt or belongs to another '
                              'model (%s)' % (path, str(err).splitlines()[0])) from err
    bad = non_finite_parameters(net)
    if bad:
        raise CheckpointError('checkpoint %r holds non-finite values (NaN or infinity) in %s: '
                              'not resumed' % (path, describe_non_finite(bad)))
    if trainer is not None and meta.get('optimizer') is not None:
        try:
            load_optimizer(trainer, os.path.join(path, OPTIMIZER_FILE), meta['optimizer'])
        except OptimizerStateError as err:
            raise CheckpointError('checkpoint %r: its optimizer state cannot be restored (%s)'
                                  % (path, err)) from err
    if ema is not None:
        _load_average(path, meta, ema)
    return meta


def _load_average(path, meta, ema):
    """The moving average of the weights of the checkpoint ``path`` into ``ema``: its file as
    the run wrote it (the SHA-1 ``meta`` records)."""
    record, average = meta.get('ema'), os.path.join(path, EMA_FILE)
    if not isinstance(record, dict) or not os.path.isfile(average):
        raise CheckpointError('checkpoint %r holds no moving average of the weights (%s): it is '
                              'of a run without --ema' % (path, EMA_FILE))
    if digest(average) != record.get('sha1'):
        raise CheckpointError('checkpoint %r: %s is not the file the run wrote there (its SHA-1 '
                              'differs from meta.json\'s)' % (path, EMA_FILE))
    try:
        ema.load(average, record)
    except ValueError as err:
        raise CheckpointError('checkpoint %r: %s' % (path, err)) from err


# -- the best weights of a run: <model>-best.params and its record, <model>-best.json ---------

def ema_name(model_name):
    """The name the moving average's best weights carry, ``<model>-ema`` (its files
    ``<model>-ema-best.params`` and ``<model>-ema-best.json``)."""
    return model_name + '-ema'


def best_paths(save_dir, model_name):
    """``(parameters, record)`` of a run's best weights."""
    base = os.path.join(save_dir, '%s-best' % model_name)
    return base + '.params', base + '.json'


def save_best(net, save_dir, model_name, epoch, val_error):
    """Write the best weights, then their record (epoch, validation error, the file's SHA-1):
    each atomically, so that a kill between them leaves a record that does not match the file
    (:func:`best_record` tells), never a wrong label."""
    params, record = best_paths(save_dir, model_name)
    atomic_write(params, net.save_parameters)
    text = json.dumps({'epoch': epoch, 'val_error': val_error, 'sha1': digest(params)})
    atomic_write_text(record, text)


def best_record(save_dir, model_name):
    """``{'epoch', 'val_error', 'sha1'}`` of a run's best weights, ``None`` without a record
    (a run of an earlier version); ``ValueError`` where the record does not describe the file
    (a write that was interrupted, or a file replaced by hand)."""
    params, record = best_paths(save_dir, model_name)
    if not os.path.isfile(record):
        return None
    try:
        with open(record) as f:
            found = json.load(f)
        epoch = int(found['epoch'])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError('%s is not the record of the best weights (%s)' % (record, err))
    if not os.path.isfile(params) or digest(params) != found.get('sha1'):
        raise ValueError('%s does not match %s (its writing was interrupted, or it was '
                         'replaced): give --which final or an epoch' % (record, params))
    return dict(found, epoch=epoch)


def remove_best(save_dir, model_name):
    """Remove a run's best weights and their record (files, not links)."""
    for path in best_paths(save_dir, model_name):
        if os.path.isfile(path) and not os.path.islink(path):
            os.remove(path)
