"""The settings of a training run, resolved from the command line and the papers' recipes.

The settings themselves are declared once, in :class:`ini_gluon.run.settings.Settings` (role,
flags, default, whether a recipe fills them); this module builds the parsers of
``train_cifar.py`` and ``train_imagenet.py`` from those declarations and resolves a parsed
command line into one immutable :class:`~ini_gluon.run.settings.Settings`.

Argument names follow GluonCV's ``scripts/classification/cifar/train_cifar10.py`` and its
ImageNet script.  ``--preset`` names the paper whose recipe fills what the user does not give
(:mod:`ini_gluon.training.recipes`): ``paper`` (the default) is the paper the model's backbone
registers (``paper='sinet'``: SINet and its ablation networks), else the CMPE-SE paper's for
``cmpe_se_*`` models and the InI paper's for every other (InI, SE and plain: the rows the InI
paper compares under one setting); ``ini``, ``cmpe-se`` and ``sinet`` ask for one paper's recipe
whatever the model; ``none`` leaves GluonCV's script defaults.  Every resolved setting records
where it came from: ``preset:<paper>``, ``user`` or ``default``.
"""
import argparse
import inspect
import math
import os

from .._argparse import OneLineParser
from ..models import backbones, model_name, model_paper, resolve_model_name, shown_template
from ..models.residual import check_blocks
from ..run.settings import (AUTO, CIFAR, IMAGENET, KVSTORES, LIMITS, PRESETS, Settings,
                            declarations, describe, dumps)
from ..run.trained import takes_drop_rate
from .recipes import PAPERS, decay_epochs, recipe, weight_decay

__all__ = ['build_parser', 'resolve', 'paper_preset', 'describe', 'dumps', 'SettingsError',
           'OneLineParser', 'DATASETS']


class SettingsError(ValueError):
    """A bad combination of options."""


DATASETS = ('cifar10', 'cifar100', 'svhn', 'digits')
_PAPER_PRESETS = tuple(p for p in PRESETS if p in PAPERS)     # a backbone's paper= is one
_PROGS = {CIFAR: ('train_cifar.py', 'Train an InI / CMPE-SE / SE network on CIFAR-10/100, SVHN '
                  'or the offline digits set, as the papers did.'),
          IMAGENET: ('train_imagenet.py', 'Train an InI / CMPE-SE network on ImageNet as the '
                     'papers did.')}


def build_parser(script=CIFAR, explicit=False):
    """The parser of ``train_cifar.py`` (``script='cifar'``) or ``train_imagenet.py``
    (``'imagenet'``): one option per declared setting of the script that has flags (a setting
    a recipe fills is ``None`` where not given), and the command's own ``--config``,
    ``--dry-run`` and ``--debug``.  ``explicit``: a parser whose namespace holds only the
    options given (what ``--config`` must not override)."""
    prog, description = _PROGS[script]
    p = OneLineParser(prog=prog, description=description,
                      argument_default=argparse.SUPPRESS if explicit else None)
    for name, d in declarations(script).items():
        if d.flags:
            default = {} if explicit else {'default': None if d.preset else d.default}
            p.add_argument(*d.flags, dest=name, help=d.help or None, **default, **d.parse)
    p.add_argument('--config', metavar='FILE',
                   help='start from the settings of FILE: the settings.json of an earlier run, '
                        'or a YAML file of the same keys; flags given override it')
    p.add_argument('--dry-run', action='store_true',
                   help='print the resolved settings as JSON (value and source of each) and exit')
    p.add_argument('--debug', action='store_true',
                   help='show the traceback of an error instead of its one line')
    return p


def _paper(preset, model):
    """The paper a ``--preset`` value names for ``model`` (the name as given): under ``paper``
    the paper the model registers (:func:`~ini_gluon.models.model_paper`: its backbone's
    ``paper=``, else its alias's -- the original CMPE-SE code's ``cmpe_se_resnet164`` --, else
    its attention type's: the CMPE-SE modes), else the InI paper."""
    if preset == 'none':
        return None
    if preset != 'paper':
        return preset
    paper = model_paper(model)
    if paper is not None and paper not in _PAPER_PRESETS:
        raise SettingsError('%s: it is registered with paper=%r, expected one of %s'
                            % (model, paper, ', '.join(_PAPER_PRESETS)))
    return paper or 'ini'


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


