"""The learning-rate schedule of a run: GluonCV's ``LRScheduler`` (``--lr-mode`` step, cosine,
poly; a linear warm-up over ``--warmup-epochs``), the project's :class:`ExponentialScheduler`
(``exponential``), or MXNet's own schedulers on a ``dist_async`` kvstore, whose servers apply
the updates."""
import mxnet as mx
from gluoncv.utils import LRScheduler, LRSequential

__all__ = ['ExponentialScheduler', 'make_schedule']


# GluonCV's LRScheduler (gluoncv/utils/lr_scheduler.py, 0.10.5) has the modes constant, step,
# linear, poly and cosine only: no per-epoch exponential decay (MobileNet's, the SINet paper's
# 0.98 per epoch), so this one is the project's own.  It subclasses GluonCV's, whose interface
# LRSequential needs (it asserts the class, sets ``offset`` and reads ``niters``).
class ExponentialScheduler(LRScheduler):
    """``base_lr * factor ** e`` in epoch ``e``, constant within the epoch (a staircase, as
    MobileNet's per-epoch decay).

    Parameters
    ----------
    base_lr : float
        The learning rate of epoch 0 of the run.
    factor : float
        What the learning rate is multiplied by after every epoch.
    nepochs : int
        The epochs this schedule covers.
    iters_per_epoch : int
        Updates per epoch.
    offset : int
        Updates before this schedule's first, as GluonCV's ``LRScheduler`` (``LRSequential``
        sets it: the warm-up's).
    start_epoch : int
        The epoch of the run this schedule starts in (after a warm-up of that many epochs):
        its first epoch runs at ``base_lr * factor ** start_epoch``, so the epochs count from
        the run's start, as ``--lr-decay-epoch`` does.
    """

    def __init__(self, base_lr, factor, nepochs, iters_per_epoch, offset=0, start_epoch=0):
        super(ExponentialScheduler, self).__init__('constant', base_lr=base_lr, nepochs=nepochs,
                                                   iters_per_epoch=iters_per_epoch,
                                                   offset=offset)
        self.factor, self.iters_per_epoch, self.start_epoch = factor, iters_per_epoch, \
            start_epoch

    def update(self, num_update):
        t = min(max(0, num_update - self.offset), self.niters - 1)     # as LRScheduler's
        self.learning_rate = self.base_lr * self.factor ** (self.start_epoch +
                                                            t // self.iters_per_epoch)


class _FromOne(LRSequential):
    """GluonCV's LRSequential, given the update count as MXNet's optimizer counts it: 1 for
    the first update.  LRSequential counts from 0 (it sets each part's ``offset`` to the
    updates before it), so without this the warm-up ends, and every decay after it comes, one
    update early (the last update of the epoch before)."""

    def update(self, num_update):
        super(_FromOne, self).update(num_update - 1)


def make_schedule(s, iters):
    """The learning-rate schedule: GluonCV's (``--lr-mode`` step / cosine / poly, linear warm-up
    over ``--warmup-epochs``) or :class:`ExponentialScheduler` (``exponential``); MXNet's own
    for ``dist_async``, whose servers unpickle it while MXNet is still importing (there
    ``FactorScheduler`` is the exponential mode, with its own warm-up).  ``iters``: updates per
    epoch; the optimizer counts its first update as 1."""
    warmup, mode = s.warmup_epochs, s.lr_mode
    if s.kvstore == 'dist_async' and mode == 'exponential':
        # lr * decay^floor((n - 1) / iters) at update n; warm-up over updates 1 .. warmup * iters
        # (linear from 0: lr * n / (warmup * iters + 1)); stop_factor_lr 0: no floor
        return mx.lr_scheduler.FactorScheduler(
            iters, s.lr_decay, stop_factor_lr=0, base_lr=s.lr,
            warmup_steps=warmup * iters + 1 if warmup else 0, warmup_begin_lr=0)
    decay = [e for e in s.lr_decay_epoch if 0 < e < s.num_epochs]
    if s.kvstore == 'dist_async':
        steps = [e * iters for e in decay]
        return mx.lr_scheduler.MultiFactorScheduler(steps, s.lr_decay, base_lr=s.lr) \
            if steps else None
    if mode == 'exponential':
        main = ExponentialScheduler(s.lr, s.lr_decay, s.num_epochs - warmup, iters,
                                    offset=0 if warmup else 1, start_epoch=warmup)
    else:
        main = LRScheduler(mode, base_lr=s.lr, nepochs=s.num_epochs - warmup,
                           iters_per_epoch=iters, step_epoch=[e - warmup for e in decay],
                           step_factor=s.lr_decay, offset=0 if warmup else 1)
    if not warmup:
        return main
    sequence = _FromOne([LRScheduler('linear', base_lr=0, target_lr=s.lr, nepochs=warmup,
                                     iters_per_epoch=iters), main])
    sequence.base_lr = s.lr      # what the optimizer sets it to (else it says so)
    return sequence
