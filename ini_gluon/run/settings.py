"""A run's settings, declared once.

Every setting of ``train_cifar.py`` and ``train_imagenet.py`` is one field of :class:`Settings`,
declared with :func:`setting`:

* its **role**: :data:`IDENTITY`, what makes a checkpoint another run's (the model, the data set,
  the class count); :data:`TRAINING`, what a resume may not change, since the optimizer state it
  restores would keep the old value (the schedule, the batch, the seed, ...); :data:`COSMETIC`,
  what leaves the trained result as it is, which a resume may change (paths, logging, workers);
* its command-line **flags** and help (GluonCV's names), where a script has them;
* its **default**, and whether a paper's recipe fills it where the user gives none (``preset``;
  then ``fallback`` is its value under ``--preset none``, GluonCV's script defaults);
* ``owner``: why ``python -m ini_gluon.seeds launch`` sets it itself;
* ``imagenet``: what differs for ``train_imagenet.py`` (``None``: the script has no such setting).

Everything else is derived from these declarations: the two parsers
(:func:`ini_gluon.training.settings.build_parser`), the run identity and the resume checks
(:func:`differences`), the dry run's JSON and the log's setting lines (:func:`describe`),
``settings.json`` and a checkpoint's settings (:func:`to_json`, :func:`from_json`), and the
launcher's own options (:func:`owned`).

The model travels as its :class:`~ini_gluon.models.ModelSpec` (``settings.model``, written as
its canonical name); ``model_name`` is the name as given, which names the run's files.
"""
import dataclasses
import json
import math
from dataclasses import dataclass, field

from ..models import ModelSpec, resolve_model_name

__all__ = ['IDENTITY', 'TRAINING', 'COSMETIC', 'CIFAR', 'IMAGENET', 'SCRIPTS', 'Declaration',
           'LIMITS', 'Settings', 'setting', 'declarations', 'role_names', 'describe', 'differences',
           'owned', 'to_json', 'from_json', 'dumps', 'script_of', 'checked_value', 'AUTO',
           'interval']

IDENTITY, TRAINING, COSMETIC = 'identity', 'training', 'cosmetic'

# The largest value of each count a run (and a command: evaluate, compare, memory) takes:
# beyond any run of these networks, so a larger one is a mistake, refused in one line before
# anything is allocated (a run of 10**9 epochs would list its decay epochs until the machine
# kills it).  Epochs: the papers train 300 at most; a batch: per device; input size: the side
# of the square input; classes: ImageNet-21k has 21,841; workers: data threads / processes.
LIMITS = {'num_epochs': 100000, 'batch_size': 4096, 'test_batch_size': 4096,
          'input_size': 2048, 'classes': 100000, 'num_workers': 256, 'num_gpus': 1024,
          'save_period': 100000, 'keep_checkpoints': 100000, 'warmup_epochs': 100000,
          'mixup_off_epoch': 100000, 'log_interval': 10 ** 9, 'seed': 2 ** 32 - 1}
CIFAR, IMAGENET = 'cifar', 'imagenet'
SCRIPTS = (CIFAR, IMAGENET)
AUTO = 'auto'           # --log-interval auto: an interval that fits the epoch's length


def interval(text):
    """``--log-interval``: a number of batches (0: no lines) or ``'auto'``."""
    return AUTO if text == AUTO else int(text)


@dataclass(frozen=True)
class Declaration:
    """One setting as a script has it (see the module's description).  ``parse``: the rest of
    the ``argparse`` keywords (``type``, ``choices``, ``action``, ``metavar``); ``shown``: in
    the dry run's JSON and the log (not the values the data fills in, nor the name as given)."""
    name: str
    role: str
    flags: tuple
    help: str
    default: object
    preset: bool = False
    fallback: object = None
    owner: str = None
    shown: bool = True
    parse: dict = field(default_factory=dict)


