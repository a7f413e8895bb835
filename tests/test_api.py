"""The Python API a GluonCV or timm user reaches for after get_model: net.export of the portable
graph (ONNX converts it), ig.export (after the command's module is imported too), exports that
open silently, list_models as --list, default_cfg, features_only, count_flops / count_params of
a network, the README's example; python -m of a library, memory in MiB, GluonCV's blocks in a
summary."""
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import warnings

import mxnet as mx
import numpy as np
import onnxruntime
import pytest
from mxop.gluon import count_ops

import ini_gluon as ig
import ini_gluon.export                 # the command's module: ig.export must still be callable
from ini_gluon.__main__ import main as info
from ini_gluon.memory import main as memory
from ini_gluon.analysis.throughput import read_mib
from ini_gluon.data.imagenet import MEAN, STD
from ini_gluon.run import export as run_export
from ini_gluon.training.settings import _paper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _relative(ours, theirs):
    return np.abs(ours - theirs).max() / np.abs(theirs).max()


def _operators(path):
    with open(path) as f:
        return {node['op'] for node in json.load(f)['nodes']}


# ---- net.export: the portable graph, whatever the trace
def test_net_export_writes_the_portable_graph_that_onnx_converts(tmp_path):
    net = ig.get_model('ini_resnet8_mix5d', classes=10)
    net.initialize(mx.init.Xavier(magnitude=2))
    net.hybridize()
    x = mx.nd.random.normal(shape=(3, 3, 32, 32))
    live = net(x).asnumpy()                      # traced on the CPU: the CPU formulation
    assert 'batch_dot' in net._cached_graph[1].tojson()
    prefix = str(tmp_path / 'net')
    net.export(prefix)
    assert not _operators(prefix + '-symbol.json') & {'batch_dot', 'reshape_like'}
    np.testing.assert_allclose(net(x).asnumpy(), live, rtol=1e-5, atol=1e-6)
    assert 'batch_dot' in net._cached_graph[1].tojson()      # the next call: the CPU's again
    with run_export._onnx_opset(run_export.ONNX_OPSET):      # MXNet's own exporter
        mx.onnx.export_model(prefix + '-symbol.json', prefix + '-0000.params', [x.shape],
                             [np.float32], prefix + '.onnx')
    session = onnxruntime.InferenceSession(prefix + '.onnx', providers=['CPUExecutionProvider'])
    onnx_out = session.run(None, {session.get_inputs()[0].name: x.asnumpy()})[0]
    assert _relative(onnx_out, live) <= 1e-4
    loaded = mx.gluon.SymbolBlock.imports(prefix + '-symbol.json', ['data'])
    loaded.load_parameters(prefix + '-0000.params')
    assert _relative(loaded(x).asnumpy(), live) <= 1e-4
    # not hybridized, shapes deferred: it exports all the same
    plain = ig.get_model('se_resnet8', classes=10)
    plain.initialize()
    plain.export(str(tmp_path / 'plain'))
    assert 'broadcast_mul' in _operators(str(tmp_path / 'plain-symbol.json'))


# ---- the README's example of the Python API, and what it wrote
def _readme_api_block():
    with open(os.path.join(ROOT, 'README.md')) as f:
        text = f.read()
    section = text[text.index('### The Python API'):]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


@pytest.fixture(scope='module')
def readme_api(tmp_path_factory):
    """The README's example run as written, in a folder of its own."""
    folder = tmp_path_factory.mktemp('readme-api')
    cwd = os.getcwd()
    os.chdir(str(folder))
    try:
        scope = {}
        exec(compile(_readme_api_block(), 'README.md', 'exec'), scope)
    finally:
        os.chdir(cwd)
    return folder, scope


def test_the_readme_api_example_runs_and_its_comments_hold(readme_api):
    folder, scope = readme_api
    net, cfg = scope['net'], scope['cfg']
    assert cfg['input_size'] == (3, 32, 32) and cfg['recipe'] == 'ini'
    assert cfg['dataset'] == 'cifar10' and cfg['num_classes'] == 10
    # the parameters by hand: every array the initialised network holds
    assert ig.count_params(net) == 79730 == sum(p.data().size for p in
                                               net.collect_params().values())
    assert ig.count_flops(net) == 12596047
    assert sorted(os.listdir(str(folder / 'out'))) == [
        'ini_resnet8_mix5d-0000.params', 'ini_resnet8_mix5d-symbol.json', 'ini_resnet8_mix5d.onnx']
    assert max(scope['info']['verified'].values()) <= 1e-4
    probabilities = mx.nd.softmax(net(scope['batch'])).asnumpy()
    for i, row in enumerate(scope['top']):
        best = np.argsort(-probabilities[i])[:3]
        assert row['image'] == i and [c for c, _ in row['top']] == [str(c) for c in best]
        np.testing.assert_allclose([p for _, p in row['top']], probabilities[i][best], rtol=1e-5)
    assert scope['shapes'] == [(2, 32, 16, 16), (2, 64, 8, 8)]


