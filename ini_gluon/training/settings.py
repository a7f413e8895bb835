"""Command-line options of ``train_cifar.py``, and the settings resolved from them.

Argument names follow GluonCV's ``scripts/classification/cifar/train_cifar10.py`` (and its
ImageNet script for ``--mixup*`` and ``--logging-file``).  ``--preset`` names the paper whose
recipe fills what the user does not give (:mod:`ini_gluon.training.recipes`): ``paper`` (the
default) is the paper the model's backbone registers (``paper='sinet'``: SINet and its ablation
networks), else the CMPE-SE paper's for ``cmpe_se_*`` models and the InI paper's for every other
(InI, SE and plain: the rows the InI paper compares under one setting); ``ini``, ``cmpe-se`` and
``sinet`` ask for one paper's recipe whatever the model; ``none`` leaves GluonCV's script
defaults.
Every resolved setting records where it came from: ``preset:<paper>``, ``user`` or ``default``.
"""
import inspect
import json
import math
import os

from .._argparse import OneLineParser
from ..models import model_name, resolve_model_name
from ..models.residual import check_blocks
from .recipes import PAPERS, decay_epochs, recipe, weight_decay

__all__ = ['build_parser', 'add_run_options', 'add_loop_options', 'resolve', 'fill',
           'paper_preset', 'describe', 'dumps', 'SettingsError', 'OneLineParser']


class SettingsError(ValueError):
    """A bad combination of options."""


# Defaults of the flags a preset can set (GluonCV's train_cifar10.py); ``None`` in the parser
# means "not given".
FALLBACK = {'num_epochs': 200, 'batch_size': 128, 'lr': 0.1, 'lr_decay': 0.1,
            'lr_decay_epoch': '100,150', 'wd': 1e-4, 'augment': 'crop-flip', 'lr_mode': 'step'}
PRESETS = ('paper', 'ini', 'cmpe-se', 'sinet', 'none')
LR_MODES = ('step', 'cosine', 'poly', 'exponential')
_PAPER_PRESETS = tuple(p for p in PRESETS if p in PAPERS)     # a backbone's paper= is one
# bookkeeping of the resolved settings, not settings themselves
_META = ('sources', 'notes', 'warnings', 'dry_run', 'debug')


def _paper(preset, model):
    """The paper a ``--preset`` value names for ``model``: under ``paper`` the paper its backbone
    registers (``register_backbone(..., paper='sinet')``), else a ``cmpe_se_*`` name -- the
    CMPE-SE models, and the original CMPE-SE code's name of its SE baseline,
    ``cmpe_se_resnet164`` -- follows the CMPE-SE paper, every other the InI paper."""
    if preset == 'none':
        return None
    if preset == 'paper':
        entry = resolve_model_name(model).entry
        if entry.paper is not None and entry.paper not in _PAPER_PRESETS:
            raise SettingsError('%s: its backbone %s is registered with paper=%r, expected one '
                                'of %s' % (model, entry.key, entry.paper,
                                           ', '.join(_PAPER_PRESETS)))
        if entry.paper is not None:
            return entry.paper
        return 'cmpe-se' if model.lower().startswith('cmpe_se_') else 'ini'
    return preset


def _recipe(paper, dataset, family):
    if paper is None:
        return None
    try:
        return recipe(paper, dataset, family)
    except KeyError:
        raise SettingsError('unknown dataset %r: expected cifar10, cifar100, svhn or digits'
                            % (dataset,))
    except ValueError as err:   # a paper without a recipe for the data set or the family
        raise SettingsError('%s: give --preset with another paper, or none' % err)


def paper_preset(model, dataset, preset='paper', mixup_off_epoch=0, devices=1):
    """``{setting: (value, note)}`` of the recipe ``preset`` names, for ``model`` on
    ``dataset`` (a run of the recipe's epochs, plus ``mixup_off_epoch`` epochs without mixup);
    empty for ``none``."""
    family = resolve_model_name(model).family
    return _preset_values(_recipe(_paper(preset, model), dataset, family), family,
                          mixup_off_epoch, devices)