def setting(role, *flags, default=None, help='', preset=False, fallback=None, owner=None,
            shown=True, only=None, imagenet=(), **parse):
    """A field of :class:`Settings` declaring one setting (see the module's description);
    ``only``: the one script that has it (``None``: both); ``imagenet``: ``{key: value}`` of
    what differs for ``train_imagenet.py``."""
    own = dict(role=role, flags=tuple(flags), help=help, default=default, preset=preset,
               fallback=fallback, owner=owner, shown=shown, parse=parse)
    scripts = {CIFAR: own, IMAGENET: dict(own, **dict(imagenet))}
    return field(default=default, metadata={k: v if only in (None, k) else None
                                            for k, v in scripts.items()})


_DROP_HELP = ('dropout rate: between the convolutions of WRN blocks (default 0), after the '
              'stride-2 convolutions of All-CNN (default 0.5)')
_PRESET_HELP = ('whose epochs, batch size, schedule and weight decay fill the flags not given: '
                'paper (default: the paper a backbone registers -- sinet for SINet and its '
                'ablation networks --, else the CMPE-SE paper\'s for cmpe_se_* models, the InI '
                'paper\'s for the others), ini, cmpe-se, sinet, or none (GluonCV\'s defaults)')
_LR_MODE_HELP = ('learning-rate schedule: step (multiplied by --lr-decay at each '
                 '--lr-decay-epoch), cosine or poly (GluonCV\'s, from --lr down to 0 over the '
                 'epochs after the warm-up), exponential (--lr times --lr-decay^e in epoch e, as '
                 'MobileNet\'s per-epoch decay; --lr-decay-epoch is not read) (default: the '
                 'preset\'s -- exponential for the SINet paper\'s ImageNet recipe -- else step)')
PRESETS = ('paper', 'ini', 'cmpe-se', 'sinet', 'none')
LR_MODES = ('step', 'cosine', 'poly', 'exponential')
OPTIMIZERS = ('nag', 'sgd', 'adamw')
KVSTORES = ('local', 'device', 'nccl', 'dist_sync', 'dist_device_sync', 'dist_async')


