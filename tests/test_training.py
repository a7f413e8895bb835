"""train_cifar.py: settings, checkpoints, a real 2-epoch run, kill-and-resume, bad input."""
import csv
import errno
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import ini_gluon as ig
from ini_gluon.data import load_dataset
from ini_gluon.run.checkpoint import (CheckpointError, latest_checkpoint, load_checkpoint,
                                      save_checkpoint)
from ini_gluon.run.files import clean_temporaries, digest
from ini_gluon.training import build_parser, main, resolve
from ini_gluon.run.settings import to_json
from ini_gluon.training.hosts import read_hosts
from ini_gluon.training.launch import launch_hosts
import datasets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'train_cifar.py')
SSH_STUB = os.path.join(ROOT, 'tests', 'ssh_stub.py')
TINY = 'ini_resnet8_mix5d'


def settings(*argv):
    """The resolved settings as ``settings.json`` holds them."""
    return to_json(resolve(build_parser().parse_args(list(argv))))


# ---------------------------------------------------------------- settings
def _schedule(s):
    return (s['num_epochs'], s['batch_size'], s['lr'], s['lr_decay'], s['lr_decay_epoch'],
            s['wd'])


# (argv, epochs, batch, lr, decay factor, decay epochs, wd, source): the recipes as the papers
# write them -- InI paper Section V-B, CMPE-SE paper Section 4.1; weight decay from the WRN
# (5e-4) and pre-act ResNet (1e-4) papers
@pytest.mark.parametrize('argv, expected', [
    # InI: batch 64; WRN 200 epochs, / 5 at 60, 120, 160
    (['--model', 'ini_wrn28_10_mix5d'], (200, 64, 0.1, 0.2, [60, 120, 160], 5e-4, 'ini')),
    # InI: pre-act ResNet 300 epochs, / 10 at 50 % and 75 %; SE and plain under the same setting
    (['--model', 'ini_resnet164_mix5d'], (300, 64, 0.1, 0.1, [150, 225], 1e-4, 'ini')),
    (['--model', 'se_resnet110'], (300, 64, 0.1, 0.1, [150, 225], 1e-4, 'ini')),
    (['--model', 'wrn16_8'], (200, 64, 0.1, 0.2, [60, 120, 160], 5e-4, 'ini')),
    # CMPE-SE: batch 128 for 200 epochs; ResNet / 10 at 100 and 150, WRN / 5 at 60, 120, 160
    (['--model', 'cmpe_se_3x3_resnet164', '--dataset', 'cifar100'],
     (200, 128, 0.1, 0.1, [100, 150], 1e-4, 'cmpe-se')),
    (['--model', 'cmpe_se_doublefc_wrn16_8'], (200, 128, 0.1, 0.2, [60, 120, 160], 5e-4,
                                               'cmpe-se')),
    # either recipe for any model
    (['--model', 'se_wrn28_10', '--preset', 'cmpe-se'],
     (200, 128, 0.1, 0.2, [60, 120, 160], 5e-4, 'cmpe-se')),
    (['--model', 'cmpe_se_1x1_resnet110', '--preset', 'ini'],
     (300, 64, 0.1, 0.1, [150, 225], 1e-4, 'ini')),
    # SVHN: InI 80 epochs, batch 64; CMPE-SE 160 epochs, lr 0.01 / 10 at 80 and 120
    (['--model', 'ini_wrn16_8_mix5d', '--dataset', 'svhn'],
     (80, 64, 0.01, 0.1, [40, 60], 5e-4, 'ini')),
    (['--model', 'cmpe_se_1x1_wrn28_10', '--dataset', 'svhn'],
     (160, 128, 0.01, 0.1, [80, 120], 5e-4, 'cmpe-se')),
    # mixup: 20 more epochs without it, after the schedule
    (['--model', 'cmpe_se_1x1_resnet164', '--mixup'],
     (220, 128, 0.1, 0.1, [100, 150], 1e-4, 'cmpe-se')),
    # the paper's batch is one update's: two GPUs take half each
    (['--model', 'ini_wrn28_10_mix5d', '--num-gpus', '2'],
     (200, 32, 0.1, 0.2, [60, 120, 160], 5e-4, 'ini')),
])
def test_each_paper_recipe(argv, expected):
    s = settings(*argv)
    assert _schedule(s) == expected[:-1]
    for key in ('num_epochs', 'batch_size', 'lr', 'lr_decay', 'lr_decay_epoch', 'wd'):
        assert s['sources'][key] == 'preset:' + expected[-1], key
    assert s['warnings'] == []


def test_decay_at_fractions_moves_with_the_epochs():
    # InI paper: ResNet / 10 at 50 % and 75 % of the epochs, whatever their number
    s = settings('--model', 'ini_resnet164_mix5d', '--num-epochs', '100')
    assert (s['lr_decay_epoch'], s['sources']['num_epochs'], s['warnings']) == \
        ([50, 75], 'user', [])
    # with mixup, the fractions are of the epochs before the mixup-free tail
    mixed = settings('--model', 'ini_resnet164_mix5d', '--num-epochs', '120', '--mixup')
    assert mixed['lr_decay_epoch'] == [50, 75]


@pytest.mark.parametrize('argv, outside', [
    (['--model', 'ini_wrn16_8_mix5d', '--num-epochs', '100'], '120, 160'),
    (['--model', 'cmpe_se_1x1_resnet110', '--num-epochs', '120'], '150'),
    (['--model', 'se_resnet20', '--num-epochs', '10', '--lr-decay-epoch', '5,10'], '10'),
])
def test_fixed_decay_epochs_outside_the_run_are_said_once(argv, outside, tmp_path, capsys):
    s = settings(*argv)
    assert len(s['warnings']) == 1
    assert ('epoch %s' % outside) in s['warnings'][0] and '--lr-decay-epoch' in s['warnings'][0]
    assert main(list(argv) + ['--dry-run']) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('train_cifar.py: warning: ')


