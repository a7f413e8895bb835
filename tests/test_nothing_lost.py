"""Nothing lost, round 2: no command changes a finished or live run's files but its own run;
no link is followed out of a run folder; an output folder's user files are kept; an
interrupted resume or start-over leaves no file that would label one course's weights as
another's; a failed write is one line."""
import json
import os
import shutil
import subprocess
import sys

import mxnet as mx
import pytest

import datasets
from ini_gluon import compare, evaluate, predict, seeds
from ini_gluon.export import main as export
from ini_gluon.run.checkpoint import best_record
from ini_gluon.run.trained import read_settings
from ini_gluon.training import loop, main

MODEL = 'ini_resnet8_mix5d'


@pytest.fixture(scope='module')
def cifar_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar')
    datasets.write_cifar_binary(str(root), classes=10, n_train=64, n_test=16)
    return str(root)


def _argv(cifar_dir, save, *extra):
    return ['--model', MODEL, '--dataset', 'cifar10', '--data-dir', cifar_dir, '--save-dir', save,
            '--batch-size', '16', '--num-epochs', '3', '--lr', '0.05', '--save-period', '1',
            '-j', '0'] + list(extra)


@pytest.fixture(scope='module')
def finished(tmp_path_factory, cifar_dir):
    """A finished 3-epoch run with a checkpoint of every epoch, copied by each test."""
    save = str(tmp_path_factory.mktemp('finished') / 'run')
    assert main(_argv(cifar_dir, save)) == 0
    return save


def _copy(run, folder):
    shutil.copytree(run, str(folder))
    return str(folder)


def _snapshot(folder):
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                found[os.path.relpath(path, folder)] = 'link to ' + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, 'rb') as f:
                    found[os.path.relpath(path, folder)] = f.read()
    return found


def _one_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def _dead_pid():
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    child.wait()
    return child.pid


def _interrupt_at(monkeypatch, epoch):
    """The run is interrupted (Ctrl-C) when it starts ``epoch``."""
    real = loop.train_one_epoch

    def train_one_epoch(state, e):
        if e == epoch:
            raise KeyboardInterrupt
        return real(state, e)
    monkeypatch.setattr(loop, 'train_one_epoch', train_one_epoch)


def test_reading_a_live_run_changes_none_of_its_files(finished, tmp_path, capsys):
    run = _copy(finished, tmp_path / 'run')
    os.remove(os.path.join(run, 'settings.json'))            # live: not finished yet
    writer = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        with open(os.path.join(run, '.ini-gluon-tmp-%d-metrics' % writer.pid), 'w') as f:
            f.write('being written')                           # the live run's temporary
        with open(os.path.join(run, '.ini-gluon-tmp-%d-best' % _dead_pid()), 'w') as f:
            f.write('left by a killed process')                # the run's to remove, not ours
        before = _snapshot(run)
        assert evaluate.main(['--save-dir', run, '--out', str(tmp_path / 'e')]) == 0
        assert predict.main([run, os.path.join(os.path.dirname(__file__), '..', 'docs',
                                               'examples')]) == 0
        assert export([run, '--out', str(tmp_path / 'x'), '--which', 'final']) == 0
        assert _snapshot(run) == before
    finally:
        writer.kill()
        writer.wait()


def test_a_resume_from_another_folder_into_a_run_is_refused(finished, tmp_path, cifar_dir,
                                                             capsys):
    other, run = _copy(finished, tmp_path / 'other'), _copy(finished, tmp_path / 'run')
    before = _snapshot(run)
    status = main(_argv(cifar_dir, run, '--resume-from',
                        os.path.join(other, 'checkpoint-epoch0001')))
    line = _one_line(capsys)
    assert status == 2 and 'holds a run' in line and \
        'checkpoint %s is of another folder' % os.path.join(other, 'checkpoint-epoch0001') in line
    assert _snapshot(run) == before


def test_a_link_named_like_a_checkpoint_is_never_followed(finished, tmp_path, cifar_dir, capsys):
    outside = tmp_path / 'outside'
    outside.mkdir()
    for name in ('model.params', 'optimizer.params', 'meta.json', 'trainer.states'):
        (outside / name).write_text('the user\'s ' + name)
    kept = _snapshot(str(outside))
    run = _copy(finished, tmp_path / 'run')
    os.symlink(str(outside), os.path.join(run, 'checkpoint-epoch0007'))
    assert main(_argv(cifar_dir, run, '--num-epochs', '1', '--overwrite')) == 0
    assert main(_argv(cifar_dir, run, '--num-epochs', '2', '--keep-checkpoints', '1',
                      '--overwrite')) == 0
    assert _snapshot(str(outside)) == kept                    # nothing removed through it
    assert os.path.islink(os.path.join(run, 'checkpoint-epoch0007'))
    # --keep-checkpoints 1 kept the newest (and best) of the two epochs, and the link
    assert sorted(n for n in os.listdir(run) if n.startswith('checkpoint-epoch')) == [
        'checkpoint-epoch0001', 'checkpoint-epoch0007']