def test_the_export_takes_raw_images_and_agrees_with_the_network(readme_api):
    folder, scope = readme_api
    net, cfg = scope['net'], scope['cfg']
    raw = np.random.RandomState(3).uniform(0, 255, (4, 3, 32, 32)).astype(np.float32)
    by_hand = (raw / 255 - np.array(cfg['mean'])[:, None, None]) / \
        np.array(cfg['std'])[:, None, None]
    live = net(mx.nd.array(by_hand)).asnumpy()
    session = onnxruntime.InferenceSession(str(folder / 'out' / 'ini_resnet8_mix5d.onnx'),
                                           providers=['CPUExecutionProvider'])
    assert session.get_inputs()[0].shape[1:] == [3, 32, 32]             # batch dynamic
    assert _relative(session.run(None, {'data': raw})[0], live) <= 1e-4
    assert not net._active                       # the network as it was: not hybridized


def test_exported_files_open_silently(readme_api):
    folder, _ = readme_api
    prefix = str(folder / 'out' / 'ini_resnet8_mix5d')
    opened = subprocess.run(
        [sys.executable, '-c', 'import onnxruntime, sys; s = onnxruntime.InferenceSession('
         'sys.argv[1], providers=["CPUExecutionProvider"]); print(len(s.get_inputs()))',
         prefix + '.onnx'], capture_output=True, text=True)
    assert opened.returncode == 0 and opened.stdout == '1\n' and opened.stderr == ''
    import onnx
    model = onnx.load(prefix + '.onnx')
    assert [(o.domain, o.version) for o in model.opset_import] == [('', 13)]
    assert not {i.name for i in model.graph.input} & {i.name for i in model.graph.initializer}
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter('always')
        loaded = mx.gluon.SymbolBlock.imports(prefix + '-symbol.json', ['data'])
        loaded.load_parameters(prefix + '-0000.params')
        run_export.import_symbol(prefix + '-symbol.json', prefix + '-0000.params')
    assert [str(w.message) for w in said] == []


def test_ig_export_and_predict_stay_callable_after_their_commands_are_imported(tmp_path):
    importlib.import_module('ini_gluon.predict')
    assert ig.export is sys.modules['ini_gluon.export'] and callable(ig.export)
    assert callable(ini_gluon.export.main) and callable(ig.predict.main)
    assert list(inspect.signature(ig.export).parameters)[:3] == ['model', 'prefix', 'onnx']
    net = ig.get_model('resnet8', features_only=True, out_indices=(-1, 0))
    net.initialize()
    info_ = ig.export(net, str(tmp_path / 'features'))     # no normalisation: its own input
    assert info_['verified']['mxnet'] <= 1e-4 and info_['preprocessing'] is None
    loaded = run_export.import_symbol(info_['files']['symbol'], info_['files']['params'])
    x = mx.nd.random.normal(shape=(1, 3, 32, 32))
    assert [o.shape for o in loaded(x)] == [(1, 64, 8, 8), (1, 16, 32, 32)]
    with pytest.raises(ValueError, match='give both mean and std'):
        ig.export(net, str(tmp_path / 'x'), mean=[0.5] * 3)


@pytest.mark.parametrize('call, fragment', [
    (lambda net, tmp: net.export(tmp + '/x'), 'resnet8 cannot be exported: it is not initialised'),
    (lambda net, tmp: ig.export(net, tmp + '/x'), 'resnet8 cannot be exported: it is not init'),
    (lambda net, tmp: ig.export(3, tmp + '/x'), 'expected a network (a HybridBlock) or a Trained'),
    (lambda net, tmp: ig.count_flops(net, (32, 32)), 'input_size must be (3, H, W)'),
    (lambda net, tmp: ig.predict(3, []), 'expected a run folder, a Trained or a network'),
    (lambda net, tmp: ig.get_model('resnet8', features_only=1), 'features_only must be True')])
def test_bad_input_to_the_api_is_one_line(call, fragment, tmp_path):
    with pytest.raises(ValueError) as err:
        call(ig.get_model('resnet8'), str(tmp_path))
    assert fragment in str(err.value) and '\n' not in str(err.value)
    assert os.listdir(str(tmp_path)) == []


