"""python -m ini_gluon.visualize: each picture on the offline digits set, from weights given by
--model/--params (freshly initialised: the pictures need no training), and its numbers."""
import json
import os

import mxnet as mx
import numpy as np
import pytest

from ini_gluon import get_model
from ini_gluon.analysis.inspect import inspect
from ini_gluon.data.datasets import load_digits
from ini_gluon.data.pipeline import normalisation
from ini_gluon.visualize import main

PNG = b'\x89PNG\r\n\x1a\n'
EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, 'docs', 'examples')


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    """``{model: params file}`` of a fresh InI and SE ResNet-8 for the 10 digits."""
    folder = tmp_path_factory.mktemp('weights')
    found = {}
    for k, name in enumerate(['ini_resnet8_mix5d', 'se_resnet8']):
        mx.random.seed(k)
        net = get_model(name, classes=10)
        net.initialize(mx.init.Xavier())
        net(mx.nd.zeros((1, 3, 32, 32)))
        found[name] = str(folder / ('%s.params' % name))
        net.save_parameters(found[name])
    return found


def _sources(weights, *names):
    argv = ['--dataset', 'digits']
    for name in names:
        argv += ['--model', name, '--params', weights[name]]
    return argv


def _png(path):
    with open(path, 'rb') as f:
        head = f.read(8)
    return head == PNG and os.path.getsize(path) > 10000


def test_maps_of_two_models_side_by_side(weights, tmp_path, capsys):
    out = str(tmp_path / 'maps.png')
    argv = ['maps', '--num-images', '2', '--blocks', 'stage1.0,stage3.0', '--out', out]
    assert main(argv + _sources(weights, 'ini_resnet8_mix5d', 'se_resnet8')) == 0
    assert _png(out) and 'written: %s' % out in capsys.readouterr().out


def test_gradcam_on_image_files_and_on_the_test_split(weights, tmp_path):
    out = str(tmp_path / 'cam.png')
    argv = ['gradcam', EXAMPLES, '--out', out] + _sources(weights, 'ini_resnet8_mix5d',
                                                           'se_resnet8')
    assert main(argv) == 0 and _png(out)
    os.remove(out)
    argv = ['gradcam', '--explain', 'true', '--layer', 'stage3', '--num-images', '2',
            '--out', out]
    assert main(argv + _sources(weights, 'se_resnet8')) == 0 and _png(out)


def test_depth_statistics_are_those_of_the_images_by_hand(weights, tmp_path):
    out = str(tmp_path / 'depth.png')
    # 70 images: a whole batch of 64 and 6 of the next
    argv = ['depth', '--num-images', '70', '--per-class', '--out', out]
    assert main(argv + _sources(weights, 'ini_resnet8_mix5d')) == 0
    assert _png(out) and _png(str(tmp_path / 'depth-per-class.png'))
    with open(str(tmp_path / 'depth.json')) as f:
        stats = json.load(f)['models'][0]
    train_x, _, test_x, test_y, _ = load_digits()
    mean, std = normalisation('digits', train_x)
    raw = test_x[:70].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    data = (raw - np.reshape(mean, (1, 3, 1, 1))) / np.reshape(std, (1, 3, 1, 1))
    net = get_model('ini_resnet8_mix5d', classes=10)
    net.load_parameters(weights['ini_resnet8_mix5d'])
    s = [b.attention for b in inspect(net, data).blocks]
    assert stats['images'] == 70
    assert [b['label'] for b in stats['blocks']] == ['stage1.0', 'stage2.0', 'stage3.0']
    for block, values in zip(stats['blocks'], s):
        assert block['mean'] == pytest.approx(values.mean(), rel=1e-5)
        assert block['variance'] == pytest.approx(values.var(), rel=1e-3)
    labels = test_y[:70]
    assert sorted(stats['per_class'], key=int) == [str(c) for c in sorted(set(labels))]
    for c in set(labels):
        assert stats['per_class'][str(c)][2] == pytest.approx(s[2][labels == c].mean(),
                                                              rel=1e-5)


@pytest.mark.parametrize('argv, message', [
    (['maps', '--model', 'se_resnet8', '--dataset', 'digits'], 'one --params for each --model'),
    (['maps', '--blocks', 'stage7.0'], 'no attention block stage7.0'),
    (['gradcam', EXAMPLES, '--explain', 'true'], '--explain true needs'),
    (['gradcam', '--layer', 'stage9'], "no layer 'stage9'"),
    (['depth', '--save-dir', '/nonexistent/run'], '/nonexistent/run'),
])
def test_bad_input_is_one_line_and_exit_2(weights, tmp_path, capsys, argv, message):
    if '--params' not in argv and '--model' not in argv and '--save-dir' not in argv:
        argv = argv + _sources(weights, 'se_resnet8')
    assert main(argv + ['--out', str(tmp_path / 'x.png')]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not os.path.exists(str(tmp_path / 'x.png'))


def test_a_users_file_is_never_replaced_and_its_own_pictures_are(weights, tmp_path, capsys):
    mine = tmp_path / 'settings.json'
    mine.write_text('{"model": "a user\'s file"}')
    argv = ['depth', '--num-images', '4', '--out', str(tmp_path / 'settings.png')]
    assert main(argv + _sources(weights, 'se_resnet8')) == 2          # would write settings.json
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'settings.json exists and was not written by' in err[0]
    assert mine.read_text() == '{"model": "a user\'s file"}'
    assert not (tmp_path / 'settings.png').exists()
    argv[-1] = str(tmp_path / 'depth.png')
    for _ in range(2):                                     # the second run replaces its own
        assert main(argv + _sources(weights, 'se_resnet8')) == 0
    with pytest.raises(SystemExit) as exit_:                                     # not a .png
        main(['maps', '--out', str(tmp_path / 'depth.json')])
    assert exit_.value.code == 2 and '--out: expected a .png file' in capsys.readouterr().err
    (tmp_path / 'folder.png').mkdir()
    assert main(['maps', '--out', str(tmp_path / 'folder.png')] +
                _sources(weights, 'se_resnet8')) == 2
    assert 'folder.png is a folder' in capsys.readouterr().err


def test_models_of_one_name_get_labels_that_tell_them_apart():
    from ini_gluon.visualize import _labels
    names = ['ini_resnet8_mix5d', 'ini_resnet8_mix5d', 'se_resnet8', 'ini_resnet8_mix5d']
    assert _labels(names, ['a/seed-1', 'b/seed-1/', 'c', 'a/seed-1']) == [
        'ini_resnet8_mix5d (a/seed-1) #1', 'ini_resnet8_mix5d (b/seed-1)', 'se_resnet8',
        'ini_resnet8_mix5d (a/seed-1) #2']
    assert _labels(names[:2], ['a/seed-1', 'b/seed-2']) == [
        'ini_resnet8_mix5d (seed-1)', 'ini_resnet8_mix5d (seed-2)']


def test_depth_of_a_model_without_attention_is_refused(tmp_path, capsys):
    net = get_model('resnet8', classes=10)
    net.initialize()
    net(mx.nd.zeros((1, 3, 32, 32)))
    net.save_parameters(str(tmp_path / 'plain.params'))
    assert main(['depth', '--model', 'resnet8', '--params', str(tmp_path / 'plain.params'),
                 '--dataset', 'digits', '--out', str(tmp_path / 'd.png')]) == 2
    assert 'resnet8 has no attention block' in capsys.readouterr().err