def test_an_export_through_a_link_writes_into_the_folder_it_names(finished, tmp_path):
    target = tmp_path / 'exports'
    target.mkdir()
    os.symlink(str(target), str(tmp_path / 'latest'))
    assert export([finished, '--out', str(tmp_path / 'latest')]) == 0
    assert os.path.islink(str(tmp_path / 'latest'))
    assert 'model.json' in os.listdir(str(target))


def test_an_output_folder_keeps_the_users_files(finished, tmp_path, capsys):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'evaluation.md').write_text('my notes')
    assert evaluate.main(['--save-dir', finished, '--out', str(out)]) == 2
    assert 'holds evaluation.md, not written there by this command' in _one_line(capsys)
    assert os.listdir(str(out)) == ['evaluation.md'] and \
        (out / 'evaluation.md').read_text() == 'my notes'
    mine = tmp_path / 'mine'
    for _ in range(2):                  # its own outputs it replaces
        assert evaluate.main(['--save-dir', finished, '--out', str(mine)]) == 0
    (mine / 'evaluation.json').write_text('edited')          # changed since: the user's now
    assert evaluate.main(['--save-dir', finished, '--out', str(mine)]) == 2
    assert 'holds evaluation.json' in _one_line(capsys)
    (out / 'table.md').write_text('my table')
    assert seeds.main(['table', os.path.dirname(finished), '--out', str(out)]) == 2
    assert 'holds table.md' in _one_line(capsys)
    (out / 'compare.png').write_text('my picture')
    assert compare.main(['--models', MODEL, '--out', str(out), '--repeats', '1']) == 2
    assert 'holds compare.png' in _one_line(capsys)
    assert (out / 'table.md').read_text() == 'my table'


def test_an_interrupted_resume_labels_no_weights_of_the_course_it_left(
        finished, tmp_path, cifar_dir, monkeypatch, capsys):
    run = _copy(finished, tmp_path / 'run')
    _interrupt_at(monkeypatch, 2)
    status = main(_argv(cifar_dir, run, '--resume-from',
                        os.path.join(run, 'checkpoint-epoch0000')))
    assert status == 130 and 'interrupted' in _one_line(capsys)
    left = os.listdir(run)
    # the epochs after the one resumed are of the course left: gone, and so is its end
    assert 'checkpoint-epoch0002' not in left and 'checkpoint-epoch0001' in left
    assert not {'settings.json', 'export-final', 'export-best'} & set(left)
    record = best_record(run, MODEL)
    assert record is None or record['epoch'] <= 1
    assert evaluate.main(['--save-dir', run, '--which', 'final', '--out', str(tmp_path / 'e')]) \
        == 0 and 'final weights (epoch 1)' in capsys.readouterr().out


def test_an_interrupted_start_over_leaves_nothing_of_the_earlier_run(
        finished, tmp_path, cifar_dir, monkeypatch, capsys):
    run = _copy(finished, tmp_path / 'run')
    _interrupt_at(monkeypatch, 1)
    assert main(_argv(cifar_dir, run, '--overwrite', '--lr', '0.02')) == 130
    left = os.listdir(run)
    assert not {'settings.json', 'export-final', 'export-best', 'checkpoint-epoch0001',
                'checkpoint-epoch0002'} & set(left)
    assert read_settings(run).lr == 0.02                     # the new run's, from its checkpoint
    assert best_record(run, MODEL)['epoch'] == 0
    with open(os.path.join(run, 'metrics.jsonl')) as f:
        assert [json.loads(line)['epoch'] for line in f] == [0]


def test_a_write_mxnet_cannot_finish_is_one_line(tmp_path, cifar_dir, monkeypatch, capsys):
    def save(path, data):
        raise mx.base.MXNetError('Check failed: FileStream.Write incomplete')
    monkeypatch.setattr(mx.nd, 'save', save)
    assert main(_argv(cifar_dir, str(tmp_path / 'run'), '--num-epochs', '1')) == 1
    line = _one_line(capsys)
    assert 'MXNet could not write it (Check failed: FileStream.Write incomplete)' in line
    assert not [n for n in os.listdir(str(tmp_path / 'run')) if n.startswith('.ini-gluon-tmp')]


def test_a_full_log_device_is_one_line(tmp_path, cifar_dir, capsys):
    assert main(_argv(cifar_dir, str(tmp_path / 'run'), '--logging-file', '/dev/full')) == 1
    assert _one_line(capsys).endswith('/dev/full: No space left on device')


