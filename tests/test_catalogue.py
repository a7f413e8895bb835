"""The catalogue of what a user can get wrong, one case per class of failure: each ends with its
exit code and one line on stderr, and leaves the run folder as it was (nothing lost, nothing
half-written, nothing written wrongly)."""
import os
import pickle

import mxnet as mx
import pytest

import datasets
from ini_gluon import compare
from ini_gluon.__main__ import main as info
from ini_gluon.training import main
from ini_gluon.training.launch import main as launch

TINY = 'ini_resnet8_mix5d'


@pytest.fixture(scope='module')
def cifar_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar')
    datasets.write_cifar_binary(str(root), classes=10, n_train=64, n_test=16)
    return str(root)


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory, cifar_dir):
    """A finished 1-epoch run, copied for each case that needs one."""
    save = str(tmp_path_factory.mktemp('finished') / 'run')
    assert main(_argv(cifar_dir, save)) == 0
    return save


def _argv(cifar_dir, save, *extra):
    return ['--model', TINY, '--dataset', 'cifar10', '--data-dir', cifar_dir, '--save-dir', save,
            '--batch-size', '16', '--num-epochs', '1', '--save-period', '1', '-j', '0'] + \
        list(extra)


def _copy(src, dst):
    import shutil
    shutil.copytree(src, dst)
    return dst


def _snapshot(folder):
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, 'rb') as f:
                found[os.path.relpath(path, folder)] = f.read()
    return found


# ---- the cases: (class, setup(tmp, cifar_dir, finished_run) -> (callable, folder or None),
# exit code, a fragment of the one line)
def _train(*extra, folder_from=None, prepare=None, data=None):
    def setup(tmp, cifar_dir, finished):
        save = _copy(finished, str(tmp / 'run')) if folder_from == 'finished' else \
            str(tmp / 'run')
        if prepare is not None:
            prepare(tmp, save)
        data_dir = data(tmp) if data is not None else cifar_dir
        return (lambda: main(_argv(data_dir, save, *extra))), \
            (save if os.path.exists(save) else None)
    return setup


def _nan_checkpoint(tmp, save):
    params = os.path.join(save, 'checkpoint-epoch0000', 'model.params')
    weights = mx.nd.load(params)
    key = sorted(weights)[0]
    weights[key][:] = float('nan')
    mx.nd.save(params, weights)


def _live_lock(tmp, save):
    os.makedirs(save, exist_ok=True)
    with open(os.path.join(save, '.ini-gluon-rank0.lock'), 'w') as f:
        f.write('%d\n' % os.getppid())            # pytest's parent: alive


def _crafted_pickle(tmp, save):
    folder = datasets.write_cifar_python(str(tmp / 'py'), n_train=10, n_test=3)

    class Payload(object):
        def __reduce__(self):
            return (os.mkdir, (str(tmp / 'payload-ran'),))
    with open(os.path.join(folder, 'data_batch_1'), 'wb') as f:
        pickle.dump({b'data': Payload(), b'labels': [0]}, f, protocol=2)


def _file_instead_of_folder(tmp, save):
    with open(save, 'w') as f:
        f.write('a file')


def _command(fn, *argv):
    def setup(tmp, cifar_dir, finished):
        return (lambda: fn(list(argv))), None
    return setup


CATALOGUE = [
    ('weights that are not numbers', 'a checkpoint holding NaN is not resumed',
     _train('--resume', 'auto', folder_from='finished', prepare=_nan_checkpoint), 2,
     'holds non-finite values'),
    ('a run folder belongs to one run', 'a new run into a finished run\'s folder',
     _train(folder_from='finished'), 2, 'holds another run\'s files'),
    ('a run folder belongs to one run', 'a resume that changes the learning rate',
     _train('--resume', 'auto', '--lr', '0.5', folder_from='finished'), 2,
     'lr 0.5 (checkpoint: 0.1)'),
    ('a run folder belongs to one run', 'a resume of another model',
     _train('--resume', 'auto', '--model', 'se_resnet8', folder_from='finished'), 2,
     'of another run'),
    ('a run folder belongs to one run', 'a second live run in the folder',
     _train(prepare=_live_lock), 2, 'in use by another run'),
    ('a distributed job fails whole', 'the launcher with no worker',
     _command(launch, '-n', '0', '--', 'true'), 2, '-n must be >= 1'),
    ('data files are data, never code', 'a crafted CIFAR python batch',
     _train(prepare=_crafted_pickle, data=lambda tmp: str(tmp / 'py')), 2,
     'refused, not created'),
    ('data files are data, never code', 'a data folder that is not there',
     _train('--data-dir', '/nonexistent/cifar'), 2, '/nonexistent/cifar'),
    ('one line instead of a traceback', 'a file given as the save folder',
     _train(prepare=_file_instead_of_folder), 2, 'is a file, not a folder'),
    ('one line instead of a traceback', 'a log file in a missing folder',
     _train('--logging-file', '/nonexistent/dir/train.log'), 2, 'No such file or directory'),
    ('one line instead of a traceback', '--lr-decay above 1',
     _train('--lr-decay', '1.5'), 2, '--lr-decay must be in (0, 1]'),
    ('one line instead of a traceback', '--drop-rate on a backbone without dropout',
     _train('--drop-rate', '0.3'), 2, 'has none'),
    ('one line instead of a traceback', '--mixup-alpha 0',
     _train('--mixup', '--mixup-alpha', '0'), 2, '--mixup-alpha must be a positive'),
    ('one line instead of a traceback', 'a negative seed', _train('--seed', '-1'), 2,
     '--seed must be >= 0'),
    ('one line instead of a traceback', 'python -m ini_gluon with a bad name',
     _command(info, 'ini_wrn28_10_mix9'), 2, 'unknown model name'),
    ('one line instead of a traceback', 'python -m ini_gluon.compare with a bad size',
     _command(compare.main, '--models', 'resnet8', '--batch-size', '0'), 2,
     '--batch-size must be >= 1'),
]


@pytest.mark.parametrize('kind, case, setup, code, fragment', CATALOGUE,
                         ids=[c[1] for c in CATALOGUE])
def test_catalogue(kind, case, setup, code, fragment, tmp_path, cifar_dir, finished_run,
                   capsys):
    run, folder = setup(tmp_path, cifar_dir, finished_run)
    before = _snapshot(folder) if folder and os.path.isdir(folder) else None
    try:
        status = run()
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert status == code, (case, err)
    assert len(err) == 1 and fragment in err[0], (case, err)
    if before is not None:
        assert _snapshot(folder) == before, case          # nothing lost or written
    assert not os.path.exists(str(tmp_path / 'payload-ran'))


def test_the_catalogue_covers_every_class():
    assert {c[0] for c in CATALOGUE} == {
        'weights that are not numbers', 'a run folder belongs to one run',
        'a distributed job fails whole', 'data files are data, never code',
        'one line instead of a traceback'}
