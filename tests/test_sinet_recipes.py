"""The SINet paper's recipes (Sections 4.1 and 4.2) as presets, and ``--lr-mode exponential``:
the per-epoch schedule through MXNet's optimizer (its update count starts at 1), on one machine
and under ``dist_async``; ``--preset paper`` for backbones registered with ``paper='sinet'``
(toy ones registered here, gone after each test); the other models' settings as they were."""
import json

import mxnet as mx
import pytest
from mxnet.gluon import nn

from ini_gluon.models import BlockShape, families, register_backbone
from ini_gluon.training import build_parser, main, main_imagenet, resolve
from ini_gluon.training import imagenet
from ini_gluon.run.settings import Settings, to_json
from ini_gluon.training.schedule import make_schedule

LR, DECAY, ITERS = 0.045, 0.98, 5           # the SINet paper's ImageNet lr and decay


@pytest.fixture
def sinet_paper(monkeypatch):
    """Toy backbones of the SINet paper, registered for one test (test_extending's way): an
    ImageNet SINet (family sinet) and CIFAR ablation nets (families mobilenet and resnet)."""
    monkeypatch.setattr(families, '_BACKBONES', dict(families._BACKBONES))

    def blocks(width):
        return [BlockShape('stage1.0', width)]

    for key, family, shape in (('toysinet', 'sinet', (1, 3, 224, 224)),
                               ('toysimobile', 'mobilenet', (1, 3, 32, 32)),
                               ('toysiresnet', 'resnet', (1, 3, 32, 32))):
        register_backbone(key + '{width}', blocks=blocks, family=family, listed=[key + '16'],
                          input_shape=shape, paper='sinet')(_toy(key))


def _toy(key):
    """A constructor named ``key`` (the registry's key of the backbone)."""
    def constructor(width, attn=None, classes=10):
        net = nn.HybridSequential()
        net.add(nn.GlobalAvgPool2D(), nn.Dense(classes))
        return net
    constructor.__name__ = key
    return constructor


def cifar(*argv):
    """The resolved settings as ``settings.json`` holds them."""
    return to_json(resolve(build_parser().parse_args(list(argv))))


def imagenet_settings(*argv):
    return to_json(imagenet.resolve(imagenet.build_parser().parse_args(list(argv))))


# ---------------------------------------------------------------- the schedule
def _lrs(kvstore, warmup, epochs=12):
    """The learning rate of each update of a run, as MXNet's optimizer asks its scheduler
    (``num_update`` 1 for the first update): ``lrs[k]`` is that of the k-th update (from 0),
    which lies in epoch ``k // ITERS``."""
    s = Settings(lr=LR, lr_decay=DECAY, lr_decay_epoch=(), num_epochs=epochs, kvstore=kvstore,
                 warmup_epochs=warmup, lr_mode='exponential')
    optimizer = mx.optimizer.create('nag', learning_rate=LR,
                                    lr_scheduler=make_schedule(s, ITERS))
    lrs = []
    for _ in range(epochs * ITERS):
        optimizer._update_count(0)
        lrs.append(optimizer._get_lr(0))
    return lrs


@pytest.mark.parametrize('kvstore', ['device', 'dist_async'])
@pytest.mark.parametrize('warmup', [0, 2])
def test_exponential_lr_is_the_rate_times_the_decay_per_epoch(kvstore, warmup):
    lrs = _lrs(kvstore, warmup)
    by_hand = {0: 0.045, 1: 0.0441, 2: 0.043218, 10: 0.045 * 0.98 ** 10}    # 0.045 * 0.98^e
    for e, lr in by_hand.items():
        if e < warmup:
            continue
        first, last = e * ITERS, (e + 1) * ITERS - 1
        # the epoch's first, middle and last update; the next epoch's first is one decay less
        for k in (first, first + 2, last):
            assert lrs[k] == pytest.approx(lr, rel=1e-12), (e, k)
        assert lrs[last + 1] == pytest.approx(lr * 0.98, rel=1e-12), (e, last + 1)
    if warmup:
        ramp = lrs[:warmup * ITERS]                 # linear from 0, below the epochs after it
        steps = [b - a for a, b in zip(ramp, ramp[1:])]
        assert max(steps) == pytest.approx(min(steps), rel=1e-9) and steps[0] > 0
        assert ramp[0] < LR / 9 and ramp[-1] <= LR
        if kvstore == 'device':                     # GluonCV's linear mode: 0 to lr exactly
            assert (ramp[0], ramp[-1]) == (0, pytest.approx(LR))