def resolve(opt, script=CIFAR):
    """The :class:`~ini_gluon.run.settings.Settings` of a parsed command line ``opt`` of
    ``script``: what the user did not give from the preset's recipe (or GluonCV's fallbacks),
    then checked; ``sources``, ``notes`` and ``warnings`` say where each came from, what the
    project chose and what the run must say at its start."""
    decls = declarations(script)
    s = {n: getattr(opt, n, d.default) for n, d in decls.items()}
    if script == CIFAR and s['dataset'] not in DATASETS:
        raise SettingsError('unknown dataset %r: expected %s' % (
            s['dataset'], ', '.join(DATASETS[:-1]) + ' or ' + DATASETS[-1]))
    _check_limits(s, decls)
    sources = {n: 'user' if _given(opt, d) else 'default' for n, d in decls.items()}
    sources.update(getattr(opt, 'config_sources', {}))     # --config: the file's
    notes = dict(getattr(opt, 'config_notes', {}))
    spec = _model(s)
    if s['model'] != spec.name:
        notes['model'] = ('given as %s, another name of the network: the run\'s files are named '
                          'after it' % s['model'])
    _model_defaults(s, spec, sources, notes)
    _check_counts(s, spec)
    r = _fill_from_recipe(s, sources, notes, spec, decls)
    _check(s, opt)
    _check_paths(s, decls)
    _schedule_notes(s, sources, notes, r, opt.num_epochs is not None)
    warnings = _decay_warnings(s, sources, r)
    if script == CIFAR:
        warnings += _twin_warnings(s['model'], spec)
    else:
        _check_imagenet(s, spec)
    return Settings(**dict(s, model=spec, model_name=s['model']), sources=sources, notes=notes,
                    warnings=tuple(warnings))


def _check_limits(s, decls):
    """Counts above :data:`~ini_gluon.run.settings.LIMITS` (beyond any run) are refused before
    anything is built from them."""
    for key, high in LIMITS.items():
        value = s.get(key)
        if key in decls and isinstance(value, int) and value > high:
            raise SettingsError('%s must be at most %d, not %d (beyond any run of these '
                                'networks)' % (decls[key].flags[0], high, value))


def _given(opt, d):
    """Whether the user gave the setting ``d`` on the command line (one a recipe fills: any
    value; another: a value other than its default)."""
    if not d.flags:
        return False
    value = getattr(opt, d.name, None)
    return value is not None if d.preset else value != d.default


def _model(s):
    """The model's :class:`~ini_gluon.models.ModelSpec`, parsed once; a configuration that
    cannot be built is one line."""
    spec = resolve_model_name(s['model'])
    try:
        check_blocks(spec.attn, spec.blocks())
    except ValueError as err:
        raise SettingsError('cannot build %r: %s' % (s['model'], err))
    return spec


def _fill_from_recipe(s, sources, notes, spec, decls):
    """Fill the settings a recipe sets and the user did not give: from the recipe of
    ``--preset`` for the model and data set, else their ``--preset none`` fallbacks; returns
    the :class:`~ini_gluon.training.recipes.Recipe` (``None`` for ``--preset none``)."""
    r = _recipe(_paper(s['preset'], s['model']), s['dataset'], spec.family)
    devices = max(1, s['num_gpus']) if s['batch_size'] is None else 1
    preset = _preset_values(r, spec.family, s['mixup_off_epoch'], devices)
    if r is not None:
        notes['preset'] = PAPERS[r.paper]
        if r.paper == 'demo' and s['preset'] in PAPERS:
            notes['preset'] += ' (the %s recipe has no digits)' % PAPERS[s['preset']]
        if 'preset' in r.notes:
            notes['preset'] += '; ' + r.notes['preset']
    for key in (n for n, d in decls.items() if d.preset):
        if s[key] is not None:
            continue
        if key in preset:
            s[key], note = preset[key]
            sources[key] = 'preset:' + r.paper
            if note:
                notes[key] = note
        else:
            s[key] = decls[key].fallback
    return r


