"""The training loop of ``train_cifar.py`` and ``train_imagenet.py``: SGD with Nesterov momentum
(or ``--optimizer``), the batch-level recipes (mixup, CutMix, label smoothing, random erasing),
the moving average of the weights, checkpoints, resume, best model, metrics, curves, export; on
one device, several GPUs, or several machines through MXNet's parameter-server KVStore.

A run is a few steps, each readable on its own (as timm's ``train_one_epoch`` / ``validate``):

* :func:`prepare` -- the resume point and the run folder's checks, the log, the data, the
  network, the trainer: a :class:`RunState`;
* :func:`train_one_epoch` -- one pass over the training set, batch by batch
  (:func:`train_step`), then :func:`validate`: the epoch's metrics row;
* :func:`end_epoch` -- the row recorded; the curve, the best parameters, a checkpoint and its
  pruning (the chief worker);
* :func:`finish` -- ``settings.json`` and the exports of the final and the best weights.

:func:`fit` holds the run folder's lock around them.
"""
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from ..data import Data, cifar_data, cutmix_box, cutmix_chosen, erase_boxes, mixup_lambda
from ..run.checkpoint import (EMA_FILE, best_paths, best_record, describe_non_finite, ema_name,
                              latest_checkpoint, load_checkpoint, non_finite_parameters,
                              prune_checkpoints, save_best, save_checkpoint)
from ..run.export import export
from ..run.files import atomic_write, atomic_write_text, clean_temporaries
from ..run.folder import (check_links, check_new_run, check_resume, check_resume_into,
                          check_same_run, claim, discard_after)
from ..run.settings import describe, to_json
from ..run.trained import build_net, contexts, load_trained, load_weights
from .distributed import ParameterServer
from .ema import WeightAverage
from .optim import no_weight_decay_on_bn_and_bias, optimizer_params
from .progress import (LOG, Curve, EpochMeter, close_logging, epoch_line, percent,
                       setup_logging)
from .schedule import make_schedule
from .settings import SettingsError
from .tracking import write_events, write_summary

__all__ = ['fit', 'train', 'prepare', 'train_one_epoch', 'train_step', 'validate', 'end_epoch',
           'finish', 'RunState', 'hybridize_for_training', 'cifar_data', 'Data', 'TrainingError']

