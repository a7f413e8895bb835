"""train_imagenet.py on a tiny JPEG tree written here: RecordIO (packed as MXNet's im2rec packs) and
ImageFolder paths, the paper preset, and clear errors."""
import json
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

from ini_gluon import evaluate, get_model, predict
from ini_gluon.run.trained import open_run, read_image
from ini_gluon.training import main_imagenet
from ini_gluon.data.imagenet import FolderStream
from ini_gluon.run.settings import to_json
from ini_gluon.training.imagenet import build_parser, resolve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = 'ini_resnet18_v2_mix5d_spa'


@pytest.fixture(scope='module')
def image_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('imagenet')
    rng = np.random.RandomState(0)
    for split, n in (('train', 8), ('val', 3)):
        for c in range(3):
            folder = root / 'tree' / split / ('class%d' % c)
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = np.clip(rng.normal(60 + 60 * c, 30, (40, 48, 3)), 0, 255)
                Image.fromarray(pixels.astype('uint8')).save(str(folder / ('%d.jpg' % i)))
    for split in ('train', 'val'):
        _pack(root / 'tree' / split, root / split)
    return root


def _pack(folder, prefix):
    """``prefix``.rec / .idx of the images under ``folder``, labelled by their sorted class
    folders: what ``im2rec.py --list --recursive`` then ``im2rec.py`` write (its records:
    the image read by OpenCV, JPEG at quality 95, by MXNet's own ``pack_img``), without two
    processes of MXNet's per split."""
    import cv2
    record = mx.recordio.MXIndexedRecordIO(str(prefix) + '.idx', str(prefix) + '.rec', 'w')
    items = [(label, os.path.join(str(folder), name, image))
             for label, name in enumerate(sorted(os.listdir(str(folder))))
             for image in sorted(os.listdir(os.path.join(str(folder), name)))]
    for index, (label, path) in enumerate(items):
        header = mx.recordio.IRHeader(0, float(label), index, 0)
        record.write_idx(index, mx.recordio.pack_img(header, cv2.imread(path), quality=95,
                                                     img_fmt='.jpg'))
    record.close()


def _rec_args(root):
    return ['--use-rec', '--rec-train', str(root / 'train.rec'), '--rec-train-idx',
            str(root / 'train.idx'), '--rec-val', str(root / 'val.rec'), '--rec-val-idx',
            str(root / 'val.idx')]


def _small(save):
    return ['--model', MODEL, '--input-size', '32', '--classes', '3', '--batch-size', '4',
            '--num-epochs', '1', '--save-dir', save, '-j', '1']


def _check_run(save):
    with open(os.path.join(save, 'metrics.jsonl')) as f:
        rows = [json.loads(line) for line in f]
    assert [r['epoch'] for r in rows] == [0]
    assert 0 <= rows[0]['val_top5_error'] <= rows[0]['val_error'] <= 1
    assert np.isfinite(rows[0]['loss'])
    folder = os.path.join(save, 'export-final')
    exported = mx.gluon.SymbolBlock.imports(os.path.join(folder, MODEL + '-symbol.json'),
                                            ['data'])
    exported.load_parameters(os.path.join(folder, MODEL + '-0000.params'))
    assert exported(mx.nd.zeros((2, 3, 32, 32))).shape == (2, 3)
    with open(os.path.join(folder, 'model.json')) as f:
        info = json.load(f)
    assert info['input']['shape'] == [2, 3, 32, 32] or info['input']['shape'][1:] == [3, 32, 32]
    assert 'resize the shorter side to 37, crop the centre 32x32' in info['preprocessing']['resize']
    for name in ('checkpoint-epoch0000', MODEL + '_history.png', 'train.log'):
        assert os.path.exists(os.path.join(save, name)), name


def test_one_epoch_on_recordio(image_data, tmp_path):
    save = str(tmp_path / 'rec')
    assert main_imagenet(_rec_args(image_data) + _small(save)) == 0
    _check_run(save)
    with open(os.path.join(save, 'train.log')) as f:
        assert '24 training samples' in f.read()
    _check_evaluation(save, tmp_path, ['0', '1', '2'])      # RecordIO: label numbers only