@dataclass(frozen=True)
class Settings:
    """The resolved settings of a run (:func:`ini_gluon.training.settings.resolve`), immutable.

    ``sources``, ``notes`` and ``warnings`` say where each setting came from (``user``,
    ``default``, ``preset:<paper>``), what the project chose, and what the run must say at its
    start; ``recorded``, of settings read from a file, the settings the file holds (the others
    have their defaults; ``None``: all).  None of them is a setting.
    ``Settings(model='resnet8', dataset='digits')`` gives every other setting its default (the
    model's name is parsed once, here).
    """
    # -- what the run is
    model: ModelSpec = setting(
        IDENTITY, '--model', default='ini_wrn28_10_mix5d', type=str,
        owner='give --models', help='model name, e.g. ini_wrn28_10_mix5d, se_resnet164 '
        '(default: %(default)s)', imagenet={'default': 'ini_resnet50_v2_mix5d', 'help': ''})
    model_name: str = setting(COSMETIC, default=None, shown=False)
    dataset: str = setting(IDENTITY, '--dataset', default='cifar10', type=str,
                           help='cifar10, cifar100, svhn or digits',
                           imagenet={'flags': (), 'default': 'imagenet'})
    num_classes: int = setting(IDENTITY, default=None, shown=False)
    data_dir: str = setting(
        COSMETIC, '--data-dir', type=str,
        help='folder with the official dataset files (not needed for digits)',
        imagenet={'default': '~/.mxnet/datasets/imagenet',
                  'help': 'ImageFolder root with train/ and val/ (without --use-rec)'})
    rec_train: str = setting(COSMETIC, '--rec-train', only=IMAGENET, type=str,
                             help='training RecordIO file')
    rec_train_idx: str = setting(COSMETIC, '--rec-train-idx', only=IMAGENET, type=str,
                                 help='its index file')
    rec_val: str = setting(COSMETIC, '--rec-val', only=IMAGENET, type=str,
                           help='validation RecordIO file')
    rec_val_idx: str = setting(COSMETIC, '--rec-val-idx', only=IMAGENET, type=str,
                               help='its index file')
    use_rec: bool = setting(COSMETIC, '--use-rec', only=IMAGENET, default=False,
                            action='store_true', help='read RecordIO files (packed with im2rec)')
    preset: str = setting(COSMETIC, '--preset', default='paper', choices=PRESETS,
                          help=_PRESET_HELP)
    # -- the recipe
    batch_size: int = setting(TRAINING, '--batch-size', preset=True, fallback=128, type=int,
                              help='training batch size per device',
                              imagenet={'fallback': 32, 'help': 'batch size per device'})
    num_gpus: int = setting(COSMETIC, '--num-gpus', default=0, type=int,
                            help='number of GPUs to use; 0 trains on the CPU')
    num_workers: int = setting(COSMETIC, '-j', '--num-data-workers', default=2, type=int,
                               help='threads preparing batches (0: in the training thread)',
                               imagenet={'default': 4})
    num_epochs: int = setting(TRAINING, '--num-epochs', preset=True, fallback=200, type=int,
                              help='number of training epochs', imagenet={'fallback': 120})
    lr: float = setting(TRAINING, '--lr', preset=True, fallback=0.1, type=float,
                        help='learning rate')
    optimizer: str = setting(TRAINING, '--optimizer', default='nag', choices=OPTIMIZERS,
                             help='nag (the papers\': SGD with Nesterov momentum, default), sgd '
                                  '(heavy-ball momentum), adamw (Adam with decoupled weight '
                                  'decay, Loshchilov and Hutter 2019: betas 0.9, 0.999)')
    momentum: float = setting(TRAINING, '--momentum', default=0.9, type=float,
                              help='momentum of nag and sgd')
    wd: float = setting(TRAINING, '--wd', preset=True, fallback=1e-4, type=float,
                        help='weight decay')
    no_wd_bn_bias: bool = setting(TRAINING, '--no-wd-bn-bias', '--no-wd', default=False,
                                  action='store_true',
                                  help='no weight decay on the BatchNorm scales and shifts and '
                                       'on the biases (GluonCV\'s --no-wd)')
    lr_decay: float = setting(TRAINING, '--lr-decay', preset=True, fallback=0.1, type=float,
                              help='factor at each decay epoch (--lr-mode exponential: after '
                                   'every epoch)')
    lr_decay_epoch: tuple = setting(TRAINING, '--lr-decay-epoch', preset=True,
                                    fallback='100,150', type=str,
                                    help='epochs at which the lr decays, "60,120" (--lr-mode '
                                         'step only)', imagenet={'fallback': '40,60'})
    lr_mode: str = setting(TRAINING, '--lr-mode', preset=True, fallback='step', choices=LR_MODES,
                           help=_LR_MODE_HELP)
    warmup_epochs: int = setting(TRAINING, '--warmup-epochs', default=0, type=int, metavar='N',
                                 help='raise the learning rate linearly from 0 to --lr over the '
                                      'first N epochs (default: %(default)s)')
    dtype: str = setting(TRAINING, '--dtype', default='float32', choices=('float32', 'float16'),
                         help='float32 (default) or float16: GPUs only (--num-gpus), with '
                              'float32 master weights')
    log_interval: int = setting(COSMETIC, '--log-interval', default=AUTO, type=interval,
                                metavar='N|auto',
                                help='every N batches log one line: epoch, batch, speed (img/s) '
                                     'and the training error and loss of the epoch so far; 0: '
                                     'none; auto (default): every 50 batches, as GluonCV\'s '
                                     'train_imagenet.py, or 4 times an epoch of fewer than 200 '
                                     'batches')
    drop_rate: float = setting(TRAINING, '--drop-rate', type=float, help=_DROP_HELP,
                               imagenet={'flags': (), 'default': 0.0})
    augment: str = setting(TRAINING, '--augment', preset=True, fallback='crop-flip',
                           choices=('crop-flip', 'crop', 'none'),
                           help='translation (pad 4, random 32x32 crop) and mirroring',
                           only=CIFAR)
    input_size: int = setting(TRAINING, '--input-size', only=IMAGENET, default=224, type=int)
    crop_ratio: float = setting(TRAINING, '--crop-ratio', only=IMAGENET, default=0.875,
                                type=float, help='validation crop / resize')
    classes: int = setting(COSMETIC, '--classes', only=IMAGENET, default=1000, type=int)
    mixup: bool = setting(TRAINING, '--mixup', default=False, action='store_true',
                          help='train with mixup (CMPE-SE paper)', imagenet={'help': ''})
    mixup_alpha: float = setting(TRAINING, '--mixup-alpha', default=1.0, type=float,
                                 help='Beta(alpha, alpha) of mixup',
                                 imagenet={'default': 0.2, 'help': ''})
    mixup_off_epoch: int = setting(TRAINING, '--mixup-off-epoch', default=20, type=int,
                                   help='how many last epochs train without mixup (default: '
                                        '%(default)s)', imagenet={'default': 0, 'help': ''})
    cutmix: float = setting(TRAINING, '--cutmix', default=0.0, type=float, metavar='ALPHA',
                            help='train with CutMix (Yun et al. 2019): a box of the batch\'s '
                                 'reverse pasted in, its area from Beta(ALPHA, ALPHA); beside '
                                 '--mixup, each batch takes one of the two; off in the last '
                                 '--mixup-off-epoch epochs (default: 0, off)')
    label_smoothing: float = setting(
        TRAINING, '--label-smoothing', default=0.0, type=float, metavar='EPS',
        help='smoothed targets: 1 - EPS + EPS/K for the class, EPS/K for the others of K '
             '(GluonCV\'s, whose flag sets EPS 0.1) (default: 0, off)')
    random_erasing: float = setting(
        TRAINING, '--random-erasing', default=0.0, type=float, metavar='P',
        help='erase a random box of each training image with probability P (Zhong et al. '
             '2017, GluonCV\'s RandomErasing parameters: 2-40 %% of the image, aspect 0.3-3.3, '
             'filled with the data set\'s mean) (default: 0, off)')
    rand_augment: tuple = setting(
        TRAINING, '--rand-augment', type=str, metavar='N,M', only=CIFAR,
        help='RandAugment (Cubuk et al. 2020): N operations per training image, of magnitude M '
             '(0-10), after the translation and mirroring, e.g. "2,9" (default: off)')
    ema: float = setting(TRAINING, '--ema', type=float, metavar='DECAY',
                         help='keep an exponential moving average of the weights (DECAY, e.g. '
                              '0.999; TensorFlow\'s warm-up: min(DECAY, (1 + n) / (10 + n)) at '
                              'update n), evaluated every epoch and exported as its own best '
                              'and final weights (default: off)')
    mode: str = setting(COSMETIC, '--mode', default='hybrid', choices=('hybrid', 'imperative'),
                        help='hybrid (default) or imperative')
    tensorboard: bool = setting(COSMETIC, '--tensorboard', default=False, action='store_true',
                                help='write TensorBoard event files (tensorboardX) into '
                                     '<save-dir>/tensorboard/: losses, errors, lr and img/s '
                                     'per epoch')
    # -- the run folder
    save_period: int = setting(COSMETIC, '--save-period', default=10, type=int,
                               help='checkpoint every N epochs',
                               imagenet={'flags': ('--save-period', '--save-frequency')})
    keep_checkpoints: int = setting(COSMETIC, '--keep-checkpoints', type=int, metavar='N',
                                    help='keep the N newest checkpoints (and the best epoch\'s); '
                                         'default: all')
    overwrite: bool = setting(COSMETIC, '--overwrite', default=False, action='store_true',
                              owner='the launcher skips or resumes the runs in its folders; '
                                    'remove a run\'s folder to train it again',
                              help='start a new run in a --save-dir that holds another run\'s '
                                   'checkpoints, removing them (without it such a folder is '
                                   'refused)')
    initial_checkpoint: str = setting(
        COSMETIC, '--initial-checkpoint', type=str, metavar='FILE',
        help='start from these weights (weights only: a parameter file such as '
             '<model>-best.params or an export\'s -0000.params, or a checkpoint folder); unlike '
             '--resume, the optimizer, the epoch and the schedule start afresh')
    save_dir: str = setting(COSMETIC, '--save-dir', '--run', default='params', type=str,
                            owner='each run\'s folder is <--out>/<model>/seed-<seed>',
                            help='the run\'s folder, of all its outputs (--run RUN, as every '
                                 'command that reads runs names it)')
    resume_from: str = setting(
        COSMETIC, '--resume-from', '--resume', type=str,
        owner='the launcher resumes an interrupted run by itself',
        help='checkpoint folder to resume from, or "auto": the latest complete one in '
             '--save-dir', imagenet={'flags': ('--resume-from', '--resume-params'),
                                     'help': 'checkpoint folder, or "auto"'})
    logging_file: str = setting(COSMETIC, '--logging-file', type=str,
                                help='log file (default: <save-dir>/train.log)')
    kvstore: str = setting(COSMETIC, '--kvstore', default='device', type=str,
                           help='local, device, nccl, dist_sync, dist_device_sync or dist_async')
    seed: int = setting(TRAINING, '--seed', default=1, type=int, owner='give --seeds',
                        help='random seed (initialisation, data order, mixup)')
    test_batch_size: int = setting(COSMETIC, '--test-batch-size', default=256, type=int,
                                   help='batch size of the evaluation', imagenet={
                                       'default': None, 'help': ''})
    # -- what the data fills in when it is read
    mean: tuple = setting(COSMETIC, shown=False)
    std: tuple = setting(COSMETIC, shown=False)
    class_names: tuple = setting(COSMETIC, shown=False)
    # -- where each came from; not settings
    sources: dict = field(default_factory=dict, compare=False)
    notes: dict = field(default_factory=dict, compare=False)
    warnings: tuple = field(default=(), compare=False)
    recorded: frozenset = field(default=None, compare=False)   # from_json: the keys it read

    def __post_init__(self):
        if not isinstance(self.model, ModelSpec):       # a name: parsed once, here
            given = self.model
            object.__setattr__(self, 'model', resolve_model_name(given))
            object.__setattr__(self, 'model_name', self.model_name or given)
        if not self.model_name:
            object.__setattr__(self, 'model_name', self.model.name)
        for key in _TUPLES:
            value = getattr(self, key)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, key, tuple(value))

    @property
    def script(self):
        """``'imagenet'`` for a ``train_imagenet.py`` run, else ``'cifar'``."""
        return script_of(self.dataset)

    def replace(self, **changes):
        """A copy with ``changes`` (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


_TUPLES = ('lr_decay_epoch', 'rand_augment', 'mean', 'std', 'class_names')


def script_of(dataset):
    return IMAGENET if dataset == IMAGENET else CIFAR


def declarations(script=CIFAR):
    """``{name: Declaration}`` of every setting ``script`` has, in declaration order."""
    out = {}
    for f in dataclasses.fields(Settings):
        own = f.metadata.get(script)
        if own is not None:
            out[f.name] = Declaration(f.name, **own)
    return out


def role_names(*roles, script=None):
    """The names of the settings of ``roles`` (of either script where ``script`` is ``None``)."""
    names = {}
    for s in (script,) if script else SCRIPTS:
        names.update((n, d) for n, d in declarations(s).items() if d.role in roles)
    return tuple(f.name for f in dataclasses.fields(Settings) if f.name in names)


def json_value(value):
    """A setting's value as ``settings.json`` holds it: a model as its canonical name, tuples
    as lists."""
    if isinstance(value, ModelSpec):
        return value.name
    if isinstance(value, tuple):
        return list(value)
    return value


def describe(s):
    """``{setting: {'value', 'source'[, 'note']}}``: the dry run's JSON, the settings a run
    logs at its start (those of its script, as :class:`Declaration` ``shown`` says)."""
    out = {}
    for name in sorted(n for n, d in declarations(s.script).items() if d.shown):
        entry = {'value': json_value(getattr(s, name)), 'source': s.sources.get(name, 'default')}
        if name in s.notes:
            entry['note'] = s.notes[name]
        out[name] = entry
    return out


def dumps(s):
    """The dry run's JSON (strict: no NaN or infinity)."""
    return json.dumps(describe(s), indent=1, sort_keys=True, allow_nan=False)


