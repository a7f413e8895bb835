"""The catalogue of what a user can get wrong, one case per class of failure: each ends with its
exit code and one line on stderr, and leaves the run folder as it was (nothing lost, nothing
half-written, nothing written wrongly)."""
import json
import os
import pickle

import mxnet as mx
import pytest

import datasets
from ini_gluon.run.files import digest
from ini_gluon import compare, evaluate, export, memory, predict, seeds, tables, visualize
from ini_gluon.__main__ import main as info
from ini_gluon.training import main, main_imagenet
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


def _on_run(fn, prepare, *argv):
    """A command on a copy of the finished run, damaged by ``prepare(tmp, run)`` first;
    ``{run}`` and ``{tmp}`` in ``argv`` are the copy and the case's folder."""
    def setup(tmp, cifar_dir, finished):
        save = _copy(finished, str(tmp / 'run'))
        prepare(tmp, save)
        args = [a.replace('{run}', save).replace('{tmp}', str(tmp)) for a in argv]
        return (lambda: fn(args)), save
    return setup


def _write(name, text):
    def prepare(tmp, save):
        with open(os.path.join(save, name), 'wb') as f:
            f.write(text if isinstance(text, bytes) else text.encode())
    return prepare


def _earlier_run(prepare):
    """``prepare``, on a run of an earlier version: no record of its best weights, whose epoch
    is then that of metrics.jsonl."""
    def earlier(tmp, save):
        os.remove(os.path.join(save, TINY + '-best.json'))
        prepare(tmp, save)
    return earlier


def _edit_meta(change):
    def prepare(tmp, save):
        os.remove(os.path.join(save, 'settings.json'))      # the checkpoint's settings are read
        path = os.path.join(save, 'checkpoint-epoch0000', 'meta.json')
        with open(path) as f:
            text = f.read()
        with open(path, 'w') as f:
            f.write(change(text))
    return prepare


def _set_weight(value, key=None):
    """Set one array of the run's best parameters (the first, or ``key``) to ``value``; an
    image file beside the run for predict."""
    def prepare(tmp, save):
        path = os.path.join(save, '%s-best.params' % TINY)
        weights = mx.nd.load(path)
        weights[key or sorted(weights)[0]][:] = value
        mx.nd.save(path, weights)
        _record_as_the_runs(save, path)
        _png(str(tmp / 'image.png'))
    return prepare


def _record_as_the_runs(save, params):
    """The best weights' record made to describe ``params`` (as if the run had written them)."""
    record = os.path.join(save, '%s-best.json' % TINY)
    with open(record) as f:
        found = json.load(f)
    with open(record, 'w') as f:
        json.dump(dict(found, sha1=digest(params)), f)


def _two_runs_and_a_file(tmp, save):
    """A second copy of the run (the same seed twice: the table would warn) and a file."""
    _copy(save, str(tmp / 'run2'))
    open(str(tmp / 'f'), 'w').close()


def _png(path):
    from PIL import Image
    Image.new('RGB', (32, 32)).save(path)


def _newline_class(tmp, save):
    from PIL import Image
    for split in ('train', 'val'):
        for name in ('cat', 'dog\nbird'):
            folder = tmp / 'tree' / split / name
            folder.mkdir(parents=True)
            for i in range(2):
                Image.new('RGB', (40, 40), (40 * i, 90, 200)).save(str(folder / ('%d.jpg' % i)))


def _records(labels, truncate=None):
    def prepare(tmp, save):
        for split in ('train', 'val'):
            rec, _ = datasets.write_records(tmp / split, labels)
            if truncate and split == 'train':
                with open(rec, 'r+b') as f:
                    f.truncate(os.path.getsize(rec) - truncate)
    return prepare


def _imagenet(prepare, *extra):
    def setup(tmp, cifar_dir, finished):
        prepare(tmp, None)
        argv = ['--model', 'ini_resnet18_v2_mix5d_spa', '--input-size', '32', '--batch-size',
                '2', '--num-epochs', '1', '--save-dir', str(tmp / 'run'), '-j', '1'] + [
                    a.replace('{tmp}', str(tmp)) for a in extra]
        return (lambda: main_imagenet(argv)), None
    return setup


def _link(name):
    """A link ``name`` in the (new) run folder to a folder and a file outside it."""
    def prepare(tmp, save):
        os.makedirs(save, exist_ok=True)
        (tmp / 'outside').mkdir()
        (tmp / 'outside' / 'notes.txt').write_text('the user\'s')
        target = tmp / 'outside' / ('notes.txt' if '.' in name else '')
        os.symlink(str(target), os.path.join(save, name))
    return prepare


def _truncated_png(tmp, save):
    _png(str(tmp / 'image.png'))
    with open(str(tmp / 'image.png'), 'r+b') as f:
        f.truncate(60)