def test_explicit_flags_override_the_preset():
    s = settings('--model', 'ini_wrn28_10_mix5d', '--batch-size', '32', '--wd', '1e-3',
                 '--num-gpus', '3')            # 64 does not split over 3 GPUs: not asked for
    assert (s['batch_size'], s['wd']) == (32, 1e-3)
    assert s['sources']['batch_size'] == 'user' and s['sources']['num_epochs'] == 'preset:ini'
    with pytest.raises(ValueError, match='batch of 64 does not split evenly over 3 devices'):
        settings('--model', 'ini_wrn28_10_mix5d', '--num-gpus', '3')
    none = settings('--model', 'se_wrn28_10', '--preset', 'none')
    assert (none['num_epochs'], none['batch_size'], none['lr_decay_epoch']) == (200, 128,
                                                                                [100, 150])
    assert none['sources']['num_epochs'] == 'default' and 'preset' not in none['notes']


def test_allcnn_keeps_its_dropout_unless_told():
    s = settings('--model', 'se_allcnn')
    assert (s['drop_rate'], s['sources']['drop_rate']) == (0.5, 'default')
    assert 'All-CNN' in s['notes']['drop_rate']
    s = settings('--model', 'se_allcnn', '--drop-rate', '0')          # 0 given is 0 used
    assert (s['drop_rate'], s['sources']['drop_rate']) == (0.0, 'user')
    assert settings('--model', 'wrn16_4')['drop_rate'] == 0.0
    assert settings('--model', 'se_allcnn')['wd'] == 1e-3              # All-CNN's own


def test_new_backbones_follow_their_recipes():
    s = settings('--model', 'ini_pyramidnet272_mix5d', '--dataset', 'cifar100')
    assert (s['num_epochs'], s['batch_size'], s['lr'], s['wd']) == (200, 64, 0.1, 1e-4)
    assert s['lr_decay_epoch'] == [100, 150] and 'PyramidNet paper' in s['notes']['lr_decay']
    s = settings('--model', 'ini_allcnn_square3', '--num-epochs', '100')
    assert s['lr_decay_epoch'] == [50, 75]                             # InI: 50 % and 75 %
    s = settings('--model', 'se_allcnn', '--preset', 'cmpe-se')
    assert s['lr_decay_epoch'] == [100, 150] and 'trains no All-CNN' in s['notes']['preset']


def test_dry_run_prints_every_setting_and_its_source(tmp_path, capsys):
    save = tmp_path / 'never'
    argv = ['--model', 'cmpe_se_3x3_wrn16_8', '--data-dir', str(tmp_path / 'no-data'),
            '--save-dir', str(save), '--num-epochs', '150', '--momentum', '0.95', '--dry-run']
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert not save.exists()                   # no folder made, no data read
    assert out['num_epochs'] == {'value': 150, 'source': 'user'}
    assert out['momentum'] == {'value': 0.95, 'source': 'user'}
    assert out['seed'] == {'value': 1, 'source': 'default'}
    assert out['batch_size'] == {'value': 128, 'source': 'preset:cmpe-se'}
    assert out['lr_decay_epoch']['value'] == [60, 120, 160]
    assert out['wd']['source'] == 'preset:cmpe-se' and 'WRN' in out['wd']['note']
    assert out['preset'] == {'value': 'paper', 'source': 'default',
                             'note': 'CMPE-SE paper, Section 4.1'}
    assert 'sources' not in out and 'dry_run' not in out


@pytest.mark.parametrize('model', ['ini_wrn28_10_mix5d', 'ini_resnet164_square3', 'allcnn',
                                   'se_pyramidnet272', 'sinet_1_0'])
def test_the_ini_papers_cifar_batch_says_where_it_comes_from(model):
    """Section V-B gives batch 64 in the sentence of the SVHN schedule only."""
    s = settings('--model', model, '--dataset', 'cifar100', '--preset', 'ini')
    assert s['batch_size'] == 64
    assert 'where the batch-size is 64' in s['notes']['batch_size']
    assert 'may be SVHN\'s alone' in s['notes']['batch_size']
    svhn = settings('--model', model, '--dataset', 'svhn', '--preset', 'ini')
    assert svhn['batch_size'] == 64 and 'batch_size' not in svhn['notes']


@pytest.mark.parametrize('argv, fragment', [
    (['--kvstore', 'nccl2'], 'unknown --kvstore'),
    (['--dataset', 'mnist'], 'unknown dataset'),
    (['--lr-decay-epoch', '60;120'], 'comma-separated epochs'),
    (['--lr-decay-epoch', '120,60'], 'increasing epochs >= 1'),
    (['--lr-decay-epoch', '0,60'], 'increasing epochs >= 1'),
    (['--lr', 'nan'], '--lr must be a positive finite number'),
    (['--lr-decay', '-1'], '--lr-decay must be in (0, 1]'),
    (['--lr-decay', '1.5'], '--lr-decay must be in (0, 1]'),
    (['--keep-checkpoints', '0'], '--keep-checkpoints must be >= 1'),
    (['--overwrite', '--resume', 'auto'], '--overwrite starts a new run'),
    (['--wd', 'inf'], '--wd must be a finite number >= 0'),
    (['--momentum', '1'], '--momentum must be in [0, 1)'),
    (['--mixup', '--mixup-alpha', '0'], '--mixup-alpha must be a positive'),
    (['--mixup', '--num-epochs', '10'], 'raise --num-epochs or lower --mixup-off-epoch'),
    (['--drop-rate', '1.5'], '--drop-rate must be in [0, 1)'),
    (['--model', 'se_resnet20', '--drop-rate', '0.3'], 'se_resnet20 has none'),
    (['--seed', '-1'], '--seed must be >= 0'),
    (['--model', 'pyramidnet11_a12', '--drop-rate', '0.3'], 'pyramidnet11_a12 has none'),
    # what cannot be built is said before any data is read, dry run included
    (['--model', 'cmpe_se_3x3_allcnn'], 'stage1.0 (C=96): cmpe_se_3x3 lays the identity out'),
    (['--model', 'ini_resnet20_square1'], 'stage1.0 (C=16): no G-filter of the set'),
])
def test_bad_settings(argv, fragment, capsys):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        settings(*argv)
    assert main(argv + ['--dry-run']) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith('train_cifar.py: error: ') and fragment in err[0]


