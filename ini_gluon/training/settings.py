"""Command-line options of ``train_cifar.py`` and the papers' training settings.

Argument names follow GluonCV's ``scripts/classification/cifar/train_cifar10.py`` (and its
ImageNet script for ``--mixup*`` and ``--logging-file``).  With ``--preset paper`` (default)
the epochs, batch size, learning-rate schedule and weight decay come from the papers for the
model's backbone family and the dataset (InI paper Section V-B, CMPE-SE paper Section 4.1);
every flag given explicitly overrides the preset.
"""
import argparse
import math

from ..models.registry import resolve_model_name

__all__ = ['build_parser', 'resolve', 'fill', 'paper_preset', 'SettingsError']


class SettingsError(ValueError):
    """A bad combination of options."""


# Defaults of the flags a preset can set; ``None`` in the parser means "not given".
FALLBACK = {'num_epochs': 200, 'batch_size': 128, 'lr': 0.1, 'lr_decay': 0.1,
            'lr_decay_epoch': '100,150', 'wd': 1e-4, 'augment': 'crop-flip'}


def _family(model):
    backbone, _, attn = resolve_model_name(model)
    name = backbone.constructor.__name__
    return ('wrn' if 'wrn' in name else 'resnet'), attn


def _steps(epochs, *fractions):
    return ','.join(str(int(round(epochs * f))) for f in fractions)


def paper_preset(model, dataset, mixup=False):
    """The papers' settings for ``model`` on ``dataset`` (SPEC.md, "Training settings").

    CIFAR: pre-act ResNet 300 epochs, lr 0.1 / 10 at 50 % and 75 %, wd 1e-4; WRN 200 epochs,
    lr 0.1 / 5 at 60, 120, 160, wd 5e-4 (weight decay from each backbone's own paper).  Batch 64
    for InI models, 128 for CMPE-SE, SE and plain ones.  SVHN: train + extra, no augmentation;
    InI 80 epochs, CMPE-SE 160 epochs, lr 0.01 / 10 at 50 % and 75 % (CMPE-SE: 80, 120).
    digits (the offline demo, not in the papers): 15 epochs, lr 0.1 / 10 at 50 % and 75 %,
    translation only (mirroring would change the digits).  Mixup (CMPE-SE): 20 more epochs
    without it at the end.
    """
    family, attn = _family(model)
    ini = attn is not None and attn.startswith('ini')
    wd = 5e-4 if family == 'wrn' else 1e-4
    batch = 64 if ini else 128
    if dataset in ('cifar10', 'cifar100'):
        if family == 'wrn':
            preset = dict(num_epochs=200, lr=0.1, lr_decay=0.2, lr_decay_epoch='60,120,160')
        else:
            preset = dict(num_epochs=300, lr=0.1, lr_decay=0.1, lr_decay_epoch=_steps(300, .5, .75))
        preset.update(augment='crop-flip')
    elif dataset == 'svhn':
        epochs = 80 if ini else 160
        preset = dict(num_epochs=epochs, lr=0.01, lr_decay=0.1,
                      lr_decay_epoch=_steps(epochs, .5, .75), augment='none')
    elif dataset == 'digits':
        preset = dict(num_epochs=15, lr=0.1, lr_decay=0.1, lr_decay_epoch=_steps(15, .5, .75),
                      augment='crop')
    else:
        raise SettingsError('unknown dataset %r: expected cifar10, cifar100, svhn or digits'
                            % (dataset,))
    preset.update(batch_size=batch, wd=wd)
    if mixup:
        preset['num_epochs'] += 20
    return preset