# the distributed kvstores of runs that failed in this process, kept from collection (fit)
FAILED_STORES = []


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss)."""


@dataclass
class RunState(object):
    """What a run carries from step to step: its settings (the data's filled in), devices,
    data streams, network, trainer (and parameter server), this worker's rank among
    ``num_workers``, the metrics rows so far, the best validation error, the epoch to start
    at, the last checkpoint written, the training curve; ``best`` and ``best_epoch``: the
    validation error and the epoch of the best weights written (``<model>-best.params``);
    ``ema``: the moving average of the weights (``--ema``), ``ema_best`` and ``ema_best_epoch``
    its best (``<model>-ema-best.params``)."""
    s: object
    devices: list
    data: Data
    net: object
    trainer: object
    rank: int = 0
    num_workers: int = 1
    server: object = None
    rows: list = field(default_factory=list)
    best: float = float('inf')
    best_epoch: int = None
    start: int = 0
    last_checkpoint: str = None
    curve: Curve = None
    ema: WeightAverage = None
    ema_best: float = float('inf')
    ema_best_epoch: int = None

    @property
    def chief(self):
        return self.rank == 0

    @property
    def keeps_states(self):
        """Whether the trainer holds the optimizer state (``dist_async``: the servers do)."""
        return self.s.kvstore != 'dist_async'

    @property
    def batch(self):
        """This worker's batch: ``--batch-size`` per device."""
        return self.s.batch_size * len(self.devices)

    def path(self, name):
        return os.path.join(self.s.save_dir, name)


def fit(s, make_data=cifar_data):
    """Train as the :class:`~ini_gluon.run.settings.Settings` ``s`` say, on
    ``make_data(s, batch, rank, num_workers)`` (a :class:`~ini_gluon.data.Data`), holding the
    run folder's lock.

    Returns
    -------
    dict
        ``{'epochs': [...metrics rows...], 'best_val_error': float, 'export': folders or None}``
    """
    if os.path.exists(s.save_dir) and not os.path.isdir(s.save_dir):
        raise SettingsError('--save-dir %s is a file, not a folder' % s.save_dir)
    contexts(s.num_gpus)        # GPUs asked for and not there: refused before anything is written
    os.makedirs(s.save_dir, exist_ok=True)
    kv = mx.kv.create(s.kvstore) if s.kvstore.startswith('dist') else None
    rank, num_workers = (kv.rank, kv.num_workers) if kv is not None else (0, 1)
    try:
        with claim(s.save_dir, rank):
            return train(s, make_data, kv, rank, num_workers)
    except BaseException:
        if kv is not None:
            # MXNet's distributed kvstore, when collected, waits at a barrier for every other
            # worker: a worker that failed keeps its store so that the command can end the
            # process at once (training.cli), and the launcher end the whole job
            FAILED_STORES.append(kv)
        raise
    finally:
        close_logging()


def train(s, make_data, kv=None, rank=0, num_workers=1):
    """The run's steps (:func:`fit` without the lock), as worker ``rank`` of ``num_workers``."""
    state = prepare(s, make_data, kv, rank, num_workers)
    for epoch in range(state.start, state.s.num_epochs):
        end_epoch(state, epoch, train_one_epoch(state, epoch))
    return finish(state)


def hybridize_for_training(net):
    """Hybridize ``net`` as training does: static allocation (the buffers planned once), not
    static shapes.  With MKL-DNN, ``static_shape`` also keeps a buffer per operator for each
    input it reorders out of MKL-DNN's layout: with the formulation of version
    ``squeeze hand-on`` (:mod:`ini_gluon.layers.formulation`), ``se_resnet164`` at batch 32
    peaked at 2.9 GiB with it, 1.8 GiB without, and the step times of the two differed by less
    than this machine's scatter from run to run."""
    net.hybridize(static_alloc=True)


# -- prepare ---------------------------------------------------------------------------------

def prepare(s, make_data, kv=None, rank=0, num_workers=1):
    """The :class:`RunState` a run starts from: the resume point checked against the run
    folder, the log started, the data read (its class count, normalisation and class names
    into the settings), the network built and initialised (or restored), the trainer."""
    resume, theirs = resume_point(s, rank)
    _start_log(s, rank, num_workers)
    devices = contexts(s.num_gpus)
    data = make_data(s, s.batch_size * len(devices), rank, num_workers)
    s = s.replace(num_classes=data.classes, mean=data.mean, std=data.std,
                  class_names=data.class_names or [str(c) for c in range(data.classes)])
    if resume:
        check_same_run(resume, theirs, s)             # the class count is known now
        s = s.replace(model_name=theirs.model_name)   # the run's files keep their names
    if len(data.train) == 0:
        raise SettingsError('the training set shard has %d samples, fewer than one batch of %d'
                            % (len(data.train.indices), s.batch_size * len(devices)))
    LOG.info('data: %s', data.description)
    net = _network(s, devices, resume)
    state = RunState(s, devices, data, net, None, rank, num_workers)
    state.ema = WeightAverage(net, s.ema) if s.ema else None
    state.trainer = _trainer(state, kv is not None)
    state.curve = Curve(state.path('%s_history.png' % s.model_name), s.model_name, s.dataset)
    _restore(state, resume)
    if kv is not None:
        net(mx.nd.zeros((1,) + data.input_shape, ctx=devices[0], dtype=s.dtype))  # deferred init
        state.server = ParameterServer(kv, net, state.trainer.optimizer)
    if state.chief:
        _write_records(state)
    return state


def resume_point(s, rank=0):
    """``(checkpoint folder, its settings)`` to resume from, or ``(None, None)``: ``--resume
    auto`` is the latest complete checkpoint of ``--save-dir``.  A new run refuses a folder of
    another run's checkpoints (or removes them with ``--overwrite``); a resume, a checkpoint
    of another run or of other training settings."""
    if rank == 0:                   # what killed runs left (this process holds the lock)
        clean_temporaries(s.save_dir)
    check_links(s.save_dir, s.model_name, s.num_epochs, rank, log=not s.logging_file)
    resume = s.resume_from
    if resume == 'auto':
        resume = latest_checkpoint(s.save_dir)
    elif resume is not None and rank == 0:
        check_resume_into(resume, s.save_dir)
    if resume is None and rank == 0:          # before anything is written into the folder
        check_new_run(s.save_dir, s.overwrite)
    return (resume, check_resume(resume, s)) if resume else (None, None)


def _start_log(s, rank, num_workers):
    """``train.log`` (``train-rank<r>.log`` of another worker), beginning with one line per
    setting and the run's warnings."""
    setup_logging(s.logging_file or os.path.join(
        s.save_dir, 'train.log' if rank == 0 else 'train-rank%d.log' % rank))
    for key, entry in describe(s).items():
        LOG.info('setting %s = %s (%s%s)', key, entry['value'], entry['source'],
                 ': %s' % entry['note'] if 'note' in entry else '')
    for warning in s.warnings:
        LOG.warning('warning: %s', warning)
    if s.num_gpus == 0:
        LOG.info('no GPU requested (--num-gpus 0): training on the CPU')
    if num_workers > 1:
        LOG.info('distributed %s: worker %d of %d', s.kvstore, rank, num_workers)


def _network(s, devices, resume):
    """The run's network (:func:`~ini_gluon.run.trained.build_net`), initialised on
    ``devices`` (seeded), with ``--initial-checkpoint``'s weights on a new run, cast to the
    run's dtype and hybridized as ``--mode`` says."""
    net = build_net(s)
    mx.random.seed(s.seed)
    net.initialize(mx.init.Xavier(), ctx=devices)
    if s.initial_checkpoint and not resume:
        path = s.initial_checkpoint
        if os.path.isdir(path):
            path = os.path.join(path, 'model.params')
        load_weights(net, path, devices)
        LOG.info('initial weights from %s (--initial-checkpoint)', path)
    if s.dtype != 'float32':
        net.cast(s.dtype)
    if s.mode == 'hybrid':
        hybridize_for_training(net)
    return net


def _trainer(state, distributed):
    """The run's optimizer (``--optimizer``, Nesterov SGD by default) with its schedule, without
    weight decay on BatchNorm and biases where asked; across machines the parameter server
    aggregates (Gluon's kvstore only within one machine)."""
    s = state.s
    optimizer = dict(optimizer_params(s), lr_scheduler=make_schedule(s, len(state.data.train)))
    if s.kvstore == 'dist_async':     # the servers apply each worker's batch on its own
        optimizer['rescale_grad'] = 1.0 / state.batch
    if s.no_wd_bn_bias:
        no_weight_decay_on_bn_and_bias(state.net)
    return gluon.Trainer(state.net.collect_params(), s.optimizer, optimizer,
                         kvstore=None if distributed else s.kvstore,
                         update_on_kvstore=False if distributed else None)


def _restore(state, resume):
    """Parameters, optimizer state, metrics and epoch of the checkpoint ``resume``."""
    if state.s.resume_from == 'auto' and resume is None:
        LOG.info('--resume auto: no complete checkpoint in %s, starting from scratch',
                 state.s.save_dir)
    if not resume:
        return
    meta = load_checkpoint(resume, state.net, state.trainer if state.keeps_states else None,
                           state.devices, ema=state.ema)
    state.rows, state.best, state.start = meta['metrics'], meta['best_val_error'], \
        meta['epoch'] + 1
    if state.ema is not None:
        state.ema_best = min([r['ema_val_error'] for r in state.rows if 'ema_val_error' in r],
                             default=float('inf'))
    state.last_checkpoint = resume
    if state.start < state.s.num_epochs:
        LOG.info('resumed from %s: continuing at epoch %d', resume, state.start)
    else:           # make demo again: its run finished; its files are written again as they were
        LOG.info('resumed from %s: the run has finished all its %d epochs, nothing is left to '
                 'train (--overwrite trains it again from scratch)', resume, state.s.num_epochs)
    if state.chief:
        _continue_from(state, meta['epoch'])


def _continue_from(state, epoch):
    """The run continues after ``epoch``: what it wrote after that epoch goes
    (:func:`~ini_gluon.run.folder.discard_after`); without best weights of an epoch up to it,
    the next epoch's are the best so far."""
    s = state.s
    for path in discard_after(s.save_dir, epoch, s.model_name, s.num_epochs - 1):
        LOG.info('removed %s (written after epoch %d, where the run continues)', path, epoch)
    state.best, state.best_epoch = _best_kept(state, s.model_name, state.best, 'val_error')
    if state.ema is not None:
        state.ema_best, state.ema_best_epoch = _best_kept(state, ema_name(s.model_name),
                                                          state.ema_best, 'ema_val_error')


def _best_kept(state, name, best, key):
    """``(error, epoch)`` of the best weights ``<name>-best.params`` kept in the run folder
    (their record's epoch, or of an earlier version's run the best epoch of the rows); without
    them, the next epoch's are the best so far."""
    if not os.path.isfile(best_paths(state.s.save_dir, name)[0]):
        return float('inf'), None
    record = best_record(state.s.save_dir, name)
    if record:
        return best, record['epoch']
    return best, min(state.rows, key=lambda r: r[key])['epoch'] if state.rows else None


# -- one epoch --------------------------------------------------------------------------------

def train_one_epoch(state, epoch):
    """One pass over this worker's shard of the training set, then :func:`validate` (of the
    moving average of the weights too, with ``--ema``): the epoch's metrics row.  Mixup and
    CutMix draw per batch (seeded), except in the last ``--mixup-off-epoch`` epochs; a
    non-finite loss or parameter stops the run."""
    s = state.s
    tic = time.time()
    mixing = (s.mixup or bool(s.cutmix)) and epoch < s.num_epochs - s.mixup_off_epoch
    mx.random.seed(s.seed * 1000 + epoch)      # dropout masks
    meter = EpochMeter(epoch, len(state.data.train), s.log_interval, s.dataset == 'imagenet',
                       state.rank if state.num_workers > 1 else None, sys.stderr.isatty())
    for b, (images, label) in enumerate(state.data.train.epoch(epoch)):
        if s.random_erasing:
            images = _erased(images, erase_boxes(s.seed, epoch, b, len(images),
                                                 images.shape[-2], images.shape[-1],
                                                 s.random_erasing))
        lam, box = _mixed(s, epoch, b, images.shape[-2:]) if mixing else (1.0, None)
        outputs, loss = train_step(state, images, label, lam, box)
        if not math.isfinite(loss):
            raise TrainingError('non-finite loss (%s) at epoch %d, batch %d: training stopped; '
                                'the last good checkpoint is %s'
                                % (loss, epoch, b, _last_good(state)))
        label = _np(label)
        dominant = label if lam >= 0.5 else label[::-1]
        meter.add(b, outputs, dominant, loss, state.trainer.learning_rate, state.data.classes)
    meter.close()
    trained = time.time() - tic
    _check_finite(state, epoch)      # before anything of the epoch is written
    val = validate(state.net, state.data.test, state.devices, s.dtype)
    row = {'epoch': epoch, 'train_acc': meter.accuracy, 'train_error': 1 - meter.accuracy,
           'val_acc': val[0], 'val_error': 1 - val[0], 'val_top5_error': 1 - val[1],
           'val_loss': val[2], 'loss': meter.loss, 'lr': state.trainer.learning_rate,
           'mixup': bool(mixing and s.mixup), 'speed': meter.seen / max(trained, 1e-9)}
    if s.cutmix:
        row['cutmix'] = bool(mixing)
    if state.ema is not None:
        with state.ema.applied():
            ema = validate(state.net, state.data.test, state.devices, s.dtype)
        row.update(ema_val_acc=ema[0], ema_val_error=1 - ema[0], ema_val_top5_error=1 - ema[1],
                   ema_val_loss=ema[2])
    row['time'] = time.time() - tic
    return row


def _mixed(s, epoch, b, shape):
    """``(lam, box)`` of batch ``b``: CutMix's weight of the batch's own labels and its box
    where the batch takes CutMix (``--cutmix``, and a coin's side with ``--mixup`` too), else
    mixup's ``lam`` and no box."""
    if s.cutmix and (not s.mixup or cutmix_chosen(s.seed, epoch, b)):
        return cutmix_box(s.seed, epoch, b, s.cutmix, shape[0], shape[1])
    return mixup_lambda(s.seed, epoch, b, s.mixup_alpha), None


def _erased(images, boxes):
    """The normalised batch ``images`` with each of ``boxes`` (``(image, top, bottom, left,
    right)``) set to 0: the data set's mean."""
    if boxes and isinstance(images, mx.nd.NDArray):
        images = images.copy()             # not the loader's own buffer
    for i, top, bottom, left, right in boxes:
        images[i, :, top:bottom, left:right] = 0
    return images


def train_step(state, images, label, lam=1.0, box=None):
    """Forward, backward and update on one batch, split over the devices; with mixup
    (``lam < 1``) each sample mixed with the batch's reverse, with CutMix (``box``: top,
    bottom, left, right) the reverse's box pasted in; the targets weighted by ``lam`` and
    smoothed with ``--label-smoothing``.  The moving average of the weights follows the update.
    Returns the outputs (one score NDArray per device) and the batch's summed loss."""
    dtype, classes = state.s.dtype, state.data.classes
    xs = gluon.utils.split_and_load(_nd(images, dtype), state.devices)
    ys = gluon.utils.split_and_load(_nd(label, dtype), state.devices)
    if box is not None:
        xs = [_pasted(x, box) for x in xs]
    elif lam < 1:
        xs = [lam * x + (1 - lam) * x[::-1] for x in xs]
    targets = [mixed_targets(y, classes, lam, state.s.label_smoothing) for y in ys]
    with autograd.record():
        outputs = [state.net(x) for x in xs]
        losses = [_LOSS(o, t) for o, t in zip(outputs, targets)]
    autograd.backward(losses)
    if state.ema is not None and not state.ema.started:
        state.ema.start()                  # from the weights before the first update
    global_batch = state.batch * state.num_workers
    if state.server is None:
        state.trainer.step(global_batch)
    else:
        state.server.step(state.trainer, global_batch)
    if state.ema is not None:
        state.ema.update()
    return outputs, sum(loss.sum().asscalar() for loss in losses)


def _pasted(x, box):
    """CutMix: ``x`` with the box ``(top, bottom, left, right)`` of its reverse pasted in."""
    top, bottom, left, right = box
    if bottom <= top or right <= left:      # no box (MXNet takes no empty slice)
        return x
    patch = x[::-1][:, :, top:bottom, left:right]
    x = x.copy()
    x[:, :, top:bottom, left:right] = patch
    return x


def mixed_targets(y, classes, lam=1.0, smoothing=0.0):
    """The targets of labels ``y`` mixed with the batch's reverse by ``lam``, each smoothed as
    GluonCV's ``train_imagenet.py`` smooths them: ``1 - eps + eps / K`` for the class,
    ``eps / K`` for the others (MXNet's ``one_hot`` with those values)."""
    on, off = 1 - smoothing + smoothing / classes, smoothing / classes
    return lam * mx.nd.one_hot(y, classes, on_value=on, off_value=off) + \
        (1 - lam) * mx.nd.one_hot(y[::-1], classes, on_value=on, off_value=off)


_LOSS = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False)