@pytest.mark.parametrize('argv', [['--num-epochs', 'abc'], ['--bogus'], ['--preset', 'PAPER']])
def test_bad_arguments_are_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv + ['--dry-run'])
    err = capsys.readouterr().err.splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and err[0].startswith('train_cifar.py: error')


def test_the_original_codes_name_follows_its_paper():
    # cmpe_se_resnet164 is the original CMPE-SE code's SE baseline: the CMPE-SE recipe
    s = settings('--model', 'cmpe_se_resnet164')
    assert (s['num_epochs'], s['batch_size'], s['lr_decay_epoch']) == (200, 128, [100, 150])
    assert s['sources']['num_epochs'] == 'preset:cmpe-se'


def test_unused_mixup_tail_is_a_default():
    s = settings('--model', 'se_resnet20')
    assert (s['mixup_off_epoch'], s['sources']['mixup_off_epoch']) == (0, 'default')


# ---------------------------------------------------------------- checkpoints
def _tiny_net_and_trainer():
    net = ig.get_model('se_resnet8')
    net.initialize(mx.init.Xavier())
    trainer = mx.gluon.Trainer(net.collect_params(), 'nag', {'learning_rate': 0.1,
                                                             'momentum': 0.9})
    with mx.autograd.record():
        loss = net(mx.nd.random.uniform(shape=(4, 3, 32, 32))).sum()
    loss.backward()
    trainer.step(4)
    return net, trainer


def _dead_pid():
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    child.wait()
    return child.pid


def test_checkpoint_round_trip_and_atomicity(tmp_path):
    net, trainer = _tiny_net_and_trainer()
    rows = [{'epoch': 0, 'val_error': 0.5}, {'epoch': 1, 'val_error': 0.25}]
    saved = save_checkpoint(str(tmp_path), 3, net, trainer, {'metrics': rows, 'x': 'y'})
    killed = [tmp_path / ('.ini-gluon-tmp-%d-checkpoint-epoch0009-abc' % _dead_pid()),
              tmp_path / '.ini-gluon-tmp-checkpoint-epoch0008-abc']    # an earlier version's
    live = tmp_path / ('.ini-gluon-tmp-%d-checkpoint-epoch0010-abc' % os.getpid())
    for folder in killed + [live]:
        os.makedirs(folder)
        (folder / 'model.params').write_bytes(b'half')
    for name in ('.tmp-notes', 'draft.old', 'results.old'):          # the user's own files
        (tmp_path / name).write_text('mine')
    assert latest_checkpoint(str(tmp_path)) == saved
    assert all(os.path.exists(p) for p in killed)          # reading a folder removes nothing
    assert sorted(clean_temporaries(str(tmp_path))) == sorted(map(str, killed))
    assert os.path.exists(live)                             # its writer lives: not removed
    assert all((tmp_path / n).read_text() == 'mine' for n in ('.tmp-notes', 'draft.old',
                                                               'results.old'))
    other, other_trainer = _tiny_net_and_trainer()
    meta = load_checkpoint(saved, other, other_trainer, mx.cpu())
    assert (meta['epoch'], meta['metrics'], meta['x']) == (3, rows, 'y')
    for (_, a), (_, b) in zip(net.collect_params().items(), other.collect_params().items()):
        np.testing.assert_array_equal(a.data().asnumpy(), b.data().asnumpy())
    assert other_trainer.optimizer.num_update == trainer.optimizer.num_update == 1
    ours, theirs = trainer._updaters[0].states, other_trainer._updaters[0].states
    trained = [p for p in net.collect_params().values() if p.grad_req != 'null']
    assert sorted(ours) == sorted(theirs) and len(ours) == len(trained) > 0
    for i in ours:                                          # the momentum, array by array
        np.testing.assert_array_equal(ours[i].asnumpy(), theirs[i].asnumpy())
    assert sorted(os.listdir(saved)) == ['meta.json', 'model.params', 'optimizer.params']


def test_a_pickled_optimizer_state_is_never_loaded(tmp_path):
    """A checkpoint's optimizer state is data (arrays and JSON): an earlier version's pickled
    trainer.states, or a crafted one, is refused and runs nothing."""
    net, trainer = _tiny_net_and_trainer()
    saved = save_checkpoint(str(tmp_path), 0, net, trainer, {'metrics': []})
    payload = tmp_path / 'payload-ran'

    class Payload(object):
        def __reduce__(self):
            return (os.mkdir, (str(payload),))
    with open(os.path.join(saved, 'trainer.states'), 'wb') as f:
        pickle.dump(Payload(), f)
    with open(os.path.join(saved, 'meta.json')) as f:
        meta = json.load(f)
    meta.pop('optimizer')
    meta['has_trainer_states'] = True                       # as an earlier version wrote it
    with open(os.path.join(saved, 'meta.json'), 'w') as f:
        json.dump(meta, f)
    with pytest.raises(CheckpointError, match='as a Python pickle .* not loaded'):
        load_checkpoint(saved, *_tiny_net_and_trainer(), mx.cpu())
    assert not payload.exists()
    load_checkpoint(saved, net, None, mx.cpu())             # its weights alone: read


def test_corrupt_checkpoints(tmp_path):
    net, trainer = _tiny_net_and_trainer()
    saved = save_checkpoint(str(tmp_path), 0, net, trainer, {})
    with pytest.raises(CheckpointError, match='not found'):
        load_checkpoint(str(tmp_path / 'nope'), net, trainer, mx.cpu())
    with open(os.path.join(saved, 'model.params'), 'wb') as f:
        f.write(b'garbage')
    with pytest.raises(CheckpointError, match='model.params is not the file the run wrote'):
        load_checkpoint(saved, net, trainer, mx.cpu())
    with open(os.path.join(saved, 'meta.json')) as f:
        meta = json.load(f)
    with open(os.path.join(saved, 'meta.json'), 'w') as f:       # an earlier version's: no SHA-1
        json.dump({k: v for k, v in meta.items() if k != 'model_sha1'}, f)
    with pytest.raises(CheckpointError, match='model.params is corrupt'):
        load_checkpoint(saved, net, trainer, mx.cpu())
    os.remove(os.path.join(saved, 'model.params'))
    with pytest.raises(CheckpointError, match='model.params missing'):
        load_checkpoint(saved, net, trainer, mx.cpu())
    with open(os.path.join(saved, 'meta.json'), 'w') as f:
        f.write('{"epo')
    with pytest.raises(CheckpointError, match='meta.json'):
        load_checkpoint(saved, net, trainer, mx.cpu())