def build_parser():
    p = argparse.ArgumentParser(
        description='Train an InI / CMPE-SE / SE network on CIFAR-10/100, SVHN or the offline '
                    'digits set, as the papers did.')
    a = p.add_argument
    a('--model', type=str, default='ini_wrn28_10_mix5d',
      help='model name, e.g. ini_wrn28_10_mix5d, se_resnet164 (default: %(default)s)')
    a('--dataset', type=str, default='cifar10', help='cifar10, cifar100, svhn or digits')
    a('--data-dir', type=str, default=None,
      help='folder with the official dataset files (not needed for digits)')
    a('--preset', choices=('paper', 'none'), default='paper',
      help='paper: epochs, batch size, schedule and weight decay of the papers (default)')
    a('--batch-size', type=int, default=None, help='training batch size per device')
    a('--num-gpus', type=int, default=0, help='number of GPUs to use; 0 trains on the CPU')
    a('-j', '--num-data-workers', dest='num_workers', type=int, default=2,
      help='threads preparing batches (0: in the training thread)')
    a('--num-epochs', type=int, default=None, help='number of training epochs')
    a('--lr', type=float, default=None, help='learning rate')
    a('--momentum', type=float, default=0.9, help='Nesterov momentum (optimizer nag)')
    a('--wd', type=float, default=None, help='weight decay')
    a('--lr-decay', type=float, default=None, help='factor at each decay epoch')
    a('--lr-decay-epoch', type=str, default=None, help='epochs at which the lr decays, "60,120"')
    a('--drop-rate', type=float, default=0.0, help='dropout rate of WRN blocks')
    a('--augment', choices=('crop-flip', 'crop', 'none'), default=None,
      help='translation (pad 4, random 32x32 crop) and mirroring')
    a('--mixup', action='store_true', help='train with mixup (CMPE-SE paper)')
    a('--mixup-alpha', type=float, default=1.0, help='Beta(alpha, alpha) of mixup')
    a('--mixup-off-epoch', type=int, default=20,
      help='how many last epochs train without mixup (default: %(default)s)')
    a('--mode', choices=('hybrid', 'imperative'), default='hybrid',
      help='hybrid (default) or imperative')
    a('--save-period', type=int, default=10, help='checkpoint every N epochs')
    a('--save-dir', type=str, default='params', help='directory of all outputs')
    a('--resume-from', type=str, default=None,
      help='checkpoint folder to resume from, or "auto": the latest complete one in --save-dir')
    a('--resume', dest='resume_from', type=str, help='same as --resume-from')
    a('--logging-file', type=str, default=None, help='log file (default: <save-dir>/train.log)')
    a('--kvstore', type=str, default='device',
      help='local, device, nccl, dist_sync, dist_device_sync or dist_async')
    a('--seed', type=int, default=1, help='random seed (initialisation, data order, mixup)')
    a('--test-batch-size', type=int, default=256, help='batch size of the evaluation')
    return p


KVSTORES = ('local', 'device', 'nccl', 'dist_sync', 'dist_device_sync', 'dist_async')


def fill(opt, preset, fallback, **extra):
    """The options as a dict: those not given (``None``) from ``preset``, else ``fallback``;
    then the checks both training scripts share.  ``extra`` adds fixed settings."""
    s = dict(vars(opt), **extra)
    if s['kvstore'] not in KVSTORES:
        raise SettingsError('unknown --kvstore %r: expected one of %s'
                            % (s['kvstore'], ', '.join(KVSTORES)))
    s['from_preset'] = sorted(k for k in fallback if s[k] is None and k in preset)
    for key in fallback:
        if s[key] is None:
            s[key] = preset.get(key, fallback[key])
    s['test_batch_size'] = s['test_batch_size'] or s['batch_size']
    try:
        s['lr_decay_epoch'] = [int(e) for e in str(s['lr_decay_epoch']).split(',') if e.strip()]
    except ValueError:
        raise SettingsError('--lr-decay-epoch must be comma-separated epochs, not %r'
                            % (opt.lr_decay_epoch,))
    for key in ('num_epochs', 'batch_size', 'save_period', 'test_batch_size'):
        if s[key] < 1:
            raise SettingsError('--%s must be >= 1, not %d' % (key.replace('_', '-'), s[key]))
    if not (math.isfinite(s['lr']) and s['lr'] > 0):
        raise SettingsError('--lr must be a positive finite number, not %r' % (s['lr'],))
    if not (math.isfinite(s['wd']) and s['wd'] >= 0) or not 0 <= s['momentum'] < 1:
        raise SettingsError('--wd must be >= 0 and --momentum in [0, 1)')
    if s['num_gpus'] < 0 or s['num_workers'] < 0:
        raise SettingsError('--num-gpus and -j must be >= 0')
    if not s['mixup']:
        s['mixup_off_epoch'] = 0
    return s


def resolve(opt):
    """Fill the options the user did not give from the preset (or the fallbacks) and check them.

    Returns
    -------
    dict
        The resolved settings, JSON-serialisable.
    """
    preset = paper_preset(opt.model, opt.dataset, opt.mixup) if opt.preset == 'paper' else {}
    return fill(opt, preset, FALLBACK)