def validate(net, stream, devices, dtype='float32'):
    """Top-1 and top-5 accuracy and the mean cross-entropy loss of ``net`` over ``stream``."""
    top1, top5, total, loss = 0, 0, 0, 0.0
    for data, label in stream.epoch(0):
        parts = gluon.utils.split_and_load(_nd(data, dtype), devices, even_split=False)
        scores = np.concatenate([net(x).asnumpy() for x in parts]).astype(np.float64)
        label = _np(label).astype(np.int64)
        best = np.argsort(-scores, axis=1)[:, :5]
        top1 += int((best[:, 0] == label).sum())
        top5 += int((best == label[:, None]).any(axis=1).sum())
        high = scores.max(axis=1)
        loss += float((np.log(np.exp(scores - high[:, None]).sum(axis=1)) + high -
                       scores[np.arange(len(label)), label]).sum())
        total += len(label)
    return top1 / float(total), top5 / float(total), loss / total


def _nd(x, dtype='float32'):
    if isinstance(x, mx.nd.NDArray):
        return x.astype(dtype, copy=False)
    return mx.nd.array(x, dtype=dtype)


def _np(x):
    return x.asnumpy() if isinstance(x, mx.nd.NDArray) else x


def _last_good(state):
    return state.last_checkpoint or 'none (no checkpoint was written yet)'