def test_one_epoch_on_image_folders(image_data, tmp_path, capsys):
    save = str(tmp_path / 'folder')
    assert main_imagenet(['--data-dir', str(image_data / 'tree')] + _small(save)) == 0
    _check_run(save)
    _check_evaluation(save, tmp_path, ['class0', 'class1', 'class2'])
    # predict: the validation transform of the run (resize the shorter side to 37, centre crop
    # 32, ImageNet's mean and std), checked against the run's own validation batches
    image = str(image_data / 'tree' / 'val' / 'class0' / '0.jpg')
    capsys.readouterr()
    assert predict.main([save, image, '--json']) == 0
    top = json.loads(capsys.readouterr().out)[0]['top']
    with open(os.path.join(save, 'settings.json')) as f:
        s = json.load(f)
    stream = FolderStream(str(image_data / 'tree' / 'val'), 1, False, 32, s['crop_ratio'], 1, 0,
                          1, 0)
    data, _ = next(iter(stream.epoch(0)))              # class0/0.jpg comes first
    # the input predict builds is the validation batch's (float rounding only: it subtracts
    # 255 * mean where the stream divides by 255 first) ...
    trained = open_run(save, 'best')
    mine = trained.preprocessing.normalise(
        mx.nd.stack(trained.preprocessing.raw(read_image(image))))
    np.testing.assert_allclose(mine.asnumpy(), data.asnumpy(), rtol=0, atol=1e-5)
    # ... and its probabilities are the network's on that batch; the tolerance is float noise
    # through a trained network (CI's CPU gave 3.7e-6 on 0.015)
    net = get_model(MODEL, classes=3)
    net.load_parameters(os.path.join(save, MODEL + '-best.params'))
    expected = mx.nd.softmax(net(data)).asnumpy()[0]
    np.testing.assert_allclose([p for _, p in sorted(top)], expected, rtol=1e-3, atol=1e-5)
    assert [name for name, _ in top] == ['class%d' % c for c in np.argsort(-expected)]


def _check_evaluation(save, tmp_path, names):
    """``python -m ini_gluon.evaluate`` of the run: the loop's own evaluation of its epoch."""
    out = str(tmp_path / 'eval')
    assert evaluate.main(['--save-dir', save, '--out', out]) == 0
    with open(os.path.join(out, 'evaluation.json')) as f:
        result = json.load(f)
    with open(os.path.join(save, 'metrics.jsonl')) as f:
        row = json.loads(f.readline())
    assert result['images'] == 9 and result['class_names'] == names
    assert result['top1_error'] == pytest.approx(row['val_error'])
    assert result['top5_error'] == pytest.approx(row['val_top5_error'])


def _settings(*argv):
    """The resolved settings as ``settings.json`` holds them."""
    return to_json(resolve(build_parser().parse_args(list(argv))))


@pytest.mark.parametrize('argv, expected', [
    # InI paper Section V-B: 100 epochs, batch 256, lr 0.1 / 10 every 30 epochs
    (['--model', 'ini_resnet50_v2_mix5d'], (100, 256, 0.1, 0.1, [30, 60, 90], 'preset:ini')),
    (['--model', 'se_resnet50_v1'], (100, 256, 0.1, 0.1, [30, 60, 90], 'preset:ini')),
    (['--model', 'ini_resnet50_v2_mix5d', '--num-epochs', '200'],
     (200, 256, 0.1, 0.1, [30, 60, 90, 120, 150, 180], 'preset:ini')),
    # CMPE-SE paper Section 4.1: 100 epochs, batch 64, lr 0.1 / 10 at 30, 60 and 90
    (['--model', 'cmpe_se_1x1_resnet50_v2'], (100, 64, 0.1, 0.1, [30, 60, 90],
                                              'preset:cmpe-se')),
    (['--model', 'se_resnet50_v2', '--preset', 'cmpe-se', '--num-gpus', '2'],
     (100, 32, 0.1, 0.1, [30, 60, 90], 'preset:cmpe-se')),
])
def test_paper_presets(argv, expected):
    s = _settings(*argv)
    assert (s['num_epochs'], s['batch_size'], s['lr'], s['lr_decay'], s['lr_decay_epoch'],
            s['sources']['lr_decay_epoch']) == expected
    assert (s['input_size'], s['wd'], s['warnings']) == (224, 1e-4, [])