@pytest.mark.parametrize('warmup', [0, 2])
def test_dist_async_gives_the_same_schedule(warmup):
    # MXNet's FactorScheduler on the servers; its warm-up is MXNet's (lr n / (W + 1))
    after = slice(warmup * ITERS, None)
    assert _lrs('dist_async', warmup)[after] == pytest.approx(_lrs('device', warmup)[after],
                                                              rel=1e-12)


# ---------------------------------------------------------------- the presets
def _sources(s, keys):
    return {key: s['sources'][key] for key in keys}


def test_paper_preset_of_a_sinet_backbone_on_imagenet(sinet_paper):
    # Section 4.1: SGD, momentum 0.9, batch 256, lr 0.045 x 0.98 per epoch; 150 epochs and
    # the MobileNet papers' weight decay 4e-5 where the paper is silent
    s = imagenet_settings('--model', 'toysinet16')
    assert (s['num_epochs'], s['batch_size'], s['lr'], s['lr_decay'], s['lr_mode'], s['wd'],
            s['momentum'], s['lr_decay_epoch']) == (150, 256, 0.045, 0.98, 'exponential', 4e-5,
                                                    0.9, [])
    keys = ('num_epochs', 'batch_size', 'lr', 'lr_decay', 'lr_mode', 'wd')
    assert set(_sources(s, keys).values()) == {'preset:sinet'}
    assert s['warnings'] == []
    assert '0.0022' in s['notes']['num_epochs'] and "MobileNet papers' 4e-5" in s['notes']['wd']
    assert s['notes']['preset'].startswith('SINet paper, Sections 4.1-4.2') and \
        'Nesterov' in s['notes']['preset']
    assert s['notes']['lr_decay_epoch'] == 'not read under --lr-mode exponential'
    # the batch of one update split over the devices; the user's mode wins
    assert imagenet_settings('--model', 'toysinet16', '--num-gpus', '2')['batch_size'] == 128
    step = imagenet_settings('--model', 'toysinet16', '--lr-mode', 'step', '--num-epochs', '4')
    assert (step['lr_mode'], step['sources']['lr_mode'], step['lr_decay_epoch']) == \
        ('step', 'user', [1, 2, 3])                 # the same schedule through step mode


def test_paper_preset_of_the_ablation_nets_on_cifar100(sinet_paper):
    # Section 4.2: momentum 0.9, batch 128, 150 epochs, lr 0.01 / 10 every 80 epochs
    for model, wd in (('toysimobile16', 4e-5), ('toysiresnet16', 1e-4)):
        s = cifar('--model', model, '--dataset', 'cifar100')
        assert (s['num_epochs'], s['batch_size'], s['lr'], s['lr_decay'], s['lr_decay_epoch'],
                s['augment'], s['wd'], s['momentum']) == (150, 128, 0.01, 0.1, [80],
                                                          'crop-flip', wd, 0.9)
        keys = ('num_epochs', 'batch_size', 'lr', 'lr_decay', 'lr_decay_epoch', 'augment', 'wd')
        assert set(_sources(s, keys).values()) == {'preset:sinet'}, model
        assert (s['lr_mode'], s['sources']['lr_mode'], s['warnings']) == ('step', 'default', [])
    # every 80 epochs: a longer run decays again
    assert cifar('--model', 'toysimobile16', '--num-epochs', '300')['lr_decay_epoch'] == \
        [80, 160, 240]


def test_preset_sinet_for_any_model():
    s = cifar('--model', 'resnet20', '--dataset', 'cifar100', '--preset', 'sinet')
    assert (s['num_epochs'], s['batch_size'], s['lr'], s['lr_decay_epoch'], s['wd'],
            s['sources']['lr']) == (150, 128, 0.01, [80], 1e-4, 'preset:sinet')
    s = imagenet_settings('--model', 'resnet50_v2', '--preset', 'sinet')
    assert (s['lr'], s['lr_mode'], s['sources']['lr_mode'], s['wd']) == \
        (0.045, 'exponential', 'preset:sinet', 1e-4)