# ---------------------------------------------------------------- real runs
@pytest.fixture(scope='module')
def cifar_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar')
    datasets.write_cifar_binary(str(root), classes=10, n_train=96, n_test=40)
    return str(root)


def _run(tmp_path, cifar_dir, *extra):
    save = str(tmp_path / 'run')
    argv = ['--model', TINY, '--dataset', 'cifar10', '--data-dir', cifar_dir, '--save-dir', save,
            '--batch-size', '16', '--num-epochs', '2', '--lr', '0.05', '--save-period', '1',
            '-j', '1'] + list(extra)
    return save, main(argv)


def _metrics(save):
    with open(os.path.join(save, 'metrics.jsonl')) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def finished(tmp_path_factory, cifar_dir):
    """A finished run of :func:`_run`'s settings, with ``--tensorboard``: the tests that start
    from a finished run take a copy of it (:func:`_finished_copy`) rather than train it again
    (the same seed trains the same run)."""
    save, status = _run(tmp_path_factory.mktemp('finished'), cifar_dir, '--tensorboard')
    assert status == 0
    return save


def _finished_copy(tmp_path, finished):
    """A copy of the finished run where :func:`_run` writes (``<tmp_path>/run``)."""
    save = str(tmp_path / 'run')
    shutil.copytree(finished, save)
    return save, 0


def test_two_epoch_run_writes_everything(tmp_path, finished):
    save, status = _finished_copy(tmp_path, finished)
    assert status == 0
    rows = _metrics(save)
    assert [r['epoch'] for r in rows] == [0, 1]
    assert rows[1]['loss'] < rows[0]['loss']
    for name in ['checkpoint-epoch0000', 'checkpoint-epoch0001', TINY + '-best.params',
                 TINY + '_history.png', 'train.log', 'settings.json',
                 'export-final/%s-symbol.json' % TINY, 'export-final/%s-0000.params' % TINY,
                 'export-best/model.json', 'export-best/classes.txt']:
        assert os.path.exists(os.path.join(save, name)), name
    with open(os.path.join(save, 'train.log')) as f:
        log = f.read()
    assert 'setting model = %s (user)' % TINY in log and 'setting num_epochs = 2 (user)' in log
    assert 'setting wd = 0.0001 (preset:ini: the papers give no weight decay' in log
    # GluonCV's epoch line, errors in % for its accuracies, the values of metrics.jsonl
    line = re.search(r'\[Epoch 1\] train-err=(\S+)% val-err=(\S+)% loss=(\S+) time: (\S+)',
                     log)
    assert line, log
    np.testing.assert_allclose([float(v) for v in line.groups()[:2]],
                               [100 * rows[1]['train_error'], 100 * rows[1]['val_error']],
                               atol=0.005)
    assert float(line.group(3)) == pytest.approx(rows[1]['loss'], rel=1e-5)
    assert 'best validation error %.2f%% at epoch' % (100 * min(r['val_error'] for r in rows)) \
        in log

    # the exports reload and agree, on raw [0, 255] images, with the final checkpoint's and the
    # best parameters normalised by the run's mean and std
    with open(os.path.join(save, 'settings.json')) as f:
        s = json.load(f)
    raw = mx.nd.random.uniform(0, 255, shape=(3, 3, 32, 32))
    mean, std = (mx.nd.array(s[k]).reshape((1, 3, 1, 1)) * 255 for k in ('mean', 'std'))
    for which, params in (('final', os.path.join(save, 'checkpoint-epoch0001')),
                          ('best', os.path.join(save, TINY + '-best.params'))):
        net = ig.get_model(TINY)
        if which == 'final':
            load_checkpoint(params, net, None, mx.cpu())
        else:
            net.load_parameters(params)
        folder = os.path.join(save, 'export-' + which)
        exported = mx.gluon.SymbolBlock.imports(os.path.join(folder, TINY + '-symbol.json'),
                                                ['data'])
        exported.load_parameters(os.path.join(folder, TINY + '-0000.params'))
        np.testing.assert_allclose(exported(raw).asnumpy(),
                                   net(mx.nd.broadcast_div(raw - mean, std)).asnumpy(),
                                   rtol=1e-5, atol=1e-5)
    best_epoch = min(rows, key=lambda r: r['val_error'])['epoch']
    with open(os.path.join(save, 'export-best', 'model.json')) as f:
        assert json.load(f)['source']['epoch'] == best_epoch


def test_summary_csv_and_the_event_file_hold_each_epoch(finished, cifar_dir):
    rows = _metrics(finished)
    with open(os.path.join(finished, 'summary.csv')) as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ['epoch', 'lr', 'train_loss', 'train_error', 'val_loss',
                              'val_error', 'val_top5_error', 'img_per_s']
    for line, row in zip(table, rows):
        assert float(line['train_loss']) == row['loss'] and int(line['epoch']) == row['epoch']
        assert float(line['val_error']) == row['val_error'] and float(line['lr']) == row['lr']
        assert float(line['img_per_s']) == row['speed'] > 0
    # the validation loss, by hand: the cross-entropy of the final weights on the test split
    with open(os.path.join(finished, 'settings.json')) as f:
        s = json.load(f)
    net = ig.get_model(TINY)
    load_checkpoint(os.path.join(finished, 'checkpoint-epoch0001'), net, None, mx.cpu())
    _, _, test_x, test_y, _ = load_dataset('cifar10', cifar_dir)
    x = (test_x.transpose(0, 3, 1, 2) / 255.0 - np.reshape(s['mean'], (1, 3, 1, 1))) / \
        np.reshape(s['std'], (1, 3, 1, 1))
    logits = net(mx.nd.array(x)).asnumpy().astype(np.float64)
    chosen = logits[np.arange(len(test_y)), test_y.astype(int)]
    by_hand = np.mean(np.log(np.exp(logits).sum(axis=1)) - chosen)
    assert rows[1]['val_loss'] == pytest.approx(by_hand, rel=1e-4)
    # TensorBoard's own reader finds the same numbers, one scalar a tag and epoch
    accumulator = EventAccumulator(os.path.join(finished, 'tensorboard'))
    accumulator.Reload()
    assert sorted(accumulator.Tags()['scalars']) == [
        'error/train', 'error/val', 'error/val_top5', 'loss/train', 'loss/val', 'lr',
        'speed/img_per_s']
    for tag, key in (('loss/train', 'loss'), ('error/val', 'val_error'), ('lr', 'lr'),
                     ('speed/img_per_s', 'speed'), ('loss/val', 'val_loss')):
        events = accumulator.Scalars(tag)
        assert [e.step for e in events] == [0, 1]
        assert [e.value for e in events] == pytest.approx([r[key] for r in rows], rel=1e-6)