def to_json(s):
    """The dict of ``settings.json`` (and of a checkpoint's ``meta.json``): every setting, then
    ``sources``, ``notes`` and ``warnings``."""
    out = {f.name: json_value(getattr(s, f.name)) for f in dataclasses.fields(Settings)
           if f.metadata}
    return dict(out, sources=dict(s.sources), notes=dict(s.notes), warnings=list(s.warnings))


_AUTOMATIC = ('log_interval',)     # the settings that may be 'auto'


def checked_value(name, value, kind):
    """``value`` of ``settings.json`` as the setting ``name`` of type ``kind`` holds it."""
    if value is None or kind is ModelSpec or (name in _AUTOMATIC and value == AUTO):
        return value
    if kind is tuple:
        ok = isinstance(value, list)
        value = tuple(value) if ok else value
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
            math.isfinite(value)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ValueError('setting %s is %s, expected a %s' % (name, json.dumps(value)[:40],
                                                              kind.__name__))
    return value


def from_json(d):
    """The :class:`Settings` of a ``settings.json`` dict: the model's name parsed once, each
    value checked against its declared type (``ValueError`` naming the first that is not);
    keys it does not know are left out, settings it does not hold take their defaults."""
    if not isinstance(d, dict):
        raise ValueError('expected a JSON object of settings, not %s' % type(d).__name__)
    kinds = {f.name: f.type for f in dataclasses.fields(Settings)}
    values = {k: checked_value(k, v, kinds[k]) for k, v in d.items()
              if k in kinds and k not in ('sources', 'notes', 'warnings')}
    extra = {k: d[k] for k in ('sources', 'notes') if isinstance(d.get(k), dict)}
    extra['recorded'] = frozenset(values)
    if isinstance(d.get('warnings'), list):
        extra['warnings'] = tuple(d['warnings'])
    s = Settings(**values, **extra)
    _check_name(s)
    return s