def _check_finite(state, epoch):
    """Stop, as for a non-finite loss, where a parameter or a BatchNorm statistic is not a
    number: nothing of this epoch is written (best parameters, checkpoint, export)."""
    bad = non_finite_parameters(state.net)
    if bad:
        raise TrainingError(
            'non-finite parameters (NaN or infinity in %s) after epoch %d: training stopped, '
            'nothing of this epoch written; the last good checkpoint is %s'
            % (describe_non_finite(bad), epoch, _last_good(state)))


# -- the end of an epoch, the end of the run ---------------------------------------------------

def end_epoch(state, epoch, row):
    """Record the epoch's ``row``; on the chief worker, redraw the curve, rewrite
    ``metrics.jsonl``, keep the best parameters, and every ``--save-period`` epochs (and after
    the last) write a checkpoint and prune the old ones."""
    s = state.s
    state.rows.append(row)
    LOG.info('%s', epoch_line(row, s.dataset == 'imagenet'))
    if not state.chief:
        return
    state.curve.draw(state.rows, last=epoch + 1 == s.num_epochs)
    _write_records(state)
    if row['val_error'] < state.best:
        state.best, state.best_epoch = row['val_error'], epoch
        save_best(state.net, s.save_dir, s.model_name, epoch, state.best)
        LOG.info('best validation error %s at epoch %d', percent(state.best), epoch)
    if state.ema is not None and row['ema_val_error'] < state.ema_best:
        state.ema_best, state.ema_best_epoch = row['ema_val_error'], epoch
        with state.ema.applied():
            save_best(state.net, s.save_dir, ema_name(s.model_name), epoch, state.ema_best)
        LOG.info('best validation error of the moving average %s at epoch %d',
                 percent(state.ema_best), epoch)
    if (epoch + 1) % s.save_period == 0 or epoch + 1 == s.num_epochs:
        meta = {'settings': to_json(s), 'metrics': state.rows, 'best_val_error': state.best}
        state.last_checkpoint = save_checkpoint(
            s.save_dir, epoch, state.net, state.trainer if state.keeps_states else None, meta,
            ema=state.ema)
        LOG.info('checkpoint %s', state.last_checkpoint)
        for path in prune_checkpoints(s.save_dir, s.keep_checkpoints, state.best_epoch):
            LOG.info('removed %s (--keep-checkpoints %d)', path, s.keep_checkpoints)