def test_a_crafted_model_name_names_no_file_of_another_folder(finished, tmp_path, cifar_dir):
    """--overwrite removes the earlier run's files by the name they carry: a settings.json
    whose model_name leads out of the folder names none there."""
    victim = tmp_path / 'victim-best.params'
    victim.write_text('the user\'s')
    run = _copy(finished, tmp_path / 'run')
    with open(os.path.join(run, 'settings.json')) as f:
        s = json.load(f)
    with open(os.path.join(run, 'settings.json'), 'w') as f:
        json.dump(dict(s, model_name='../victim'), f)
    assert main(_argv(cifar_dir, run, '--num-epochs', '1', '--overwrite')) == 0
    assert victim.read_text() == 'the user\'s'


def test_the_same_command_again_after_a_run_stopped_in_its_first_epoch(tmp_path, cifar_dir,
                                                                     monkeypatch, capsys):
    """A run stopped in its first epoch leaves its log and its tables of epochs, with no epoch
    in them: the same command again trains, not refused as another run's folder."""
    save = str(tmp_path / 'run')
    _interrupt_at(monkeypatch, 0)
    assert main(_argv(cifar_dir, save, '--num-epochs', '1')) == 130
    with open(os.path.join(save, 'summary.csv')) as f:
        assert f.read().split() == ['epoch']                # the table's header, no row
    monkeypatch.undo()
    capsys.readouterr()
    assert main(_argv(cifar_dir, save, '--num-epochs', '1')) == 0, capsys.readouterr().err


def test_seeds_launch_starts_over_a_run_stopped_before_its_first_checkpoint(finished, tmp_path):
    """A run stopped before its first checkpoint leaves metrics and best weights, nothing to
    resume: the same command again starts it over (--overwrite), not refused by its new run."""
    folder = _copy(finished, tmp_path / 'runs' / MODEL / 'seed-1')
    for name in os.listdir(folder):
        if name.startswith(('checkpoint-', 'export-')) or name == 'settings.json':
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
            if os.path.isfile(os.path.join(folder, name)):
                os.remove(os.path.join(folder, name))
    extra = ['--dataset', 'cifar10', '--data-dir', 'unused', '--batch-size', '16',
             '--num-epochs', '3', '--lr', '0.05', '--save-period', '1']
    run, = seeds.plan([MODEL], [1], str(tmp_path / 'runs'), extra)
    assert run.state == 'new' and '--overwrite' in run.argv


def test_a_reader_of_stdout_gone_ends_a_command_quietly(capsys):
    from ini_gluon._argparse import run_command

    def body():
        raise BrokenPipeError(32, 'Broken pipe')
    assert run_command('prog', False, body) == 141
    assert capsys.readouterr().err == ''


def test_an_export_mxnet_cannot_write_is_one_line(finished, tmp_path, monkeypatch, capsys):
    from ini_gluon.run import export as run_export

    def failed(*args, **kwargs):          # MXNet's save on a full disk
        raise mx.base.MXNetError('Traceback (most recent call last):')
    monkeypatch.setattr(run_export, 'export_block', failed)
    assert export([finished, '--out', str(tmp_path / 'x')]) == 1
    line = _one_line(capsys)
    assert 'MXNet could not write it' in line or 'No space left on device' in line
    assert not os.path.exists(str(tmp_path / 'x'))


def test_a_checkpoint_of_another_run_copied_in_is_refused(finished, tmp_path, capsys):
    """A checkpoint whose settings are not the run's (another run's, copied in; here its
    learning rate) is not labelled as the run's epoch."""
    run = _copy(finished, tmp_path / 'run')
    meta_path = os.path.join(run, 'checkpoint-epoch0001', 'meta.json')
    with open(meta_path) as f:
        meta = json.load(f)
    meta['settings']['lr'] = 0.2
    with open(meta_path, 'w') as f:
        json.dump(meta, f)
    assert evaluate.main(['--save-dir', run, '--which', '1', '--out', str(tmp_path / 'e')]) == 2
    assert 'is not of this run: lr 0.2 (the run\'s: 0.05)' in _one_line(capsys)
    assert evaluate.main(['--save-dir', run, '--which', '2', '--out', str(tmp_path / 'e')]) == 0


def test_an_image_cut_short_is_refused(finished, tmp_path, capsys):
    """OpenCV decodes a truncated JPEG without an error, its missing part grey: predict refuses
    it rather than classify what is not the image."""
    from PIL import Image
    import numpy as np
    whole = tmp_path / 'whole.jpg'
    Image.fromarray((np.random.RandomState(0).rand(32, 32, 3) * 255).astype('uint8')).save(
        str(whole), quality=90)
    cut = tmp_path / 'cut.jpg'
    cut.write_bytes(whole.read_bytes()[:len(whole.read_bytes()) // 2])
    assert predict.main([finished, str(whole)]) == 0
    capsys.readouterr()
    assert predict.main([finished, str(cut)]) == 2
    assert "cut.jpg' is damaged (image file is truncated" in _one_line(capsys)
