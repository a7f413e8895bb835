"""The papers' training recipes, each named by the paper it reproduces.

* ``ini`` -- InI paper, Section V-B: SGD with 0.9 Nesterov momentum; CIFAR batch 64, pre-act
  ResNet 300 epochs and the other backbones 200; lr 0.1, divided by 10 at 50 % and 75 % of the
  epochs (ResNet, All-CNN) or by 5 at epochs 60, 120 and 160 (WRN); SVHN 80 epochs; ImageNet
  100 epochs, batch 256, lr 0.1 divided by 10 every 30 epochs.
* ``cmpe-se`` -- CMPE-SE paper, Section 4.1: CIFAR batch 128 for 200 epochs, lr 0.1 divided by
  10 at epochs 100 and 150 (pre-act ResNet) or by 5 at 60, 120 and 160 (WRN); mixup followed by
  20 epochs without it; SVHN 160 epochs, lr 0.01 divided by 10 at epochs 80 and 120; ImageNet
  100 epochs, batch 64, lr 0.1 divided by 10 at epochs 30, 60 and 90.
* ``sinet`` -- SINet paper, Sections 4.1 and 4.2: SGD with momentum 0.9; ImageNet batch 256,
  lr 0.045 multiplied by 0.98 after every epoch (the MobileNets' schedule: ``--lr-mode
  exponential``); the CIFAR-100 ablations batch 128, 150 epochs, lr 0.01 divided by 10 every 80
  epochs (once, at 80).  ``--preset paper`` picks it for the backbones registered with
  ``paper='sinet'`` (SINet and its ablation networks).
* ``demo`` -- scikit-learn's digits, the offline demo (in no paper): 10 epochs, batch 64,
  lr 0.1 divided by 10 at 50 % and 75 %, translation only (mirroring would change the digits).

What the papers leave out is filled in and said so in each setting's note: the weight decay
(each backbone's own paper: 5e-4 for WRN, 1e-4 for ResNet and PyramidNet, 1e-3 for All-CNN);
the InI paper's PyramidNet decay (PyramidNet's own: divided by 10 at 50 % and 75 % of the
epochs, its epochs 150 and 225 of 300); the InI paper's SVHN learning rate and its decay (the
CMPE-SE paper's, lr 0.01 divided by 10 at 50 % and 75 %, scaled to 80 epochs); the CMPE-SE
paper's SVHN batch (its CIFAR batch, 128); the CMPE-SE paper's All-CNN and PyramidNet recipe,
which it does not train (its pre-act ResNet recipe: 200 epochs, divided by 10 at 100 and 150);
the SINet paper's ImageNet epochs (150: the lr ends at 0.045 * 0.98^150 = 0.0022, 4.8 % of the
start), its weight decay (the MobileNet papers' 4e-5 for SINet and the MobileNets, the ResNet
papers' 1e-4 for its ResNets), its CIFAR augmentation (the project's: translation and
mirroring), and whether its momentum is Nesterov's (the project's Nesterov SGD).

A paper's batch is the batch of one update; the preset divides it over the devices of the
machine (``--batch-size`` is per device, as in GluonCV's scripts).
"""
import math
from collections import namedtuple

__all__ = ['PAPERS', 'Recipe', 'recipe', 'decay_epochs', 'weight_decay']

PAPERS = {'ini': 'InI paper, Section V-B', 'cmpe-se': 'CMPE-SE paper, Section 4.1',
          'sinet': 'SINet paper, Sections 4.1-4.2', 'demo': 'the digits demo, in no paper'}

Recipe = namedtuple('Recipe', ['paper', 'num_epochs', 'batch_size', 'lr', 'lr_decay', 'decay',
                               'points', 'augment', 'notes'])
Recipe.__doc__ = """One paper's settings for a backbone family and a data set.  ``decay`` says
what ``points`` are: ``'fractions'`` of the epochs (they move with ``--num-epochs``), ``'epochs'``
(fixed), ``'every'`` (one period, repeated through the run) or ``'exponential'`` (no points:
the lr is multiplied by ``lr_decay`` after every epoch, ``--lr-mode exponential``).  ``notes``
maps a setting to what the paper does not give and the project chose."""

_CROP_FLIP = 'crop-flip'         # both papers: translation and mirroring on CIFAR
_SVHN_LR = ('the InI paper gives SVHN 80 epochs only: lr 0.01 divided by 10 at 50 % and 75 % '
            'is the CMPE-SE paper\'s SVHN schedule (80 and 120 of 160 epochs) scaled to 80')