def _check_name(s):
    """The name a run's files carry is a spelling of its model (it names files: a crafted one
    could lead out of the run folder)."""
    try:
        named = resolve_model_name(s.model_name)
    except ValueError:
        raise ValueError('setting model_name %s is not a model name'
                         % json.dumps(s.model_name)[:60])
    if named != s.model:
        raise ValueError('setting model_name %s is another network than model %s'
                         % (s.model_name, s.model.name))


def differences(theirs, ours, roles):
    """``[(name, ours, theirs)]`` of the settings of ``roles`` in which two runs' settings
    differ, as ``settings.json`` writes them (the model by its canonical name: another spelling
    of the same network is the same); a value not known yet (``None``: the class count before
    the data is read), or not in the file the settings were read from, is not compared."""
    out = []
    for name in role_names(*roles):
        if not (_holds(ours, name) and _holds(theirs, name)):
            continue
        a, b = json_value(getattr(ours, name)), json_value(getattr(theirs, name))
        if a is not None and b is not None and a != b:
            out.append((name, a, b))
    return out


def _holds(s, name):
    return s.recorded is None or name in s.recorded


def owned(script=CIFAR):
    """``{name: (flags, why)}`` of the options the seeds launcher sets itself."""
    return {n: (' / '.join(sorted(d.flags, key=len)), d.owner)
            for n, d in declarations(script).items() if d.owner}