def test_predict_image_files_with_a_networks_default_cfg(tmp_path):
    from PIL import Image
    net = ig.get_model('resnet8', classes=4)
    net.initialize(mx.init.Xavier(magnitude=2))
    pixels = np.random.RandomState(5).randint(0, 256, (32, 32, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(str(tmp_path / 'a.png'))
    cfg = net.default_cfg
    by_hand = (pixels.transpose(2, 0, 1) / 255.0 - np.array(cfg['mean'])[:, None, None]) / \
        np.array(cfg['std'])[:, None, None]
    expected = mx.nd.softmax(net(mx.nd.array(by_hand[None]))).asnumpy()[0]
    found = ig.predict(net, str(tmp_path), top_k=4, class_names='wxyz')
    assert found[0]['image'] == str(tmp_path / 'a.png')
    assert [c for c, _ in found[0]['top']] == ['wxyz'[c] for c in np.argsort(-expected)]
    np.testing.assert_allclose([p for _, p in found[0]['top']], np.sort(expected)[::-1],
                               rtol=1e-5)


# ---- one listing
@pytest.mark.parametrize('pattern', ['*', 'ini_resnet8*', 'se_wrn*', 'resnet1*', '*_mix5d',
                                     'cbam_*', 'sinet*', 'ini_wrn16_2_*'])
def test_list_models_and_the_list_command_agree(pattern, capsys):
    info(['--list', pattern])
    printed = capsys.readouterr().out.split()
    assert ig.list_models(pattern) == printed and printed


# ---- default_cfg
@pytest.mark.parametrize('name, kwargs, dataset, recipe', [
    ('resnet8', {}, 'cifar10', 'ini'), ('resnet20', {'classes': 100}, 'cifar100', 'ini'),
    ('cmpe_se_resnet164', {}, 'cifar10', 'cmpe-se'), ('cmpe_se_3x3_resnet18_v1', {},
                                                      'imagenet', 'cmpe-se'),
    ('sinet_0_5', {}, 'imagenet', 'sinet'), ('cifar_mobilenet0_5_g2', {}, 'cifar10', 'sinet'),
    ('resnet18_v2', {'classes': 7}, 'imagenet', 'ini')])
def test_default_cfg(name, kwargs, dataset, recipe):
    net = ig.get_model(name, **kwargs)
    cfg = net.default_cfg
    assert cfg['dataset'] == dataset and cfg['input_size'] == net.input_shape[1:]
    # the recipe --preset paper trains the name with (the training's own resolution)
    assert cfg['recipe'] == recipe == _paper('paper', name)
    # the classes of the head as built: the width of the network's output
    logits = net(mx.sym.var('data')).infer_shape(data=net.input_shape)[1][0]
    assert cfg['num_classes'] == logits[-1] == kwargs.get('classes', logits[-1])
    if dataset == 'imagenet':
        assert (list(cfg['mean']), list(cfg['std']), cfg['crop_pct']) == (MEAN, STD, 0.875)
        assert cfg['input_size'] == (3, 224, 224)
    else:
        assert cfg['crop_pct'] == 1.0 and cfg['input_size'] == (3, 32, 32)


# ---- features_only: one model of each backbone family; the stages' (C, stride) by hand
FEATURES = {
    'resnet8': [(16, 1), (32, 2), (64, 4)],
    'se_wrn10_1': [(16, 1), (32, 2), (64, 4)],
    'allcnn': [(96, 2), (192, 4), (192, 5)],            # the last 3x3 valid convolution: 6x6
    'pyramidnet11_a12': [(80, 1), (96, 2), (112, 4)],
    'se_resnet18_v2': [(64, 2), (64, 4), (128, 8), (256, 16), (512, 32)],
    'sinet_0_5': [(21, 1), (16, 2), (24, 4), (40, 8), (48, 16), (96, 32)],
    'mobilenet0_5_g2_ex_hjd': [(32, 2), (64, 4), (128, 8), (256, 16), (512, 32)],
    'cifar_mobilenet0_5_g1': [(32, 1), (64, 2), (128, 4), (256, 8), (512, 16)],
    'mobilenetv2_0_5_g2': [(8, 2), (12, 4), (16, 8), (48, 16), (1280, 32)],
    'cifar_mobilenetv2_0_5_g1': [(12, 1), (16, 2), (48, 4), (1280, 8)],
    'resnet18_v1_g2_ex': [(64, 2), (64, 4), (128, 8), (256, 16), (512, 32)],
    'cifar_resnet18_v1_g2_hjd': [(64, 1), (128, 2), (256, 4), (512, 8)],
}


def test_the_features_list_covers_every_backbone_family():
    assert {ig.models.parse_model_name(n).backbone for n in FEATURES} == \
        set(ig.models.backbones())


@pytest.mark.parametrize('name', sorted(FEATURES))
def test_features_only_returns_the_stages_of_the_full_network(name, tmp_path):
    full = ig.get_model(name, classes=3)
    full.initialize(mx.init.Xavier(magnitude=2))
    x = mx.nd.random.normal(shape=(1, 3, 32, 32))     # the ImageNet networks take 32x32 too
    seen = {}
    for i, child in enumerate(full.features._children.values()):
        child.register_forward_hook(lambda b, _, out, i=i: seen.__setitem__(i, out.asnumpy()))
    full(x)
    full.save_parameters(str(tmp_path / 'full.params'))
    net = ig.get_model(name, features_only=True)
    assert [(f['num_chs'], f['reduction']) for f in net.feature_info] == FEATURES[name]
    net.load_parameters(str(tmp_path / 'full.params'), ignore_extra=True)   # the same names
    net.hybridize()
    maps = net(x)
    assert len(maps) == len(FEATURES[name])
    for f, m in zip(net.feature_info, maps):        # the full network's own intermediate maps
        assert m.shape[1] == f['num_chs']
        np.testing.assert_allclose(m.asnumpy(), seen[int(f['module'].split('.')[1])],
                                   rtol=1e-4, atol=1e-5)


def test_out_indices_pick_and_order_the_stages():
    net = ig.get_model('resnet18_v1', features_only=True, out_indices=(-1, 1))
    assert [f['stage'] for f in net.feature_info] == [4, 1]
    shapes = ig.param_shapes(net, (1, 3, 224, 224))
    assert not any('output' in k for k in shapes)          # no head
    with pytest.raises(ValueError, match=r'resnet18_v1 has 5 stages, indices 0 to 4'):
        ig.get_model('resnet18_v1', features_only=True, out_indices=(5,))
    with pytest.raises(ValueError, match='out_indices needs features_only=True'):
        ig.get_model('resnet18_v1', out_indices=(1,))


# ---- counts of a network, as it is
@pytest.mark.parametrize('name', ['ini_resnet8_mix5d', 'cifar_mobilenetv2_0_5_g2_ex',
                                  'se_resnet18_v1'])
def test_count_flops_of_a_network_is_mxops_count(name):
    net = ig.get_model(name, classes=10)
    size = (3, 32, 32)
    counted = ig.count_flops(net, size)                 # not initialised
    reference = ig.get_model(name, classes=10)
    reference.initialize()
    assert counted == count_ops(reference, (1,) + size)['muls']     # mxop runs it, hooked
    net.initialize()
    net.hybridize()
    net(mx.nd.zeros((1,) + size))
    assert ig.count_flops(net, size) == counted         # hybridized, initialised: the same
    hooks = []
    net.apply(lambda b: hooks.extend(b._forward_hooks.values()))
    assert hooks == [] and net._cached_op is not None    # left as it was
    assert ig.count_flops(name, size, 10) == counted     # by name


def test_count_params_takes_a_network_or_a_name():
    """GluonCV's ResNet-50 v2: 25,595,060 with BatchNorm's running statistics (Table V's
    25.6M); a CIFAR network's 10 classes by default, 100 on request (+ 90 x 64 + 90)."""
    assert ig.count_params('resnet50_v2') == 25595060
    assert ig.count_params(ig.get_model('resnet8', classes=10)) == ig.count_params('resnet8')
    assert ig.count_params('resnet8', classes=100) - ig.count_params('resnet8') == 90 * 64 + 90
    with pytest.raises(ValueError, match='expected a network .* or a model name, not int'):
        ig.count_params(3)


# ---- the commands' small promises
def test_python_m_of_a_library_names_the_commands():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    for module, what in (('ini_gluon.run', 'ini_gluon.run is a library, not a command'),
                         ('ini_gluon.run.export', 'is a library, not a command'),
                         ('ini_gluon.runs', 'no command ini_gluon.runs')):
        done = subprocess.run([sys.executable, '-m', module], capture_output=True, text=True,
                              env=env)
        err = done.stderr.splitlines()
        assert done.returncode == 2 and len(err) == 1 and what in err[0], done.stderr
        assert 'ini_gluon.export' in err[0] and 'ini_gluon.training.launch' in err[0]
    done = subprocess.run([sys.executable, '-m', 'ini_gluon.export', '--help'],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stderr == ''        # no runpy warning either


def test_memory_prints_mib(capsys):
    assert memory(['resnet8', '--batch', '1', '--steps', '1']) == 0
    out = capsys.readouterr().out.strip()
    assert re.fullmatch(r'\d+\.\d MiB', out) and read_mib(out) > 50


def test_summary_of_gluoncvs_own_resnets_lists_their_blocks():
    rows = [line.split() for line in ig.summary(ig.get_model('se_resnet18_v1')).splitlines()
            if line.startswith('stage')]
    assert len(rows) == 8 and all(r[2] == 'se_gluoncv' for r in rows)
    # GluonCV's SE on C = 64: two dense layers 64 -> 4 -> 64, no bias
    assert rows[0][:2] == ['stage1.0', '64'] and rows[0][-1] == '{:,}'.format(2 * 64 * 4)
    text = ig.summary(ig.get_model('resnet50_v2'))
    assert len([line for line in text.splitlines() if line.startswith('stage')]) == 16
    assert 'stage4.2  2048  -' in text