def test_a_config_rerun_writes_the_same_settings(tmp_path, cifar_dir, finished, capsys):
    path = os.path.join(finished, 'settings.json')
    again = str(tmp_path / 'again')
    assert main(['--config', path, '--save-dir', again, '--dry-run']) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown['lr'] == {'value': 0.05, 'source': 'config:%s' % path}
    assert shown['save_dir'] == {'value': again, 'source': 'user'}       # the flag wins
    assert main(['--config', path, '--save-dir', again]) == 0
    with open(path) as f:
        before = json.load(f)
    with open(os.path.join(again, 'settings.json')) as f:
        after = json.load(f)
    assert after['save_dir'] == again and after['sources']['lr'] == 'config:%s' % path
    for s in (before, after):
        del s['save_dir'], s['sources']
    assert after == before
    # the same run: the same errors, the losses up to float32 rounding (oneDNN's kernels may
    # sum in another order in a process that ran other networks first)
    for r, r2 in zip(_metrics(finished), _metrics(again)):
        for key in ('loss', 'val_loss'):
            assert r2[key] == pytest.approx(r[key], rel=1e-6)
        assert dict(r2, time=0, speed=0, loss=0, val_loss=0) == \
            dict(r, time=0, speed=0, loss=0, val_loss=0)


def test_mixup_and_cutmix_are_switched_off_for_the_last_epochs(tmp_path, cifar_dir):
    save, status = _run(tmp_path, cifar_dir, '--mixup', '--cutmix', '1', '--mixup-off-epoch',
                        '1')
    assert status == 0
    assert [(r['mixup'], r['cutmix']) for r in _metrics(save)] == [(True, True),
                                                                  (False, False)]


def _script(*argv):
    return [sys.executable, SCRIPT] + list(argv)