def _preset_values(r, family, mixup_off_epoch, devices):
    """:func:`paper_preset` of the recipe ``r`` for a backbone ``family``."""
    if r is None:
        return {}
    out = {key: (getattr(r, key), r.notes.get(key))
           for key in ('lr', 'lr_decay', 'augment') if getattr(r, key) is not None}
    epochs = r.num_epochs + mixup_off_epoch
    out['num_epochs'] = (epochs, '; '.join(filter(None, [
        r.notes.get('num_epochs'), '%d + %d without mixup (--mixup-off-epoch)'
        % (r.num_epochs, mixup_off_epoch) if mixup_off_epoch else None])) or None)
    out['lr_decay_epoch'] = (decay_epochs(r, r.num_epochs),
                             r.notes.get('lr_decay_epoch') or _decay_note(r))
    if r.decay == 'exponential':    # only such a recipe sets the mode: the others leave 'step'
        out['lr_mode'] = ('exponential', 'the lr multiplied by %g after every epoch'
                          % r.lr_decay)
    out['wd'] = weight_decay(family)
    out['batch_size'] = _per_device(r, devices)
    return out


def _decay_note(r, epochs=None):
    if r.decay == 'fractions':
        note = 'at %s of the epochs' % ', '.join('%g %%' % (100 * f) for f in r.points)
        return note + (' (%d)' % epochs if epochs is not None else '')
    if r.decay == 'every':
        return 'every %d epochs' % r.points[0]
    if r.decay == 'exponential':
        return 'multiplied by %g after every epoch' % r.lr_decay
    return 'at fixed epochs'


def _per_device(r, devices):
    note = r.notes.get('batch_size')
    if devices == 1:
        return r.batch_size, note
    if r.batch_size % devices:
        raise SettingsError('the %s batch of %d does not split evenly over %d devices: give '
                            '--batch-size (per device)' % (PAPERS[r.paper], r.batch_size,
                                                           devices))
    split = 'the batch of %d split over %d devices' % (r.batch_size, devices)
    return r.batch_size // devices, '; '.join(filter(None, [note, split]))


def add_run_options(parser):
    """The options of both training scripts that guard the run folder and its errors."""
    a = parser.add_argument
    a('--keep-checkpoints', type=int, default=None, metavar='N',
      help='keep the N newest checkpoints (and the best epoch\'s); default: all')
    a('--overwrite', action='store_true',
      help='start a new run in a --save-dir that holds another run\'s checkpoints, removing '
           'them (without it such a folder is refused)')
    a('--debug', action='store_true',
      help='show the traceback of an error instead of its one line')
    a('--initial-checkpoint', type=str, default=None, metavar='FILE',
      help='start from these weights (weights only: a parameter file such as <model>-best.params '
           'or an export\'s -0000.params, or a checkpoint folder); unlike --resume, the '
           'optimizer, the epoch and the schedule start afresh')


def add_loop_options(parser):
    """The options of both training scripts that the training loop reads alike: the shape of
    the learning-rate schedule, the precision, the progress lines (GluonCV's names)."""
    a = parser.add_argument
    a('--lr-mode', choices=LR_MODES, default=None,
      help='learning-rate schedule: step (multiplied by --lr-decay at each --lr-decay-epoch), '
           'cosine or poly (GluonCV\'s, from --lr down to 0 over the epochs after the warm-up), '
           'exponential (--lr times --lr-decay^e in epoch e, as MobileNet\'s per-epoch decay; '
           '--lr-decay-epoch is not read) (default: the preset\'s -- exponential for the SINet '
           'paper\'s ImageNet recipe -- else step)')
    a('--warmup-epochs', type=int, default=0, metavar='N',
      help='raise the learning rate linearly from 0 to --lr over the first N epochs '
           '(default: %(default)s)')
    a('--dtype', choices=('float32', 'float16'), default='float32',
      help='float32 (default) or float16: GPUs only (--num-gpus), with float32 master weights')
    a('--log-interval', type=int, default=50, metavar='N',
      help='every N batches log one line: epoch, batch, speed (img/s) and the training error '
           'and loss of the epoch so far (default: %(default)s, as GluonCV\'s '
           'train_imagenet.py; 0: none)')