def _write_records(state):
    """``metrics.jsonl``, ``summary.csv`` and with ``--tensorboard`` the event file, of the
    rows so far (:mod:`~ini_gluon.training.tracking`)."""
    def write(tmp):
        with open(tmp, 'w') as f:
            for row in state.rows:
                f.write(json.dumps(row) + '\n')
    atomic_write(state.path('metrics.jsonl'), write)
    write_summary(state.s.save_dir, state.rows)
    if state.s.tensorboard:
        write_events(state.s.save_dir, state.rows)


def finish(state):
    """After the last epoch: each worker of a distributed run keeps its final parameters and
    shard; the chief writes ``settings.json`` and exports the final and the best weights."""
    s, export_folders = state.s, None
    if state.num_workers > 1:
        state.net.save_parameters(state.path('final-rank%d.params' % state.rank))
        with open(state.path('shard-rank%d.json' % state.rank), 'w') as f:
            json.dump(state.data.train.indices.tolist(), f)
    if state.chief:
        atomic_write_text(state.path('settings.json'), json.dumps(to_json(s), indent=1))
        export_folders = _export_run(state)
        LOG.info('exported the final and the best weights to %s (%s-symbol.json and '
                 '-0000.params, classes.txt, model.json; input: NCHW RGB images in [0, 255], '
                 'normalised inside the graph with mean %s, std %s in [0, 1] units)',
                 ', '.join(export_folders.values()), s.model_name,
                 ['%.4f' % m for m in s.mean], ['%.4f' % v for v in s.std])
        if state.best_epoch is not None:
            LOG.info('best validation error %s at epoch %d: %s, %s', percent(state.best),
                     state.best_epoch, best_paths(s.save_dir, s.model_name)[0],
                     export_folders['best'])
    return {'epochs': state.rows, 'best_val_error': state.best, 'export': export_folders}