_PYRAMID_DECAY = ('the InI paper gives PyramidNet 200 epochs only: divided by 10 at 50 % and 75 % '
                  'of the epochs is the PyramidNet paper\'s schedule (epochs 150 and 225 of 300)')
_PYRAMID_LR = ('the InI paper gives no PyramidNet learning rate: its 0.1 of every other backbone '
               '(the PyramidNet paper started CIFAR-100 at 0.5: --lr 0.5)')
_CMPE_OTHER = ('the CMPE-SE paper trains no All-CNN, PyramidNet, SINet or MobileNet: its pre-act '
               'ResNet recipe, 200 epochs, lr divided by 10 at epochs 100 and 150')

_INI_BATCH = ('the InI paper\'s only batch, 64, ends the sentence of its SVHN schedule ("80 epochs '
              'on SVHN, where the batch-size is 64", Section V-B): it may be SVHN\'s alone; '
              'taken for CIFAR too, as the paper gives no other (the CMPE-SE paper\'s is 128)')
_INI_OTHER = ('the InI paper trains no SINet or MobileNet: its pre-act ResNet recipe, 300 '
              'epochs, lr divided by 10 at 50 % and 75 % of them')
_SINET_MOMENTUM = ('the SINet paper says SGD with momentum 0.9, not whether Nesterov\'s: the '
                   'project\'s Nesterov SGD, momentum 0.9')
_SINET_EPOCHS = ('the SINet paper gives no ImageNet epoch count: 150, after which the lr has '
                 'decayed to 0.045 * 0.98^150 = 0.0022, 4.8 % of the start')
_SINET_AUGMENT = ('the SINet paper names no CIFAR augmentation: the project\'s CIFAR standard, '
                  'translation and mirroring')

_RECIPES = {
    ('ini', 'cifar', 'resnet'): Recipe('ini', 300, 64, 0.1, 0.1, 'fractions', (0.5, 0.75),
                                       _CROP_FLIP, {'batch_size': _INI_BATCH}),
    ('ini', 'cifar', 'wrn'): Recipe('ini', 200, 64, 0.1, 0.2, 'epochs', (60, 120, 160),
                                    _CROP_FLIP, {'batch_size': _INI_BATCH}),
    ('ini', 'cifar', 'allcnn'): Recipe('ini', 200, 64, 0.1, 0.1, 'fractions', (0.5, 0.75),
                                       _CROP_FLIP, {'batch_size': _INI_BATCH}),
    ('ini', 'cifar', 'pyramidnet'): Recipe('ini', 200, 64, 0.1, 0.1, 'fractions', (0.5, 0.75),
                                           _CROP_FLIP, {'lr': _PYRAMID_LR, 'batch_size': _INI_BATCH,
                                                        'lr_decay': _PYRAMID_DECAY,
                                                        'lr_decay_epoch': _PYRAMID_DECAY}),
    ('ini', 'cifar', None): Recipe('ini', 300, 64, 0.1, 0.1, 'fractions', (0.5, 0.75),
                                   _CROP_FLIP, {'preset': _INI_OTHER, 'batch_size': _INI_BATCH}),
    ('ini', 'svhn', None): Recipe('ini', 80, 64, 0.01, 0.1, 'fractions', (0.5, 0.75), 'none',
                                  {'lr': _SVHN_LR, 'lr_decay': _SVHN_LR,
                                   'lr_decay_epoch': _SVHN_LR}),
    ('ini', 'imagenet', None): Recipe('ini', 100, 256, 0.1, 0.1, 'every', (30,), None, {}),
    ('cmpe-se', 'cifar', 'resnet'): Recipe('cmpe-se', 200, 128, 0.1, 0.1, 'epochs', (100, 150),
                                           _CROP_FLIP, {}),
    ('cmpe-se', 'cifar', 'wrn'): Recipe('cmpe-se', 200, 128, 0.1, 0.2, 'epochs', (60, 120, 160),
                                        _CROP_FLIP, {}),
    ('cmpe-se', 'cifar', 'allcnn'): Recipe('cmpe-se', 200, 128, 0.1, 0.1, 'epochs', (100, 150),
                                           _CROP_FLIP, {'preset': _CMPE_OTHER}),
    ('cmpe-se', 'cifar', 'pyramidnet'): Recipe('cmpe-se', 200, 128, 0.1, 0.1, 'epochs',
                                               (100, 150), _CROP_FLIP, {'preset': _CMPE_OTHER}),
    ('cmpe-se', 'cifar', None): Recipe('cmpe-se', 200, 128, 0.1, 0.1, 'epochs', (100, 150),
                                       _CROP_FLIP, {'preset': _CMPE_OTHER}),
    ('cmpe-se', 'svhn', None): Recipe('cmpe-se', 160, 128, 0.01, 0.1, 'epochs', (80, 120),
                                      'none', {'batch_size': 'the CMPE-SE paper gives no SVHN '
                                                             'batch: its CIFAR batch, 128'}),
    ('cmpe-se', 'imagenet', None): Recipe('cmpe-se', 100, 64, 0.1, 0.1, 'epochs', (30, 60, 90),
                                          None, {}),
    ('sinet', 'imagenet', None): Recipe('sinet', 150, 256, 0.045, 0.98, 'exponential', (), None,
                                        {'num_epochs': _SINET_EPOCHS,
                                         'preset': _SINET_MOMENTUM}),
    ('sinet', 'cifar', None): Recipe('sinet', 150, 128, 0.01, 0.1, 'every', (80,), _CROP_FLIP,
                                     {'augment': _SINET_AUGMENT,
                                      'preset': _SINET_MOMENTUM + '; the recipe of its CIFAR-100 '
                                      'ablations, on CIFAR-10 too'}),
    ('demo', 'digits', None): Recipe('demo', 10, 64, 0.1, 0.1, 'fractions', (0.5, 0.75), 'crop',
                                     {}),
}