def build_parser():
    p = OneLineParser(
        prog='train_cifar.py',
        description='Train an InI / CMPE-SE / SE network on CIFAR-10/100, SVHN or the offline '
                    'digits set, as the papers did.')
    a = p.add_argument
    a('--model', type=str, default='ini_wrn28_10_mix5d',
      help='model name, e.g. ini_wrn28_10_mix5d, se_resnet164 (default: %(default)s)')
    a('--dataset', type=str, default='cifar10', help='cifar10, cifar100, svhn or digits')
    a('--data-dir', type=str, default=None,
      help='folder with the official dataset files (not needed for digits)')
    a('--preset', choices=PRESETS, default='paper',
      help='whose epochs, batch size, schedule and weight decay fill the flags not given: '
           'paper (default: the paper a backbone registers -- sinet for SINet and its '
           'ablation networks --, else the CMPE-SE paper\'s for cmpe_se_* models, the InI '
           'paper\'s for the others), ini, cmpe-se, sinet, or none (GluonCV\'s defaults)')
    a('--dry-run', action='store_true',
      help='print the resolved settings as JSON (value and source of each) and exit')
    a('--batch-size', type=int, default=None, help='training batch size per device')
    a('--num-gpus', type=int, default=0, help='number of GPUs to use; 0 trains on the CPU')
    a('-j', '--num-data-workers', dest='num_workers', type=int, default=2,
      help='threads preparing batches (0: in the training thread)')
    a('--num-epochs', type=int, default=None, help='number of training epochs')
    a('--lr', type=float, default=None, help='learning rate')
    a('--momentum', type=float, default=0.9, help='Nesterov momentum (optimizer nag)')
    a('--wd', type=float, default=None, help='weight decay')
    a('--lr-decay', type=float, default=None,
      help='factor at each decay epoch (--lr-mode exponential: after every epoch)')
    a('--lr-decay-epoch', type=str, default=None,
      help='epochs at which the lr decays, "60,120" (--lr-mode step only)')
    add_loop_options(p)
    a('--drop-rate', type=float, default=None,
      help='dropout rate: between the convolutions of WRN blocks (default 0), after the '
           'stride-2 convolutions of All-CNN (default 0.5)')
    a('--augment', choices=('crop-flip', 'crop', 'none'), default=None,
      help='translation (pad 4, random 32x32 crop) and mirroring')
    a('--mixup', action='store_true', help='train with mixup (CMPE-SE paper)')
    a('--mixup-alpha', type=float, default=1.0, help='Beta(alpha, alpha) of mixup')
    a('--mixup-off-epoch', type=int, default=20,
      help='how many last epochs train without mixup (default: %(default)s)')
    a('--mode', choices=('hybrid', 'imperative'), default='hybrid',
      help='hybrid (default) or imperative')
    a('--save-period', type=int, default=10, help='checkpoint every N epochs')
    add_run_options(p)
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