def test_the_other_models_resolve_as_before():
    # the InI paper's recipe by hand: pre-act ResNet 300 epochs, batch 64, lr 0.1 / 10 at
    # 50 % and 75 %, the ResNet papers' 1e-4; the mode stays GluonCV's default, step
    s = cifar('--model', 'resnet20', '--dataset', 'cifar10')
    assert (s['num_epochs'], s['batch_size'], s['lr'], s['lr_decay'], s['lr_decay_epoch'],
            s['wd'], s['augment'], s['lr_mode']) == (300, 64, 0.1, 0.1, [150, 225], 1e-4,
                                                     'crop-flip', 'step')
    keys = ('num_epochs', 'batch_size', 'lr', 'lr_decay', 'lr_decay_epoch', 'wd', 'augment')
    assert set(_sources(s, keys).values()) == {'preset:ini'}
    assert s['sources']['lr_mode'] == 'default' and 'lr_mode' not in s['notes']
    assert 'lr_decay_epoch' in s['notes'] and s['warnings'] == []
    # ImageNet: 100 epochs, batch 256, lr 0.1 / 10 every 30 epochs
    s = imagenet_settings('--model', 'ini_resnet50_v2_mix5d')
    assert (s['num_epochs'], s['batch_size'], s['lr'], s['lr_decay_epoch'], s['lr_mode'],
            s['sources']['lr_mode']) == (100, 256, 0.1, [30, 60, 90], 'step', 'default')


# ---------------------------------------------------------------- what settings say
def test_decay_epochs_are_not_read_under_exponential(capsys):
    s = cifar('--model', 'resnet20', '--lr-mode', 'exponential', '--lr-decay', '0.98',
              '--lr-decay-epoch', '30,60')
    assert s['lr_decay_epoch'] == [30, 60] and 'not read' in s['notes']['lr_decay_epoch']
    assert len(s['warnings']) == 1 and '--lr-decay-epoch 30,60 is not read' in s['warnings'][0]
    # a preset's step factor after every epoch: said, with what to give
    s = cifar('--model', 'resnet20', '--lr-mode', 'exponential')
    assert s['lr_decay_epoch'] == [] and s['sources']['lr_decay_epoch'] == 'preset:ini'
    assert len(s['warnings']) == 1 and 'by 0.1 (preset:ini' in s['warnings'][0] and \
        'give --lr-decay' in s['warnings'][0]
    assert main(['--model', 'resnet20', '--lr-mode', 'exponential', '--dry-run']) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)['lr_mode'] == {'value': 'exponential', 'source': 'user'}
    assert len(err.splitlines()) == 1 and err.startswith('train_cifar.py: warning: ')


@pytest.mark.parametrize('script, argv, fragment', [
    (main, ['--model', 'resnet20', '--dataset', 'svhn', '--preset', 'sinet'],
     'the SINet paper, Sections 4.1-4.2 has no svhn recipe: give --preset'),
    (main_imagenet, ['--model', 'toysinet16', '--lr-mode', 'linear'],
     "--lr-mode: invalid choice: 'linear'"),
])
def test_bad_input_is_one_line(sinet_paper, script, argv, fragment, capsys):
    try:
        code = script(argv + ['--dry-run'])
    except SystemExit as exit_:                 # argparse's own
        code = exit_.code
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1 and fragment in err[0], err


def test_a_backbone_of_an_unknown_paper(sinet_paper, capsys):
    register_backbone('toyother{width}', blocks=lambda width: [BlockShape('s', width)],
                      family='resnet', listed=['toyother16'], paper='alexnet')(_toy('toyother'))
    assert main(['--model', 'toyother16', '--dry-run']) == 2
    err = capsys.readouterr().err
    assert "is registered with paper='alexnet', expected one of ini, cmpe-se, sinet" in err


@pytest.mark.parametrize('preset, epochs, batch, decay', [('ini', 300, 64, [150, 225]),
                                                          ('cmpe-se', 200, 128, [100, 150])])
def test_the_other_papers_train_the_sinet_families_with_their_resnet_recipe(
        sinet_paper, preset, epochs, batch, decay):
    """Neither paper trains SINet or a MobileNet: each one's pre-act ResNet recipe, said so."""
    s = cifar('--model', 'toysimobile16', '--dataset', 'cifar100', '--preset', preset)
    assert (s['num_epochs'], s['batch_size'], s['lr'], s['lr_decay_epoch']) == (
        epochs, batch, 0.1, decay)
    assert s['sources']['num_epochs'] == 'preset:' + preset
    assert 'trains no' in s['notes']['preset'] and 'MobileNet' in s['notes']['preset']