def _checkpoint_weights_changed(tmp, save):
    path = os.path.join(save, 'checkpoint-epoch0000', 'model.params')
    weights = mx.nd.load(path)
    weights[sorted(weights)[0]][:] += 1
    mx.nd.save(path, weights)


def _checkpoint_copied(tmp, save):
    import shutil
    shutil.copytree(os.path.join(save, 'checkpoint-epoch0000'),
                    os.path.join(save, 'checkpoint-epoch0003'))


def _seeds_folder_a_file(tmp, cifar_dir, finished):
    (tmp / 'runs' / TINY).mkdir(parents=True)
    (tmp / 'runs' / TINY / 'seed-1').write_text('a file')
    return (lambda: seeds.main(['launch', '--models', TINY, '--seeds', '1', '--out',
                                str(tmp / 'runs'), '--dataset', 'digits'])), None


class _FullStdout(object):
    """A stdout on a full device."""
    encoding = 'utf-8'

    def write(self, text):
        raise OSError(28, 'No space left on device')

    def flush(self):
        pass


def _stdout_full(fn, *argv):
    def setup(tmp, cifar_dir, finished):
        def run():
            import sys
            saved, sys.stdout = sys.stdout, _FullStdout()
            try:
                return fn([a.replace('{tmp}', str(tmp)) for a in argv])
            finally:
                sys.stdout = saved
        return run, None
    return setup


_REC = ['--use-rec', '--rec-train', '{tmp}/train.rec', '--rec-train-idx', '{tmp}/train.idx',
        '--rec-val', '{tmp}/val.rec', '--rec-val-idx', '{tmp}/val.idx']