_DATASETS = {'cifar10': 'cifar', 'cifar100': 'cifar', 'svhn': 'svhn', 'imagenet': 'imagenet',
             'digits': 'digits'}


def recipe(paper, dataset, family):
    """The :class:`Recipe` of ``paper`` (``'ini'``, ``'cmpe-se'``, ``'sinet'``) for ``dataset``
    and a backbone ``family`` (``'resnet'``, ``'wrn'``); the digits demo has its own whatever
    the paper.

    Raises
    ------
    KeyError
        ``dataset`` is none of the known data sets.
    ValueError
        The paper has no recipe for the data set, or none for the family on it.
    """
    group = _DATASETS.get(dataset)
    if group is None:
        raise KeyError(dataset)
    if group == 'digits':
        paper = 'demo'
    if paper not in PAPERS:
        raise ValueError('unknown paper %r: expected one of %s'
                         % (paper, ', '.join(p for p in PAPERS if p != 'demo')))
    found = _RECIPES.get((paper, group, family)) or _RECIPES.get((paper, group, None))
    if found is None:
        trained = sorted(f for p, g, f in _RECIPES if p == paper and g == group and f)
        raise ValueError('the %s has no %s recipe%s' % (
            PAPERS[paper], dataset, ' for %s backbones (it trains %s)'
            % (family, ', '.join(trained)) if trained else ''))
    return found


def decay_epochs(r, num_epochs):
    """The epochs at which ``r``'s learning rate decays in a run of ``num_epochs`` (the epochs
    before any mixup-free tail), fractions rounded half up; points that round to the start or
    the end of the run, or onto another, are dropped (a run of 2 epochs decays once, at 1).
    ``'exponential'``: every epoch after the first (``--lr-mode step`` with these epochs is the
    same schedule as ``--lr-mode exponential``)."""
    if r.decay == 'fractions':
        points = {int(math.floor(num_epochs * f + 0.5)) for f in r.points}
        return sorted(points & set(range(1, num_epochs)))
    if r.decay == 'every':
        return list(range(r.points[0], num_epochs, r.points[0]))
    if r.decay == 'exponential':
        return list(range(1, num_epochs))
    return list(r.points)


_WEIGHT_DECAY = {'wrn': (5e-4, 'the WRN paper\'s 5e-4'),
                 'allcnn': (1e-3, 'the All-CNN paper\'s 1e-3'),
                 'pyramidnet': (1e-4, 'the PyramidNet paper\'s 1e-4'),
                 'resnet': (1e-4, 'the ResNet papers\' 1e-4'),
                 'sinet': (4e-5, 'the MobileNet papers\' 4e-5'),
                 'mobilenet': (4e-5, 'the MobileNet papers\' 4e-5')}


def weight_decay(family):
    """``(wd, note)``: the papers give none, so each backbone's own paper's."""
    wd, source = _WEIGHT_DECAY.get(family, _WEIGHT_DECAY['resnet'])
    return wd, 'the papers give no weight decay: ' + source