def _schedule_notes(s, sources, notes, r, user_epochs):
    """A recipe's decay epochs that are fractions of the run (or a period) move with
    ``--num-epochs``; decay epochs a mode does not read are said so (and a preset's shown as
    none); the evaluation batch and a distributed run's batch."""
    if sources['lr_decay_epoch'].startswith('preset') and user_epochs and r.decay != 'epochs':
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


def _check_imagenet(s, spec):
    """``train_imagenet.py``'s own settings, and a backbone built for ImageNet inputs (32x32
    ones belong to CIFAR)."""
    entry = spec.entry
    if entry.input_shape[-1] < 224:
        imagenet = sorted(shown_template(t) for b in backbones().values()
                          if b.input_shape[-1] >= 224 for t in b.names)
        raise SettingsError('%s is a CIFAR backbone (%dx%d inputs): train it with '
                            'train_cifar.py; train_imagenet.py takes %s'
                            % (s['model'], entry.input_shape[-2], entry.input_shape[-1],
                               ', '.join(imagenet)))
    if s['input_size'] < 32:
        raise SettingsError('--input-size must be >= 32, not %d' % s['input_size'])
    if not (math.isfinite(s['crop_ratio']) and 0 < s['crop_ratio'] <= 1):
        raise SettingsError('--crop-ratio must be in (0, 1], not %r' % (s['crop_ratio'],))
    if s['classes'] < 2:
        raise SettingsError('--classes must be >= 2, not %d' % s['classes'])


def _own_drop_rate(spec):
    """The dropout a backbone has by default (All-CNN's 0.5), 0 for none."""
    parameter = inspect.signature(spec.entry.build).parameters.get('drop_rate')
    return 0.0 if parameter is None else parameter.default


def _model_defaults(s, spec, sources, notes):
    """The backbone's own dropout where ``--drop-rate`` is not given; no mixup-free tail
    without mixup."""
    if s['drop_rate'] is None:
        s['drop_rate'] = _own_drop_rate(spec)
        if s['drop_rate']:
            notes['drop_rate'] = ('the backbone\'s own dropout (All-CNN: after each stride-2 '
                                  'convolution, 20 % on the input)')
    if not (s['mixup'] or s['cutmix']):
        s['mixup_off_epoch'] = 0
        sources['mixup_off_epoch'] = 'default'
        notes['mixup_off_epoch'] = 'no mixup (--mixup not given)'


def _check_counts(s, spec):
    """The options no preset sets: checked before the preset is looked up."""
    if s['kvstore'] not in KVSTORES:
        raise SettingsError('unknown --kvstore %r: expected one of %s'
                            % (s['kvstore'], ', '.join(KVSTORES)))
    for key, flag in (('num_gpus', '--num-gpus'), ('num_workers', '-j'), ('seed', '--seed'),
                      ('log_interval', '--log-interval')):
        if s[key] != AUTO and s[key] < 0:
            raise SettingsError('%s must be >= 0, not %d' % (flag, s[key]))
    if s['dtype'] == 'float16' and s['num_gpus'] == 0:
        raise SettingsError('--dtype float16 trains on GPUs only: give --num-gpus')
    if (s['mixup'] or s['cutmix']) and s['mixup_off_epoch'] < 0:
        raise SettingsError('--mixup-off-epoch must be >= 0, not %d' % s['mixup_off_epoch'])
    if s['mixup'] and not (math.isfinite(s['mixup_alpha']) and s['mixup_alpha'] > 0):
        raise SettingsError('--mixup-alpha must be a positive finite number, not %r'
                            % (s['mixup_alpha'],))
    _check_recipe_options(s)
    if not (math.isfinite(s['drop_rate']) and 0 <= s['drop_rate'] < 1):
        raise SettingsError('--drop-rate must be in [0, 1), not %r' % (s['drop_rate'],))
    if s['drop_rate'] and not takes_drop_rate(spec):
        raise SettingsError('--drop-rate applies to a backbone\'s dropout (WRN, All-CNN); %s '
                            'has none' % s['model'])