def fill(opt, defaults, fallback, dataset, **extra):
    """The resolved settings as a dict: options not given (``None``) from the preset's recipe
    for ``dataset``, else ``fallback``; then the checks both training scripts share.
    ``defaults`` are the parser's defaults (a value equal to its default counts as a default),
    ``extra`` adds fixed settings.  ``s['sources']`` and ``s['notes']`` say where each setting
    came from and what the project chose; ``s['warnings']`` what the run must say at its start.
    """
    s = dict(vars(opt), **extra)
    s.setdefault('dataset', dataset)
    sources = {k: 'user' if k in vars(opt) and s[k] != defaults.get(k) else 'default'
               for k in s}
    notes = {}
    spec = resolve_model_name(s['model'])
    try:
        check_blocks(spec.attn, spec.blocks())
    except ValueError as err:
        raise SettingsError('cannot build %r: %s' % (s['model'], err))
    if s['drop_rate'] is None:
        s['drop_rate'] = _own_drop_rate(spec)
        if s['drop_rate']:
            notes['drop_rate'] = ('the backbone\'s own dropout (All-CNN: after each stride-2 '
                                  'convolution, 20 % on the input)')
    _check_counts(s, spec)
    if not s['mixup']:
        s['mixup_off_epoch'] = 0
        sources['mixup_off_epoch'] = 'default'
        notes['mixup_off_epoch'] = 'no mixup (--mixup not given)'
    user_epochs = s['num_epochs'] is not None
    r = _recipe(_paper(s['preset'], s['model']), dataset, spec.family)
    devices = max(1, s['num_gpus']) if s['batch_size'] is None else 1
    preset = _preset_values(r, spec.family, s['mixup_off_epoch'], devices)
    if r is not None:
        notes['preset'] = PAPERS[r.paper]
        if r.paper == 'demo' and s['preset'] in PAPERS:
            notes['preset'] += ' (the %s recipe has no digits)' % PAPERS[s['preset']]
        if 'preset' in r.notes:
            notes['preset'] += '; ' + r.notes['preset']
    for key in fallback:
        if s[key] is not None:
            sources[key] = 'user'
        elif key in preset:
            s[key], note = preset[key]
            sources[key] = 'preset:' + r.paper
            if note:
                notes[key] = note
        else:
            s[key], sources[key] = fallback[key], 'default'
    _check(s, opt)
    if sources['lr_decay_epoch'].startswith('preset') and user_epochs and r.decay != 'epochs':
        # a schedule given as fractions of the run (or a period) moves with --num-epochs
        base = s['num_epochs'] - s['mixup_off_epoch']
        s['lr_decay_epoch'] = decay_epochs(r, base)
        notes['lr_decay_epoch'] = _decay_note(r, base) + (
            ' before the %d without mixup' % s['mixup_off_epoch'] if s['mixup_off_epoch']
            else '')
    unread = s['lr_mode'] == 'exponential' or (
        s['lr_mode'] != 'step' and r is not None and r.decay == 'exponential')
    if unread and sources['lr_decay_epoch'].startswith('preset'):
        # the preset's decay epochs are not read: shown as none rather than as a list that
        # looks like a schedule (an exponential recipe's: every epoch, for --lr-mode step)
        s['lr_decay_epoch'] = []
        notes['lr_decay_epoch'] = 'not read under --lr-mode %s' % s['lr_mode']
    elif s['lr_mode'] == 'exponential':
        notes['lr_decay_epoch'] = 'not read under --lr-mode exponential'
    elif not s['lr_decay_epoch']:
        notes['lr_decay_epoch'] = 'no decay: the learning rate stays at --lr'
    if s['test_batch_size'] is None:
        s['test_batch_size'] = s['batch_size']
        sources['test_batch_size'], notes['test_batch_size'] = sources['batch_size'], \
            'the training batch'
    if s['kvstore'].startswith('dist') and sources['batch_size'].startswith('preset'):
        notes['batch_size'] = '; '.join(filter(None, [
            notes.get('batch_size'), 'each worker of a %s run takes this batch: the papers\' '
            'batch is that of one machine' % s['kvstore']]))
    s.update(sources=sources, notes=notes, warnings=_decay_warnings(s, sources, r))
    return s


def takes_drop_rate(spec):
    """Whether the backbone's constructor has a ``drop_rate``."""
    return 'drop_rate' in inspect.signature(spec.entry.build).parameters


def _own_drop_rate(spec):
    """The dropout a backbone has by default (All-CNN's 0.5), 0 for none."""
    parameter = inspect.signature(spec.entry.build).parameters.get('drop_rate')
    return 0.0 if parameter is None else parameter.default


