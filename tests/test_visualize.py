"""python -m ini_gluon.visualize: each picture on the offline digits set, from weights given by
--model/--params (freshly initialised: the pictures need no training), and its numbers."""
import json
import os

import mxnet as mx
import numpy as np
import pytest

from ini_gluon import get_model
from ini_gluon.inspect import inspect
from ini_gluon.training.data import load_digits
from ini_gluon.training.pipeline import normalisation
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