def test_fixed_decay_outside_the_run_is_said(capsys):
    argv = ['--model', 'cmpe_se_1x1_resnet50_v2', '--num-epochs', '50']
    assert '60, 90' in _settings(*argv)['warnings'][0]
    assert main_imagenet(argv + ['--dry-run', '--data-dir', '/nonexistent']) == 0
    assert json.loads(capsys.readouterr().out)['batch_size'] == {'value': 64,
                                                                  'source': 'preset:cmpe-se'}


@pytest.mark.parametrize('argv, fragment', [
    (['--use-rec'], '--use-rec needs --rec-train and --rec-train-idx'),
    (['--use-rec', '--rec-train', '/nope/train.rec', '--rec-train-idx', '/nope/train.idx'],
     "'/nope/train.rec' is missing"),
    (['--data-dir', '/nope/imagenet'], "image folder '/nope/imagenet/train' not found"),
    (['--dtype', 'float16'], '--dtype float16 trains on GPUs only'),
    (['--model', 'ini_allcnn_square3'], 'ini_allcnn_square3 is a CIFAR backbone (32x32 '
                                        'inputs): train it with train_cifar.py'),
    (['--model', 'se_pyramidnet272', '--dry-run'], 'resnet<depth>_v<version>'),
])
def test_bad_input(argv, fragment, tmp_path, capsys):
    assert main_imagenet(['--model', MODEL] + argv + ['--save-dir', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('train_imagenet.py: error: ') and fragment in err


def test_truncated_index(image_data, tmp_path, capsys):
    bad = tmp_path / 'bad.idx'
    bad.write_text('not an index\n')
    argv = _rec_args(image_data)
    argv[argv.index('--rec-train-idx') + 1] = str(bad)
    assert main_imagenet(argv + _small(str(tmp_path / 'out'))) == 2
    assert "train index '%s' is unreadable" % bad in capsys.readouterr().err


def _tree_copy(image_data, tmp_path):
    import shutil
    tree = tmp_path / 'tree'
    shutil.copytree(str(image_data / 'tree'), str(tree))
    return tree


@pytest.mark.parametrize('workers', ['0', '2'])
def test_an_undecodable_image_is_named_in_one_line(image_data, tmp_path, capsys, workers):
    tree = _tree_copy(image_data, tmp_path)
    bad = tree / 'train' / 'class1' / '3.jpg'
    bad.write_bytes(b'not a jpeg at all')
    argv = ['--data-dir', str(tree)] + _small(str(tmp_path / 'out'))
    argv[argv.index('-j') + 1] = workers
    if workers == '0':
        assert main_imagenet(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
    else:   # loader processes forked from a fresh script: a test worker that has loaded other
        # libraries' thread pools (onnxruntime's) can leave a forked child deadlocked
        done = subprocess.run([sys.executable, os.path.join(ROOT, 'train_imagenet.py')] + argv,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 2
        err = done.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('train_imagenet.py: error: image ')
    assert str(bad) in err[0] and 'cannot be decoded' in err[0]


def test_a_png_cut_short_is_named_in_one_line(image_data, tmp_path, capsys):
    """OpenCV fails on it only when MXNet's engine runs the decode, after the dataset has
    returned: the dataset waits for it, and names the file."""
    from PIL import Image
    tree = _tree_copy(image_data, tmp_path)
    bad = tree / 'train' / 'class1' / 'cut.png'
    Image.new('RGB', (40, 40), (10, 200, 30)).save(str(bad))
    bad.write_bytes(bad.read_bytes()[:60])
    argv = ['--data-dir', str(tree)] + _small(str(tmp_path / 'out'))
    argv[argv.index('-j') + 1] = '0'
    assert main_imagenet(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()      # libpng's own line goes to fd 2
    assert len(err) == 1 and err[0].startswith("train_imagenet.py: error: image '%s' cannot be "
                                               "decoded (MXNetError: " % bad), err


def test_classes_must_match_the_folders(image_data, tmp_path, capsys):
    tree = _tree_copy(image_data, tmp_path)
    argv = ['--data-dir', str(tree)] + _small(str(tmp_path / 'out'))
    argv[argv.index('--classes') + 1] = '5'
    assert main_imagenet(argv) == 2
    assert 'has 3 classes (sub-folders) but --classes is 5' in capsys.readouterr().err
    (tree / 'val' / 'class2').rename(tree / 'val' / 'class9')
    argv[argv.index('--classes') + 1] = '3'
    assert main_imagenet(argv) == 2
    assert 'different classes (class2, class9 only in one of them)' in capsys.readouterr().err