@pytest.mark.slow
def test_kill_and_resume_continues_bit_for_bit(tmp_path, cifar_dir):
    """A run with ``--ema`` killed (SIGKILL) after its first checkpoint and resumed trains the
    next epoch as the uninterrupted run: the same losses, weights, optimizer state and moving
    average, to the bit.  All three runs without oneDNN (``MXNET_MKLDNN_ENABLED=0``): oneDNN's
    convolutions give results that depend on what ran before in the process (its primitive
    cache), 1e-8 of the loss apart; MXNet's own kernels give the same bits whatever ran
    before."""
    common = ['--model', TINY, '--dataset', 'cifar10', '--data-dir', cifar_dir, '--batch-size',
              '16', '--num-epochs', '2', '--lr', '0.05', '--save-period', '1', '-j', '0',
              '--ema', '0.9']
    env = dict(os.environ, MXNET_MKLDNN_ENABLED='0')
    reference = str(tmp_path / 'whole')
    whole = subprocess.run(_script(*common + ['--save-dir', reference]), env=env,
                           capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr

    save = str(tmp_path / 'killed')
    proc = subprocess.Popen(_script(*common + ['--save-dir', save]), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    first = os.path.join(save, 'checkpoint-epoch0000')
    deadline = time.time() + 120
    while not os.path.exists(first) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert os.path.exists(first)
    assert not os.path.exists(os.path.join(save, 'export-final'))          # it did not finish

    resumed = subprocess.run(_script(*common + ['--save-dir', save, '--resume', 'auto']),
                             capture_output=True, text=True, env=env)
    assert resumed.returncode == 0, resumed.stderr
    rows, whole = _metrics(save), _metrics(reference)
    assert [r['epoch'] for r in rows] == [0, 1]
    with open(os.path.join(save, 'train.log')) as f:
        log = f.read()
    assert 'continuing at epoch 1' in log
    # same seed, same batches, same optimizer state and average: the same curve, to the bit
    for key in ('loss', 'lr', 'val_loss', 'ema_val_loss', 'ema_val_error'):
        assert [r[key] for r in rows] == [r[key] for r in whole], key
    for name in ('model.params', 'ema.params', 'optimizer.params'):
        ours, theirs = (mx.nd.load(os.path.join(folder, 'checkpoint-epoch0001', name))
                        for folder in (save, reference))
        assert sorted(ours) == sorted(theirs) and len(ours) > 20, name
        for key in ours:
            assert (ours[key].asnumpy() == theirs[key].asnumpy()).all(), (name, key)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize('argv, fragment', [
    (['--dataset', 'cifar10', '--data-dir', '/nonexistent/cifar'], '/nonexistent/cifar'),
    (['--dataset', 'cifar100', '--data-dir', '/'], 'cifar-100'),
    (['--dataset', 'mnist'], "unknown dataset 'mnist'"),
    (['--dataset', 'digits', '--model', 'ini_wrn28_10_mix9'], "unknown model name"),
    (['--dataset', 'digits', '--model', TINY, '--resume-from', '/nonexistent/ckpt'],
     "checkpoint '/nonexistent/ckpt' not found"),
])
def test_bad_input_gives_one_clear_line(argv, fragment, tmp_path, capsys):
    status = main(argv + ['--save-dir', str(tmp_path / 'out'), '--num-epochs', '1'])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith('train_cifar.py: error: ') and fragment in err
    assert 'Traceback' not in err


def test_non_finite_loss_stops_with_epoch_and_batch(tmp_path, cifar_dir, capsys):
    save, status = _run(tmp_path, cifar_dir, '--lr', '1e38')
    err = capsys.readouterr().err
    assert status == 1
    assert 'non-finite loss' in err and 'at epoch 0, batch' in err


# ---------------------------------------------------------------- multi-machine (dist_sync)
@pytest.mark.slow
def test_dist_sync_two_workers_over_ssh_agree_and_see_different_shards(tmp_path, cifar_dir,
                                                                      monkeypatch):
    """1 scheduler, 1 server and 2 workers through MXNet's parameter server, each started over
    ssh from a hosts file (``localhost:2``) as on several machines: a stub ssh runs each node
    here in a session of its own, as sshd would there.  (The local launcher's real jobs: the
    dead-worker tests below.)"""
    save, log = str(tmp_path / 'dist'), str(tmp_path / 'ssh.log')
    with open(str(tmp_path / 'hosts'), 'w') as f:
        f.write('localhost:2\n')
    hosts = read_hosts(str(tmp_path / 'hosts'))
    monkeypatch.setenv('SSH_STUB_LOG', log)
    results = launch_hosts(_script('--model', TINY, '--dataset', 'cifar10', '--data-dir',
                                   cifar_dir, '--save-dir', save, '--batch-size', '8',
                                   '--num-epochs', '2', '--kvstore', 'dist_sync', '-j', '0'),
                           hosts, num_workers=2, num_servers=1,
                           ssh=[sys.executable, SSH_STUB], workdir=str(tmp_path), timeout=240,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(log) as f:
        assert f.read().split() == ['localhost'] * 4        # every node went through ssh
    assert [code for code, _ in results] == [0, 0], results
    first, second = (mx.nd.load(os.path.join(save, 'final-rank%d.params' % r)) for r in (0, 1))
    trainable = [k for k in first if 'running_' not in k]   # BatchNorm statistics stay local
    assert len(trainable) > 20
    for key in trainable:
        # data-parallel replicas: equal up to float rounding of the local updates
        np.testing.assert_allclose(first[key].asnumpy(), second[key].asnumpy(), atol=1e-5,
                                   err_msg=key)
    shards = []
    for r in (0, 1):
        with open(os.path.join(save, 'shard-rank%d.json' % r)) as f:
            shards.append(set(json.load(f)))
    assert len(shards[0]) == len(shards[1]) == 48            # 96 samples, 2 workers
    assert not shards[0] & shards[1]
    assert [r['epoch'] for r in _metrics(save)] == [0, 1]


@pytest.mark.slow
def test_a_worker_that_refuses_its_folder_ends_the_job_at_once(tmp_path, cifar_dir, capsys,
                                                              monkeypatch):
    """Worker 1 finds a link named like its shard file and refuses: its process ends at once
    (MXNet's kvstore, collected, would wait at a barrier for worker 0), the launcher ends the
    job within --fail-timeout, and the linked file is untouched."""
    import ini_gluon.training.launch as launcher
    save, user = tmp_path / 'dist', tmp_path / 'user.json'
    save.mkdir()
    user.write_text('precious')
    os.symlink(user, save / 'shard-rank1.json')
    seen, real = [], launcher.launch_local

    def recorded(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]
    monkeypatch.setattr(launcher, 'launch_local', recorded)
    start = time.time()
    assert launcher.main(['-n', '2', '--fail-timeout', '1', '--stall-timeout', '60', '--'] +
                         _script('--model', TINY, '--dataset', 'cifar10', '--data-dir',
                                 cifar_dir, '--save-dir', str(save), '--batch-size', '8',
                                 '--num-epochs', '1', '--kvstore', 'dist_sync', '-j', '0')) == 1
    assert time.time() - start < 50                 # not the stall timeout's 60 s
    err = capsys.readouterr().err.strip().splitlines()
    # the kvstore's rank 1 refuses: the scheduler numbers the workers in the order they connect,
    # which is not always the order the launcher started them in (its 'worker N')
    assert len(err) == 1 and re.fullmatch(
        r'python -m ini_gluon.training.launch: error: worker [01] \(pid \d+\) exited with code '
        r'2; the job was stopped', err[0]), err
    results, = seen
    assert sorted(code != 0 for code, _ in results) == [True, True]   # the other one stopped
    assert len(results.pids) == 4 and all(_gone(pid) for pid in results.pids)
    assert user.read_text() == 'precious'


# ---------------------------------------------------------------- the README's main command
def _demo_argv(save):
    """The arguments of ``make demo``'s ``train_cifar.py``, the Makefile's variables expanded,
    its run folder ``save``."""
    with open(os.path.join(ROOT, 'Makefile')) as f:
        lines = f.read().splitlines()
    variables = dict(re.match(r'^(\w+) \?= (.*)$', line).groups() for line in lines
                     if re.match(r'^\w+ \?= ', line))
    demo = [line for line in lines if 'train_cifar.py' in line][0].split('train_cifar.py')[1]
    argv = re.sub(r'\$\((\w+)\)', lambda m: variables[m.group(1)], demo).split()
    argv[argv.index('--save-dir') + 1] = save
    return argv


@pytest.mark.slow
def test_readme_demo_reaches_95_percent_on_digits_and_runs_again(tmp_path, capsys):
    """`make demo`: InI-ResNet-8 (mix-5-d) on scikit-learn's digits, the paper preset, CPU; and
    `make demo` again: the finished run says so, in seconds, and is as it was."""
    save = str(tmp_path / 'digits')
    assert main(_demo_argv(save)) == 0
    rows = _metrics(save)
    assert len(rows) == 10
    assert rows[-1]['val_error'] <= 0.05
    for name in ['ini_resnet8_mix5d_history.png', 'export-final/ini_resnet8_mix5d-symbol.json',
                 'export-best/ini_resnet8_mix5d-0000.params']:
        assert os.path.exists(os.path.join(save, name)), name
    with open(os.path.join(save, 'train.log')) as f:      # the speed on its 22-batch epochs
        assert len(re.findall(r'Epoch\[9\] Batch \[(6|12|18)/22\]\tSpeed: ', f.read())) == 3
    best = os.path.join(save, 'ini_resnet8_mix5d-best.params')
    before = (digest(best), rows)
    capsys.readouterr()
    assert main(_demo_argv(save)) == 0                     # make demo, again
    out = capsys.readouterr().out
    assert 'the run has finished all its 10 epochs, nothing is left to train' in out
    assert 'best validation error %.2f%% at epoch' % (100 * min(r['val_error'] for r in rows)) \
        in out
    assert '[Epoch' not in out
    assert (digest(best), _metrics(save)) == before


def _poison_batchnorm_after(monkeypatch, step_number):
    """From the ``step_number``-th optimizer step on, every BatchNorm running variance becomes
    NaN: training mode uses the batch's statistics, so the loss stays finite."""
    real_step, calls = mx.gluon.Trainer.step, []

    def step(self, *args, **kwargs):
        real_step(self, *args, **kwargs)
        calls.append(1)
        if len(calls) >= step_number:
            for p in self._params:
                if p.name.endswith('running_var'):
                    p.set_data(p.data() * float('nan'))
    monkeypatch.setattr(mx.gluon.Trainer, 'step', step)


def test_non_finite_weights_stop_the_run_and_nothing_is_written(tmp_path, cifar_dir, capsys,
                                                                monkeypatch):
    _poison_batchnorm_after(monkeypatch, 8)         # epoch 1 of 6 steps an epoch
    save, status = _run(tmp_path, cifar_dir)
    err = capsys.readouterr().err
    assert status == 1
    assert 'non-finite parameters' in err and 'running_var' in err and 'after epoch 1' in err
    assert 'last good checkpoint is %s' % os.path.join(save, 'checkpoint-epoch0000') in err
    names = os.listdir(save)
    assert 'checkpoint-epoch0000' in names and 'checkpoint-epoch0001' not in names
    assert not any(n.startswith('export-') for n in names)           # no export
    assert len(_metrics(save)) == 1                                   # epoch 1 not recorded
    best = mx.nd.load(os.path.join(save, '%s-best.params' % TINY))
    assert all(np.isfinite(v.asnumpy()).all() for v in best.values())


def test_a_checkpoint_with_non_finite_values_is_not_resumed(tmp_path, cifar_dir, finished,
                                                            capsys):
    save, status = _finished_copy(tmp_path, finished)
    assert status == 0
    params = os.path.join(save, 'checkpoint-epoch0001', 'model.params')
    weights = mx.nd.load(params)
    key = sorted(k for k in weights if k.endswith('running_var'))[0]
    weights[key][0] = float('inf')
    mx.nd.save(params, weights)
    capsys.readouterr()
    _, status = _run(tmp_path, cifar_dir, '--resume-from', os.path.dirname(params))
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    assert 'holds non-finite values' in err[0] and 'running_var' in err[0]
    assert 'not resumed' in err[0]


# ---------------------------------------------------------------- a run folder is one run's
def _one_line_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('train_cifar.py: error: '), err
    return err[0]


def test_gpus_asked_for_and_not_there_are_refused_before_anything_is_written(tmp_path, capsys):
    """The README: more GPUs than MXNet sees is one line, not a run on the CPU."""
    wanted = mx.context.num_gpus() + 1
    save = tmp_path / 'run'
    assert main(['--dataset', 'digits', '--model', 'resnet8', '--num-gpus', str(wanted),
                 '--save-dir', str(save)]) == 2
    assert _one_line_error(capsys).endswith(
        '--num-gpus %d asked for, %d GPU(s) available to MXNet' % (wanted, wanted - 1))
    assert not save.exists()


def test_a_new_run_does_not_start_in_another_runs_folder(tmp_path, cifar_dir, finished,
                                                         capsys):
    save, status = _finished_copy(tmp_path, finished)
    assert status == 0
    before = {n: os.path.getmtime(os.path.join(save, n)) for n in os.listdir(save)}
    capsys.readouterr()
    _, status = _run(tmp_path, cifar_dir, '--lr', '0.02')
    err = _one_line_error(capsys)
    assert status == 2 and save in err and 'checkpoint-epoch0001' in err
    assert '--save-dir' in err and '--resume auto' in err and '--overwrite' in err
    assert {n: os.path.getmtime(os.path.join(save, n)) for n in os.listdir(save)} == before
    # asked to start over: the old checkpoints go, the new run's are its own
    (tmp_path / 'run' / 'my-notes.txt').write_text('mine')
    _, status = _run(tmp_path, cifar_dir, '--lr', '0.02', '--overwrite', '--num-epochs', '1')
    assert status == 0
    assert sorted(n for n in os.listdir(save) if n.startswith('checkpoint')) == \
        ['checkpoint-epoch0000']
    with open(os.path.join(save, 'checkpoint-epoch0000', 'meta.json')) as f:
        assert json.load(f)['settings']['lr'] == 0.02
    assert (tmp_path / 'run' / 'my-notes.txt').read_text() == 'mine'


@pytest.mark.parametrize('extra, fragment', [
    (['--lr', '0.001'], 'lr 0.001 (checkpoint: 0.05)'),
    (['--num-epochs', '1'], 'num_epochs 1 (checkpoint: 2)'),
    (['--model', 'se_resnet8'], "of another run (model 'se_resnet8' (checkpoint: "
                                "'ini_resnet8_mix5d'))"),
])
def test_a_resume_continues_the_checkpoints_run_or_is_refused(extra, fragment, tmp_path,
                                                              cifar_dir, finished, capsys):
    save, status = _finished_copy(tmp_path, finished)
    assert status == 0
    capsys.readouterr()
    _, status = _run(tmp_path, cifar_dir, '--resume', 'auto', *extra)
    err = _one_line_error(capsys)
    assert status == 2 and fragment in err
    assert len(_metrics(save)) == 2                   # the finished run is as it was


def test_another_name_of_the_same_network_continues_its_run(tmp_path, cifar_dir, capsys):
    save, status = _run(tmp_path, cifar_dir, '--model', 'resnet8')
    assert status == 0
    shutil.rmtree(os.path.join(save, 'checkpoint-epoch0001'))       # as if killed in epoch 1
    capsys.readouterr()
    # GluonCV's name of the pre-act CIFAR ResNet-8: the same network, the same run
    _, status = _run(tmp_path, cifar_dir, '--model', 'cifar_resnet8_v2', '--resume', 'auto')
    assert status == 0 and 'continuing at epoch 1' in capsys.readouterr().out
    assert [r['epoch'] for r in _metrics(save)] == [0, 1]
    with open(os.path.join(save, 'settings.json')) as f:
        s = json.load(f)
    assert (s['model'], s['model_name']) == ('resnet8', 'resnet8')   # its files keep their names
    assert not [n for n in os.listdir(save) if n.startswith('cifar_')]


def test_one_run_at_a_time_and_a_dead_runs_lock_does_not_block(tmp_path, cifar_dir, capsys):
    save = tmp_path / 'run'
    save.mkdir()
    lock = save / '.ini-gluon-rank0.lock'
    alive = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        lock.write_text('%d\n' % alive.pid)
        _, status = _run(tmp_path, cifar_dir)
        err = _one_line_error(capsys)
        assert status == 2 and 'in use by another run (process %d)' % alive.pid in err
        assert lock.read_text() == '%d\n' % alive.pid            # not taken
    finally:
        alive.kill()
        alive.wait()
    lock.write_text('%d\n' % alive.pid)                          # its process is gone now
    _, status = _run(tmp_path, cifar_dir, '--num-epochs', '1')
    assert status == 0 and not lock.exists()                      # taken over, then released


def test_outputs_have_the_umasks_permissions_and_old_checkpoints_can_go(tmp_path, cifar_dir):
    old = os.umask(0o022)
    try:
        save, status = _run(tmp_path, cifar_dir, '--num-epochs', '3', '--keep-checkpoints', '1')
    finally:
        os.umask(old)
    assert status == 0
    best = min(_metrics(save), key=lambda r: r['val_error'])['epoch']
    kept = sorted(n for n in os.listdir(save) if n.startswith('checkpoint-'))
    assert kept == sorted({'checkpoint-epoch0002', 'checkpoint-epoch%04d' % best})
    mode = lambda *p: oct(os.stat(os.path.join(save, *p)).st_mode & 0o777)  # noqa: E731
    assert mode('checkpoint-epoch0002') == '0o755'
    assert mode('checkpoint-epoch0002', 'model.params') == '0o644'
    assert mode('metrics.jsonl') == mode('%s-best.params' % TINY) == mode('train.log') == '0o644'


# ---------------------------------------------------------------- one line, not a traceback
def test_a_file_where_the_save_folder_should_be(tmp_path, cifar_dir, capsys):
    (tmp_path / 'run').write_text('a file')
    _, status = _run(tmp_path, cifar_dir)
    assert status == 2 and 'is a file, not a folder' in _one_line_error(capsys)
    assert (tmp_path / 'run').read_text() == 'a file'


def test_a_log_file_in_a_missing_folder(tmp_path, cifar_dir, capsys):
    log = str(tmp_path / 'missing' / 'train.log')
    _, status = _run(tmp_path, cifar_dir, '--logging-file', log)
    assert status == 2 and '%s: No such file or directory' % log in _one_line_error(capsys)


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, 'No space left on device', args[0] if args else None)


def test_a_full_disk_during_the_export_leaves_no_half_export(tmp_path, cifar_dir, finished,
                                                             capsys, monkeypatch):
    from ini_gluon.run import export as run_export
    save, status = _finished_copy(tmp_path, finished)     # a finished run and its exports
    assert status == 0
    earlier = _snapshot(os.path.join(save, 'export-final'))

    def half_export(path, *args, **kwargs):
        with open(path + '-symbol.json', 'w') as f:
            f.write('{"nodes": [')                  # what a full disk leaves
        _no_space(path + '-0000.params')
    monkeypatch.setattr(run_export, 'export_block', half_export)
    capsys.readouterr()
    _, status = _run(tmp_path, cifar_dir, '--resume', 'auto')     # exports it again
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1 and 'No space left on device' in err[0]
    assert _snapshot(os.path.join(save, 'export-final')) == earlier     # not half replaced
    left = os.listdir(save)
    assert not any(n.startswith('.ini-gluon-tmp-') for n in left + os.listdir(
        os.path.join(save, 'export-final'))), left
    assert 'checkpoint-epoch0001' in left                     # what was done is kept


def _snapshot(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), 'rb') as f:
            out[name] = f.read()
    return out


def test_a_full_disk_during_a_checkpoint_keeps_the_last_one(tmp_path, cifar_dir, capsys,
                                                            monkeypatch):
    from ini_gluon.run import checkpoint
    real, calls = checkpoint.save_optimizer, []

    def save_optimizer(trainer, path):
        calls.append(path)
        if len(calls) == 2:
            _no_space(path)
        return real(trainer, path)
    monkeypatch.setattr(checkpoint, 'save_optimizer', save_optimizer)
    save, status = _run(tmp_path, cifar_dir)
    assert status == 1 and 'No space left on device' in _one_line_error(capsys)
    left = sorted(os.listdir(save))
    assert 'checkpoint-epoch0000' in left and 'checkpoint-epoch0001' not in left
    assert not any(n.startswith('.ini-gluon-tmp-') for n in left), left


def test_debug_shows_the_traceback(tmp_path, cifar_dir):
    (tmp_path / 'run').write_text('a file')
    with pytest.raises(ValueError, match='is a file, not a folder'):
        _run(tmp_path, cifar_dir, '--debug')


def test_get_model_classes_must_be_positive():
    with pytest.raises(ValueError, match='classes must be a positive integer, not 0'):
        ig.get_model('resnet20', classes=0)


# ---------------------------------------------------------------- a distributed job fails whole
def _gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_launchers_argument_errors_are_one_line(capsys):
    from ini_gluon.training.launch import main as launch
    for argv, fragment in ((['-n', '0', '--', 'true'], '-n must be between 1 and 64'),
                           (['-n', '2'], 'give the worker command after --'),
                           (['-n', 'x', '--', 'true'], "invalid int value: 'x'")):
        with pytest.raises(SystemExit) as exit_:
            launch(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_.value.code == 2 and len(err) == 1 and fragment in err[0], err