_DEEP = '[' * 100000 + ']' * 100000


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
     _command(launch, '-n', '0', '--', 'true'), 2, '-n must be between 1 and 64'),
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
    # a run folder's JSON files, damaged or crafted
    ('a run folder\'s JSON is read strictly', 'evaluate: settings.json nested 100,000 deep',
     _on_run(evaluate.main, _write('settings.json', _DEEP), '--save-dir', '{run}'), 2,
     'settings.json is not valid JSON (nested too deeply)'),
    ('a run folder\'s JSON is read strictly', 'predict: settings.json not UTF-8',
     _on_run(predict.main, _write('settings.json', b'{"model": "\xff"}'), '{run}', '{run}'), 2,
     'settings.json is not UTF-8 text'),
    ('a run folder\'s JSON is read strictly', 'export: a checkpoint epoch Infinity',
     _on_run(export.main, _edit_meta(lambda t: t.replace('"epoch": 0', '"epoch": Infinity')),
             '{run}', '--which', 'final', '--out', '{tmp}/x'), 2,
     'Infinity is not a number JSON allows'),
    ('a run folder\'s JSON is read strictly', 'evaluate: a checkpoint epoch 1.5',
     _on_run(evaluate.main, _edit_meta(lambda t: t.replace('"epoch": 0', '"epoch": 1.5')),
             '--save-dir', '{run}', '--which', '0'), 2, 'its epoch is 1.5, expected an integer'),
    ('a run folder\'s JSON is read strictly', 'visualize: a metrics epoch NaN',
     _on_run(visualize.main, _earlier_run(_write('metrics.jsonl',
                                                 '{"epoch": NaN, "val_error": 0.5}\n')),
             'gradcam', '--save-dir', '{run}', '--out', '{tmp}/g.png'), 2,
     'metrics.jsonl, line 1: not a metrics row'),
    ('a run folder\'s JSON is read strictly', 'compare: a mean of 1e999 in settings.json',
     _on_run(compare.main, lambda tmp, save: _write('settings.json', open(
         os.path.join(save, 'settings.json')).read().replace('"mean": [', '"mean": [1e999, '))(
         tmp, save), '--models', TINY, '--save-dirs', '{run}', '--out', '{tmp}/c'), 2,
     '1e999 is too large a number'),
    ('a run folder\'s JSON is read strictly', 'train --resume: meta.json is a list',
     _train('--resume', 'auto', folder_from='finished', prepare=lambda tmp, save: _write(
         os.path.join('checkpoint-epoch0000', 'meta.json'), '[]')(tmp, save)), 2,
     'holds a JSON array, expected a JSON object'),
    ('a run folder\'s JSON is read strictly', 'export over a folder with a deep model.json',
     _on_run(export.main, lambda tmp, save: (os.makedirs(str(tmp / 'x')), _write(
         'model.json', _DEEP)(tmp, str(tmp / 'x'))), '{run}', '--out', '{tmp}/x'), 2,
     'holds files that are not an earlier export'),
    ('a run folder\'s JSON is read strictly', 'predict: 10**9 classes in settings.json',
     _on_run(predict.main, lambda tmp, save: _write('settings.json', open(
         os.path.join(save, 'settings.json')).read().replace('"num_classes": 10',
                                                             '"num_classes": 1000000000'))(
         tmp, save), '{run}', '{run}'), 2, 'num_classes is 1000000000, expected 1 to'),
    # weights that give no result
    ('weights that are not numbers', 'evaluate of best weights holding NaN',
     _on_run(evaluate.main, _set_weight(float('nan')), '--save-dir', '{run}'), 2,
     '-best.params holds non-finite values'),
    ('weights that are not numbers', 'predict of best weights holding infinity',
     _on_run(predict.main, _set_weight(float('inf')), '{run}', '{tmp}/image.png'), 2,
     '-best.params holds non-finite values'),
    ('weights that are not numbers', 'export of best weights holding NaN',
     _on_run(export.main, _set_weight(float('nan')), '{run}', '--out', '{tmp}/x'), 2,
     '-best.params holds non-finite values'),
    ('weights that are not numbers', 'visualize of best weights holding NaN',
     _on_run(visualize.main, _set_weight(float('nan')), 'maps', '--save-dir', '{run}', '--out',
             '{tmp}/m.png'), 2, '-best.params holds non-finite values'),
    ('weights that are not numbers', 'compare\'s accuracy of best weights holding NaN',
     _on_run(compare.main, _set_weight(float('nan')), '--models', TINY, '--save-dirs', '{run}',
             '--repeats', '1', '--iters', '1', '--out', '{tmp}/c'), 2,
     '-best.params holds non-finite values'),
    ('weights that are not numbers', 'evaluate of finite weights whose output overflows',
     _on_run(evaluate.main, _set_weight(3e38, 'output.weight'), '--save-dir', '{run}'), 2,
     'NaN or infinity for 16 of 16 images'),
    ('weights that are not numbers', 'predict of finite weights whose output overflows',
     _on_run(predict.main, _set_weight(3e38, 'output.weight'), '{run}', '{tmp}/image.png'), 2,
     'NaN or infinity for 1 of 1 images'),
    ('weights that are not numbers', 'export of finite weights whose output overflows',
     _on_run(export.main, _set_weight(3e38, 'output.weight'), '{run}', '--out', '{tmp}/x'), 2,
     'the output on the verification batch'),
    ('weights that are not numbers', 'visualize gradcam of weights whose output overflows',
     _on_run(visualize.main, _set_weight(3e38, 'output.weight'), 'gradcam', '--save-dir',
             '{run}', '--out', '{tmp}/g.png'), 2, 'the class probabilities of'),
    ('weights that are not numbers', 'evaluate of a negative BatchNorm variance',
     _on_run(evaluate.main, _set_weight(-1.0, 'features.0.running_var'), '--save-dir', '{run}'),
     2, 'holds negative BatchNorm variances'),
    # RecordIO files
    ('RecordIO files are checked before MXNet reads them', 'train_imagenet.py on a truncated .rec',
     _imagenet(_records([0, 1, 0, 1], truncate=100), '--classes', '2', *_REC), 2,
     'record 3 (byte'),
    ('RecordIO files are checked before MXNet reads them', 'a label above --classes',
     _imagenet(_records([0, 1, 2, 1]), '--classes', '2', *_REC), 2,
     'has the label 2, outside 0..1 (2 classes)'),
    ('RecordIO files are checked before MXNet reads them', 'a negative label',
     _imagenet(_records([0, -1, 1, 1]), '--classes', '2', *_REC), 2,
     'has the label -1, outside 0..1'),
    ('RecordIO files are checked before MXNet reads them', 'a label that is not an integer',
     _imagenet(_records([0, 1, 0.5, 1]), '--classes', '2', *_REC), 2,
     'has the label 0.5, which is not a class number'),
    # class names an export writes one per line
    ('class names are written one per line', 'an image-folder class with a newline',
     _imagenet(_newline_class, '--classes', '2', '--data-dir', '{tmp}/tree'), 2,
     'class folder \'dog\\nbird\''),
    # counts beyond any run
    ('counts beyond any run are refused', 'train_cifar.py --num-epochs 10**9 --dry-run',
     _train('--num-epochs', '1000000000', '--dry-run'), 2,
     '--num-epochs must be at most 100000'),
    ('counts beyond any run are refused', 'train_imagenet.py --classes 10**9',
     _imagenet(lambda tmp, save: None, '--classes', '1000000000', '--dry-run'), 2,
     '--classes must be at most 100000'),
    ('counts beyond any run are refused', 'train_cifar.py -j 10**6',
     _train('-j', '1000000'), 2, '-j must be at most 256'),
    ('counts beyond any run are refused', 'python -m ini_gluon.memory --batch 10**9',
     _command(memory.main, 'resnet8', '--batch', '1000000000'), 2,
     '--batch must be from 1 to 4096'),
    ('counts beyond any run are refused', 'python -m ini_gluon.compare --repeats 10**9',
     _command(compare.main, '--models', 'resnet8', '--repeats', '1000000000'), 2,
     '--repeats must be at most 1000'),
    ('counts beyond any run are refused', 'python -m ini_gluon.evaluate --batch-size 10**12',
     _on_run(evaluate.main, lambda tmp, save: None, '--save-dir', '{run}', '--batch-size',
             '1000000000000'), 2, 'must be at most 4096'),
    # the machine's limits
    ('out of memory is one line, exit 1', 'python -m ini_gluon.memory beyond 2^31 elements',
     _command(memory.main, 'resnet8', '--batch', '4096', '--size', '2048'), 1,
     'out of memory building resnet8 at batch 4096'),
    ('out of memory is one line, exit 1', 'python -m ini_gluon.compare beyond 2^31 elements',
     _command(compare.main, '--models', 'resnet8', '--batch-size', '4096', '--input-size',
              '2048', '--out', '/nonexistent/never-written'), 1,
     'out of memory building resnet8 at batch 4096'),
    # found by the adversarial catalogue
    ('one line instead of a traceback', 'predict: a truncated PNG',
     _on_run(predict.main, _truncated_png, '{run}', '{tmp}/image.png'), 2,
     'cannot be decoded'),
    ('one line instead of a traceback', 'tables: an unknown option',
     _command(tables.main, '--bogus'), 2, 'unrecognized arguments: --bogus'),
    ('one line instead of a traceback', 'python -m ini_gluon with stdout on a full device',
     _stdout_full(info, 'resnet8'), 1, 'No space left on device'),
    ('one line instead of a traceback', 'train_cifar.py with stdout on a full device',
     _stdout_full(main, '--dataset', 'digits', '--model', 'resnet8', '--num-epochs', '1',
                  '--save-dir', '{tmp}/run'), 1, '<stdout>: No space left on device'),
    ('one line instead of a traceback', 'train_cifar.py: a --save-dir that is not UTF-8',
     _command(main, '--dataset', 'digits', '--model', 'resnet8', '--save-dir',
              '/nonexistent/\udcffrun', '--dry-run'), 2, 'is not UTF-8 text'),
    ('one line instead of a traceback', 'export: an --out that is not UTF-8',
     _on_run(export.main, lambda tmp, save: None, '{run}', '--out', '{tmp}/\udcfeexport'), 2,
     'udcfeexport is not UTF-8 text'),
    ('one line instead of a traceback', 'predict: an image whose name is not UTF-8',
     _on_run(predict.main, lambda tmp, save: _png(str(tmp / '\udcffimage.png')), '{run}',
             '{tmp}/\udcffimage.png'), 2, 'udcffimage.png is not UTF-8 text'),
    ('one line instead of a traceback', 'seeds table: an --out that is a file',
     _on_run(seeds.main, _two_runs_and_a_file, 'table', '{run}', '{tmp}/run2', '--out',
             '{tmp}/f'), 2, 'is a file, not a folder'),
    ('counts beyond any run are refused', 'memory: an input of 1x1',
     _command(memory.main, 'resnet8', '--size', '1'), 2, '--size must be from 32 to'),
    ('a run folder belongs to one run', 'a new run: a link named like its first checkpoint',
     _train(prepare=_link('checkpoint-epoch0000')), 2,
     'holds links named like files the run writes (checkpoint-epoch0000)'),
    ('a run folder belongs to one run', 'a new run: train.log a link to a file outside',
     _train(prepare=_link('train.log')), 2,
     'holds links named like files the run writes (train.log)'),
    ('a run folder belongs to one run', 'seeds launch: a run folder that is a file',
     _seeds_folder_a_file, 2, 'is a file, not a folder'),
    ('weights that are not numbers', 'evaluate: a checkpoint\'s weights replaced by hand',
     _on_run(evaluate.main, _checkpoint_weights_changed, '--save-dir', '{run}', '--which',
             'final'), 2, 'model.params is not the file the run wrote there'),
    ('weights that are not numbers', 'predict: a checkpoint copied under another epoch',
     _on_run(predict.main, _checkpoint_copied, '{run}', '{run}', '--which', '0'), 2,
     'holds the checkpoint of epoch 0 (its meta.json): renamed or copied by hand'),
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
        'one line instead of a traceback', 'a run folder\'s JSON is read strictly',
        'RecordIO files are checked before MXNet reads them',
        'class names are written one per line', 'counts beyond any run are refused',
        'out of memory is one line, exit 1'}