def _check_counts(s, spec):
    """The options no preset sets: checked before the preset is looked up."""
    if s['kvstore'] not in KVSTORES:
        raise SettingsError('unknown --kvstore %r: expected one of %s'
                            % (s['kvstore'], ', '.join(KVSTORES)))
    for key, flag in (('num_gpus', '--num-gpus'), ('num_workers', '-j'), ('seed', '--seed'),
                      ('log_interval', '--log-interval')):
        if s[key] < 0:
            raise SettingsError('%s must be >= 0, not %d' % (flag, s[key]))
    if s['dtype'] == 'float16' and s['num_gpus'] == 0:
        raise SettingsError('--dtype float16 trains on GPUs only: give --num-gpus')
    if s['mixup'] and s['mixup_off_epoch'] < 0:
        raise SettingsError('--mixup-off-epoch must be >= 0, not %d' % s['mixup_off_epoch'])
    if s['mixup'] and not (math.isfinite(s['mixup_alpha']) and s['mixup_alpha'] > 0):
        raise SettingsError('--mixup-alpha must be a positive finite number, not %r'
                            % (s['mixup_alpha'],))
    if not (math.isfinite(s['drop_rate']) and 0 <= s['drop_rate'] < 1):
        raise SettingsError('--drop-rate must be in [0, 1), not %r' % (s['drop_rate'],))
    if s['drop_rate'] and not takes_drop_rate(spec):
        raise SettingsError('--drop-rate applies to a backbone\'s dropout (WRN, All-CNN); %s '
                            'has none' % s['model'])


def _positive(s, key, flag):
    if not (math.isfinite(s[key]) and s[key] > 0):
        raise SettingsError('%s must be a positive finite number, not %r' % (flag, s[key]))


def _check(s, opt):
    try:
        epochs = s['lr_decay_epoch']           # a preset's list, or the user's "60,120"
        if isinstance(epochs, str):
            epochs = [int(e) for e in epochs.split(',') if e.strip()]
    except ValueError:
        raise SettingsError('--lr-decay-epoch must be comma-separated epochs, not %r'
                            % (opt.lr_decay_epoch,))
    if any(e < 1 for e in epochs) or epochs != sorted(set(epochs)):
        raise SettingsError('--lr-decay-epoch must be increasing epochs >= 1, not %r'
                            % (opt.lr_decay_epoch,))
    s['lr_decay_epoch'] = epochs
    for key in ('num_epochs', 'batch_size', 'save_period'):
        if s[key] < 1:
            raise SettingsError('--%s must be >= 1, not %d' % (key.replace('_', '-'), s[key]))
    if s.get('keep_checkpoints') is not None and s['keep_checkpoints'] < 1:
        raise SettingsError('--keep-checkpoints must be >= 1, not %d' % s['keep_checkpoints'])
    initial = s.get('initial_checkpoint')
    if initial and not (os.path.isfile(initial) or
                        os.path.isfile(os.path.join(initial, 'model.params'))):
        raise SettingsError('--initial-checkpoint %r: not a parameter file or a checkpoint '
                            'folder (with model.params); of a run folder give its '
                            '<model>-best.params or one of its checkpoint-epochNNNN folders'
                            % (initial,))
    if s.get('overwrite') and s['resume_from']:
        raise SettingsError('--overwrite starts a new run and --resume continues one: give one')
    if s['test_batch_size'] is not None and s['test_batch_size'] < 1:
        raise SettingsError('--test-batch-size must be >= 1, not %d' % s['test_batch_size'])
    _positive(s, 'lr', '--lr')
    if not (math.isfinite(s['lr_decay']) and 0 < s['lr_decay'] <= 1):
        raise SettingsError('--lr-decay must be in (0, 1] (the factor the learning rate is '
                            'multiplied by), not %r' % (s['lr_decay'],))
    if not (math.isfinite(s['wd']) and s['wd'] >= 0):
        raise SettingsError('--wd must be a finite number >= 0, not %r' % (s['wd'],))
    if not 0 <= s['momentum'] < 1:
        raise SettingsError('--momentum must be in [0, 1), not %r' % (s['momentum'],))
    if s['mixup_off_epoch'] >= s['num_epochs']:
        raise SettingsError('the %d epochs of the run leave none for mixup before the %d '
                            'without it: raise --num-epochs or lower --mixup-off-epoch'
                            % (s['num_epochs'], s['mixup_off_epoch']))
    warmup = s.get('warmup_epochs', 0)
    if not 0 <= warmup < s['num_epochs']:
        raise SettingsError('--warmup-epochs must be >= 0 and below the %d epochs of the run, '
                            'not %d' % (s['num_epochs'], warmup))