def _export_run(state):
    """The end-of-run exports, by the code of ``python -m ini_gluon.export``: the final weights
    (the last checkpoint) into ``export-final/``, the best into ``export-best/``, and with
    ``--ema`` the moving average's into ``export-ema-final/`` and ``export-ema-best/``; each a
    float32 network taking raw [0, 255] images, with ``classes.txt`` and ``model.json``.
    Returns ``{'final': folder, 'best': folder[, 'ema-final': ..., 'ema-best': ...]}``."""
    s = state.s
    weights = {'final': (os.path.join(state.last_checkpoint, 'model.params'), s.num_epochs - 1),
               'best': (best_paths(s.save_dir, s.model_name)[0], state.best_epoch)}
    if state.ema is not None:
        weights.update({
            'ema-final': (os.path.join(state.last_checkpoint, EMA_FILE), s.num_epochs - 1),
            'ema-best': (best_paths(s.save_dir, ema_name(s.model_name))[0],
                         state.ema_best_epoch)})
    folders = {}
    for which, (params, epoch) in weights.items():
        source = {'run': os.path.abspath(s.save_dir), 'which': which, 'epoch': epoch,
                  'params': os.path.abspath(params)}
        folders[which] = state.path('export-' + which)
        export(load_trained(s, source), folders[which])
    return folders