def _within(s, key, flag, low, high, closed=(True, False)):
    """``s[key]`` a finite number in the interval from ``low`` to ``high`` (``closed``: whether
    each end belongs to it), else one line."""
    value = s.get(key)
    if value is None:
        return
    ok = math.isfinite(value) and (low <= value if closed[0] else low < value) and \
        (value <= high if closed[1] else value < high)
    if not ok:
        raise SettingsError('%s must be in %s%g, %g%s, not %r' % (
            flag, '[' if closed[0] else '(', low, high, ']' if closed[1] else ')', value))


def _check_recipe_options(s):
    """Today's recipe options: label smoothing, CutMix, random erasing, RandAugment, the
    weights' moving average, and the optimizer the parameter servers can run."""
    _within(s, 'label_smoothing', '--label-smoothing', 0, 1)
    _within(s, 'random_erasing', '--random-erasing', 0, 1, (True, True))
    _within(s, 'ema', '--ema', 0, 1, (False, False))
    if not (math.isfinite(s['cutmix']) and s['cutmix'] >= 0):
        raise SettingsError('--cutmix must be a finite number >= 0 (0: off), not %r'
                            % (s['cutmix'],))
    if s.get('rand_augment') is not None:
        s['rand_augment'] = _rand_augment(s['rand_augment'])
    if s['optimizer'] == 'adamw' and s['kvstore'] == 'dist_async':
        # the servers of dist_async unpickle the optimizer while MXNet imports: only MXNet's own
        raise SettingsError('--optimizer adamw is the project\'s, which the servers of '
                            '--kvstore dist_async cannot run: give nag or sgd, or dist_sync')


def _rand_augment(value):
    """``(N, M)`` of ``--rand-augment "N,M"`` (or of a list of two integers, as a settings
    file holds it)."""
    try:
        parts = value.split(',') if isinstance(value, str) else list(value)
        n, m = (int(p) for p in parts)
        if isinstance(value, str) or all(isinstance(p, int) and not isinstance(p, bool)
                                         for p in parts):
            if 1 <= n <= 14 and 0 <= m <= 10:
                return (n, m)
    except (TypeError, ValueError):
        pass
    raise SettingsError('--rand-augment must be "N,M": N operations per image (1 to 14) of '
                        'magnitude M (0 to 10), e.g. "2,9", not %r' % (value,))


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


def _check_paths(s, decls):
    """Paths MXNet reads or writes are UTF-8: its C library takes no other bytes, and would fail
    on them at the first checkpoint with a message naming no file."""
    for key, d in decls.items():
        value = s.get(key)
        if not d.flags or not isinstance(value, str):
            continue
        try:
            value.encode('utf-8')
        except UnicodeEncodeError:
            raise SettingsError('%s %s is not UTF-8 text: MXNet reads and writes only paths of '
                                'UTF-8 names; give another' % (d.flags[0], ascii(value)[1:-1]))


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


def _twin_warnings(model, spec):
    """A line where a network built for 224 x 224 inputs is trained on 32 x 32 images, naming
    its registered 32 x 32 twin where it has one (``mobilenet1_0_g2`` ->
    ``cifar_mobilenet1_0_g2``)."""
    if spec.entry.input_shape[-1] <= 32:
        return []
    backbone = model_name(spec._replace(attn=None))
    twin = spec.name.replace(backbone, 'cifar_' + backbone, 1)
    try:
        has_twin = resolve_model_name(twin).entry.input_shape[-1] <= 32
    except ValueError:
        has_twin = False
    built = '%s is built for 224x224 inputs (its last maps would be 1x1 here)' % model
    if has_twin:
        return ['%s: %s is the same network with the 32x32 strides' % (built, twin)]
    return ['%s and has no 32x32 twin: trained as given' % built]