def _decay_warnings(s, sources, r=None):
    """What the run must say of its decay settings: decay epochs outside the run (step), or
    given and not read, or a factor meant for a few decay epochs applied after every epoch
    (exponential)."""
    if s['lr_mode'] == 'exponential':
        return _exponential_warnings(s, sources, r)
    if s['lr_mode'] != 'step':
        return []                   # cosine / poly: no decay epochs
    outside = [e for e in s['lr_decay_epoch'] if e >= s['num_epochs']]
    if not outside:
        return []
    return ['learning-rate decay at epoch %s (%s) lies outside this %d-epoch run: the learning '
            'rate never decays there; set the decay epochs with --lr-decay-epoch'
            % (', '.join(map(str, outside)), sources['lr_decay_epoch'], s['num_epochs'])]


def _exponential_warnings(s, sources, r):
    out = []
    if sources['lr_decay_epoch'] == 'user':
        out.append('--lr-decay-epoch %s is not read under --lr-mode exponential: the learning '
                   'rate is multiplied by --lr-decay after every epoch'
                   % ','.join(map(str, s['lr_decay_epoch'])))
    if sources['lr_decay'] != 'user' and (r is None or r.decay != 'exponential'):
        last = s['lr'] * s['lr_decay'] ** (s['num_epochs'] - 1)
        out.append('--lr-mode exponential multiplies the learning rate by %g (%s, a factor for '
                   'a few decay epochs) after every epoch: %g in the last epoch; give --lr-decay '
                   '(MobileNet\'s: 0.98)' % (s['lr_decay'], sources['lr_decay'], last))
    return out


def describe(s):
    """``{setting: {'value', 'source'[, 'note']}}`` of resolved settings (the dry run's JSON)."""
    out = {}
    for key in sorted(k for k in s if k not in _META):
        entry = {'value': s[key], 'source': s['sources'].get(key, 'default')}
        if key in s['notes']:
            entry['note'] = s['notes'][key]
        out[key] = entry
    return out


def dumps(s):
    """The dry run's JSON (strict: no NaN or infinity)."""
    return json.dumps(describe(s), indent=1, sort_keys=True, allow_nan=False)


def resolve(opt):
    """Fill the options the user did not give from the preset's recipe (or the fallbacks) and
    check them.

    Returns
    -------
    dict
        The resolved settings, JSON-serialisable, with ``sources``, ``notes`` and ``warnings``.
    """
    if opt.dataset not in ('cifar10', 'cifar100', 'svhn', 'digits'):
        raise SettingsError('unknown dataset %r: expected cifar10, cifar100, svhn or digits'
                            % (opt.dataset,))
    s = fill(opt, vars(build_parser().parse_args([])), FALLBACK, opt.dataset)
    s['warnings'] += _twin_warnings(s['model'])
    return s


def _twin_warnings(model):
    """A line where a network built for 224 x 224 inputs has a registered 32 x 32 twin
    (``mobilenet1_0_g2`` -> ``cifar_mobilenet1_0_g2``)."""
    spec = resolve_model_name(model)
    if spec.entry.input_shape[-1] <= 32:
        return []
    backbone = model_name(spec._replace(attn=None))
    twin = spec.name.replace(backbone, 'cifar_' + backbone, 1)
    try:
        if resolve_model_name(twin).entry.input_shape[-1] > 32:
            return []
    except ValueError:
        return []
    return ['%s is built for 224x224 inputs (its last maps would be 1x1 here): %s is the same '
            'network with the 32x32 strides' % (model, twin)]
