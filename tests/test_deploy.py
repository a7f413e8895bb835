"""Using a trained model: evaluate, predict, export (symbol + ONNX), --initial-checkpoint."""
import json
import os
import xml.etree.ElementTree as ElementTree

import mxnet as mx
import numpy as np
import onnxruntime
import pytest
from PIL import Image

import ini_gluon as ig
import ini_gluon.export
from ini_gluon import evaluate, predict
from ini_gluon.analysis import evaluation
from ini_gluon.run import export as run_export
from ini_gluon.run.export import RawInput, export
from ini_gluon.analysis.inspect import attention_layers
from ini_gluon.layers.channel_attention import ChannelAttention
from ini_gluon.layers.create_attn import attention_types
from ini_gluon.models import backbones
from ini_gluon.run.trained import Preprocessing, RunError, Trained, load_weights, open_run
from ini_gluon.training import main
from ini_gluon.data.datasets import CIFAR10_NAMES, class_names, load_digits
from ini_gluon.data.pipeline import BatchStream
import datasets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = 'ini_resnet8_mix5d'


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    """A one-epoch digits run of the README's demo model."""
    save = str(tmp_path_factory.mktemp('digits') / 'run')
    assert main(['--dataset', 'digits', '--model', MODEL, '--num-epochs', '1', '--save-dir',
                 save, '-j', '0']) == 0
    return save


def _rows(save):
    with open(os.path.join(save, 'metrics.jsonl')) as f:
        return [json.loads(line) for line in f]


def _settings(save):
    with open(os.path.join(save, 'settings.json')) as f:
        return json.load(f)


def _reference_net(save, params):
    """The run's network loaded by Gluon's own ``load_parameters``."""
    net = ig.get_model(MODEL, classes=10)
    net.load_parameters(params)
    return net


def test_scores_of_a_known_example():
    # 4 images of 3 classes: image 0 right, 1 wrong (second guess right), 2 right, 3 wrong
    p = np.array([[.7, .2, .1], [.5, .4, .1], [.1, .1, .8], [.6, .3, .1]])
    result = evaluation.scores(p, np.array([0, 1, 2, 2]), 3)
    assert result['top1_error'] == pytest.approx(0.5)
    assert result['top5_error'] == 0          # 3 classes: every label is in the top 5
    assert result['confusion'] == [[1, 0, 0], [1, 0, 0], [1, 0, 1]]
    assert result['per_class_error'] == [0.0, 1.0, 0.5]
    assert result['per_class_images'] == [1, 1, 2]
    # 6 classes: a label ranked 6th is outside the top 5, one ranked 5th inside
    p = np.array([[.3, .25, .2, .15, .07, .03], [.3, .25, .2, .15, .07, .03]])
    assert evaluation.scores(p, np.array([5, 4]), 6)['top5_error'] == pytest.approx(0.5)


def test_evaluate_a_run_on_its_test_split(run, tmp_path, capsys):
    out = str(tmp_path / 'eval')
    assert evaluate.main(['--save-dir', run, '--out', out]) == 0
    table = capsys.readouterr().out
    with open(os.path.join(out, 'evaluation.json')) as f:
        result = json.load(f)
    best = min(_rows(run), key=lambda r: r['val_error'])
    # the training loop's own evaluation of the best epoch
    assert result['top1_error'] == pytest.approx(best['val_error'], abs=1e-9)
    assert result['top5_error'] == pytest.approx(best['val_top5_error'], abs=1e-9)
    assert result['images'] == 359 and sum(result['per_class_images']) == 359
    confusion = np.array(result['confusion'])
    assert np.trace(confusion) == round((1 - best['val_error']) * 359)
    assert result['class_names'] == [str(d) for d in range(10)]
    # errors in %, each class's from the confusion matrix
    assert '| top-1 error (%%) | %.2f |' % (100 * best['val_error']) in table
    for c in range(10):
        images = confusion[c].sum()
        assert '| %d | %d | %.2f |' % (c, images, 100 * (1 - confusion[c, c] / images)) in table
    assert 'best weights (epoch %d)' % best['epoch'] in table
    with Image.open(os.path.join(out, 'confusion.png')) as image:
        assert image.format == 'PNG'
        size = image.size
    # the final weights: the last epoch's evaluation; --run, as --save-dir; a picture for a
    # paper: PDF and SVG, at 50 dpi (half the pixels of the default 100), a model's name
    assert evaluate.main(['--run', run, '--which', 'final', '--out', out, '--format',
                          'png,pdf,svg', '--dpi', '50', '--label', MODEL + '=InI-ResNet-8']) == 0
    assert capsys.readouterr().out.startswith('InI-ResNet-8, final weights (epoch 0)')
    with open(os.path.join(out, 'evaluation.json')) as f:
        assert json.load(f)['top1_error'] == pytest.approx(_rows(run)[-1]['val_error'])
    with Image.open(os.path.join(out, 'confusion.png')) as image:
        assert image.size == (size[0] // 2, size[1] // 2)
    with open(os.path.join(out, 'confusion.pdf'), 'rb') as f:
        assert f.read(5) == b'%PDF-'
    assert ElementTree.parse(os.path.join(out, 'confusion.svg')).getroot().tag == \
        '{http://www.w3.org/2000/svg}svg'


def test_the_confusion_matrix_shows_counts_coloured_by_their_share():
    # 3 classes: 2, 1 and 3 images of each; class 2: 1 taken for class 0, 2 right
    p = np.eye(3)[[0, 0, 1, 0, 2, 2]] + 0.1
    result = evaluation.scores(p, np.array([0, 0, 1, 2, 2, 2]), 3)
    fig = evaluation.confusion_figure(result, ['a', 'b', 'c'], 'title')
    ax = fig.axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}
    assert cells == {(0, 0): '2', (1, 1): '1', (2, 0): '1', (2, 2): '2'}    # (true, predicted)
    np.testing.assert_allclose(ax.images[0].get_array(), [[1, 0, 0], [0, 1, 0],
                                                          [1 / 3, 0, 2 / 3]])
    assert ax.images[0].get_clim() == (0, 1)


def test_evaluate_weights_from_anywhere(run, tmp_path, capsys):
    params = os.path.join(run, 'export-best', MODEL + '-0000.params')      # an export's file
    out = str(tmp_path / 'eval')
    assert evaluate.main(['--model', MODEL, '--params', params, '--dataset', 'digits',
                          '--out', out]) == 0
    with open(os.path.join(out, 'evaluation.json')) as f:
        result = json.load(f)
    best = min(_rows(run), key=lambda r: r['val_error'])
    assert result['top1_error'] == pytest.approx(best['val_error'], abs=1e-9)


@pytest.mark.parametrize('argv, fragment', [
    (['--save-dir', '/nonexistent/run'], "run folder '/nonexistent/run' not found"),
    (['--model', MODEL], 'give --run RUN, or --model, --params and --dataset'),
    (['--which', '7'], 'has no checkpoint of epoch 7: it has 0'),
    (['--model', 'se_resnet8', '--params', '{best}', '--dataset', 'digits'],
     'does not fit se_resnet8'),
])
def test_evaluate_bad_input_is_one_line(run, argv, fragment, capsys):
    argv = [a.replace('{best}', os.path.join(run, MODEL + '-best.params')) for a in argv]
    if argv[0] == '--which':
        argv = ['--save-dir', run] + argv
    assert evaluate.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


def test_predict_image_files_as_the_test_split_was_read(run, tmp_path, capsys):
    _, _, test_x, test_y, _ = load_digits()
    folder = tmp_path / 'images'
    folder.mkdir()
    picks = [0, 1, 2]
    for i in picks:
        Image.fromarray(test_x[i]).save(str(folder / ('%d.png' % i)))
    assert predict.main([run, str(folder), '--top-k', '10', '--json']) == 0
    results = json.loads(capsys.readouterr().out)
    assert [os.path.basename(r['image']) for r in results] == ['0.png', '1.png', '2.png']
    # independently: the best weights through Gluon's loader, the test split's normalisation
    s = _settings(run)
    net = _reference_net(run, os.path.join(run, MODEL + '-best.params'))
    data, _ = next(BatchStream(test_x[picks], test_y[picks], 3, s['mean'], s['std'],
                               train=False).epoch(0))
    expected = mx.nd.softmax(net(mx.nd.array(data))).asnumpy()
    for r, p in zip(results, expected):
        got = {name: prob for name, prob in r['top']}
        np.testing.assert_allclose([got[str(c)] for c in range(10)], p, rtol=1e-5, atol=1e-6)
        assert [name for name, _ in r['top']] == [str(c) for c in np.argsort(-p, kind='stable')]


def test_predict_the_readme_images(run, capsys):
    images = os.path.join(ROOT, 'docs', 'examples')
    assert predict.main([run, images]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.count(', ') == 2 for line in lines), lines
    assert predict.main(['--run', run, images]) == 0                # the same, by --run
    assert capsys.readouterr().out.strip().splitlines() == lines
    assert predict.main([run]) == 2                                 # a run, no image
    assert capsys.readouterr().err == ('python -m ini_gluon.predict: error: give the image '
                                       'files (or folders) to classify after the run %s\n' % run)


@pytest.mark.parametrize('argv, fragment', [
    (['--out', 'x'], 'give the run once: --run RUN (or RUN alone), not none'),
    (['RUN', '--run', 'RUN', '--out', 'x'], 'give the run once: --run RUN (or RUN alone), not '
                                           'both'),
])
def test_export_takes_its_run_once(argv, fragment, capsys):
    assert ini_gluon.export.main(argv) == 2
    assert capsys.readouterr().err == 'python -m ini_gluon.export: error: %s\n' % fragment


def test_predict_bad_images_are_one_line(run, tmp_path, capsys):
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image')
    for argv, fragment in (([run, str(bad)], 'cannot be decoded'),
                           ([run, str(tmp_path / 'none.png')], 'not found'),
                           ([run, str(tmp_path / 'empty')], 'not found'),
                           ([run, str(bad), '--top-k', '0'],
                            "--top-k: must be an integer >= 1, not '0'")):
        code = predict.main(argv) if '--top-k' not in argv else None
        if code is None:
            with pytest.raises(SystemExit) as exit_:
                predict.main(argv)
            code = exit_.value.code
        assert code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0], err


def _operators(graph_json):
    return {node['op'] for node in json.loads(graph_json)['nodes']}


def _onnx_outputs(path, raw):
    session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: raw})[0]


# one model of every registered backbone, every attention kind at least once
FAMILIES = {'cifar_resnet': 'ini_resnet8_mix5d_spa2', 'cifar_wrn': 'cbam_wrn10_1',
            'allcnn': 'ini_allcnn_square3', 'pyramidnet': 'cmpe_se_doublefc_pyramidnet11_a12',
            'imagenet_resnet': 'cmpe_se_3x3_resnet18_v1', 'imagenet_resnet_v2': 'se_resnet18_v2',
            'cifar_resnet_1x1': 'cmpe_se_1x1_resnet8', 'cifar_wrn_2x1': 'cmpe_se_2x1_wrn10_1',
            # SINet and its ablation networks: groups, exchange, funnel, the joint decision
            'sinet': 'sinet_0_5', 'mobilenet_ablation': 'mobilenet0_5_g2_ex_hjd',
            'cifar_mobilenet_ablation': 'cifar_mobilenet0_5_g2_hjd',
            'mobilenetv2_ablation': 'mobilenetv2_0_5_g2_ex_hjd',
            'cifar_mobilenetv2_ablation': 'cifar_mobilenetv2_0_5_g1_hjd',
            'resnet_ablation': 'se_resnet18_v1_g2_ex_hjd',
            'cifar_resnet_ablation': 'cifar_resnet18_v1_g2_ex_hjd'}


def test_the_families_list_covers_every_backbone_and_attention():
    specs = [ig.models.parse_model_name(n) for n in FAMILIES.values()]
    assert {s.backbone for s in specs} == set(backbones())
    assert {s.attn.kind for s in specs if s.attn} == set(attention_types())
    assert any(s.attn and s.attn.spatial for s in specs)


@pytest.mark.parametrize('name', sorted(FAMILIES.values()))
def test_every_family_exports_and_the_exports_agree_on_raw_images(name, tmp_path):
    net = ig.get_model(name, classes=5)
    net.initialize(mx.init.Xavier(magnitude=2))
    net.hybridize()
    size = 32                           # the ImageNet ResNets take 32x32 too (and are faster)
    prep = Preprocessing(size, None if net.input_shape[-1] == 32 else 37, [0.4, 0.5, 0.6],
                         [0.2, 0.25, 0.3])
    trained = Trained(net, name, 5, list('abcde'), prep, None, {'which': None, 'params': 'x'})
    info = export(trained, str(tmp_path), onnx=True)
    raw = np.random.RandomState(1).uniform(0, 255, (3, 3, size, size)).astype(np.float32)
    # the live network on images normalised by hand
    normalised = (raw / 255 - np.array(prep.mean)[:, None, None]) / np.array(prep.std)[:, None,
                                                                                        None]
    expected = net(mx.nd.array(normalised)).asnumpy()
    loaded = run_export.import_symbol(str(tmp_path / (name + '-symbol.json')),
                                      str(tmp_path / (name + '-0000.params')))
    scale = np.abs(expected).max()
    assert np.abs(loaded(mx.nd.array(raw)).asnumpy() - expected).max() <= 1e-4 * scale
    # the live network ran the CPU formulation (where the attention is ours, not GluonCV's own
    # SE), the export has the portable one
    if any(isinstance(layer, ChannelAttention) for _, _, layer in attention_layers(net)):
        assert 'batch_dot' in _operators(net._cached_graph[1].tojson())
    with open(str(tmp_path / (name + '-symbol.json'))) as f:
        exported = _operators(f.read())
    assert 'broadcast_mul' in exported and not exported & {'batch_dot', 'dot', 'reshape_like'}
    onnx_out = _onnx_outputs(str(tmp_path / (name + '.onnx')), raw)     # a batch of 3: dynamic
    assert np.abs(onnx_out - expected).max() <= 1e-4 * scale
    assert info['verified']['onnx'] <= 1e-4
    with open(str(tmp_path / 'classes.txt')) as f:
        assert f.read() == 'a\nb\nc\nd\ne\n'


def test_the_export_command(run, tmp_path, capsys):
    out = tmp_path / 'export'
    assert ini_gluon.export.main([run, '--out', str(out), '--onnx', '--batch', '4']) == 0
    assert 'normalisation inside the graph' in capsys.readouterr().out
    names = sorted(os.listdir(str(out)))
    assert names == sorted(['classes.txt', 'model.json', MODEL + '-symbol.json',
                            MODEL + '-0000.params', MODEL + '.onnx'])
    with open(str(out / 'model.json')) as f:
        info = json.load(f)
    best = min(_rows(run), key=lambda r: r['val_error'])
    assert info['model'] == MODEL and info['input']['shape'] == [4, 3, 32, 32]
    assert info['input']['range'] == [0, 255] and info['input']['layout'] == 'NCHW'
    assert info['source']['which'] == 'best' and info['source']['epoch'] == best['epoch']
    assert info['preprocessing']['mean'] == _settings(run)['mean']
    session = onnxruntime.InferenceSession(str(out / (MODEL + '.onnx')),
                                           providers=['CPUExecutionProvider'])
    assert session.get_inputs()[0].shape == [4, 3, 32, 32]
    with open(str(out / 'classes.txt')) as f:
        assert f.read().split() == [str(d) for d in range(10)]


@pytest.mark.parametrize('batch, fragment', [
    ('0', "argument --batch: must be an integer >= 1, not '0'"),
    ('x', "argument --batch: must be an integer >= 1, not 'x'"),
    ('1025', 'argument --batch: at most 1024, not 1025')])
def test_a_bad_export_batch_is_one_line(run, tmp_path, batch, fragment, capsys):
    with pytest.raises(SystemExit) as exit_:
        ini_gluon.export.main([run, '--out', str(tmp_path / 'x'), '--batch', batch])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and fragment in err[0], err
    assert not (tmp_path / 'x').exists()


def test_an_export_that_disagrees_fails_and_writes_nothing(run, tmp_path, monkeypatch, capsys):
    real = run_export._run_onnx
    monkeypatch.setattr(run_export, '_run_onnx',
                        lambda path, batch: real(path, batch) * (1 + 1e-3))
    out = tmp_path / 'export'
    assert ini_gluon.export.main([run, '--out', str(out), '--onnx']) == 1
    err = capsys.readouterr().err
    assert 'the ONNX file (onnxruntime) differs from the live network by 0.001' in err
    assert not out.exists() and os.listdir(str(tmp_path)) == []      # no temporary left


def test_an_export_replaces_an_earlier_one_whole_and_no_user_folder(run, tmp_path, capsys):
    out = tmp_path / 'export'
    assert ini_gluon.export.main([run, '--out', str(out), '--onnx']) == 0
    (tmp_path / ('.ini-gluon-tmp-export-export')).mkdir()      # left by a killed export
    assert ini_gluon.export.main(['--run', run, '--out', str(out), '--which', 'final']) == 0
    assert sorted(os.listdir(str(out))) == sorted([       # the earlier .onnx went with it
        'classes.txt', 'model.json', MODEL + '-symbol.json', MODEL + '-0000.params'])
    assert os.listdir(str(tmp_path)) == ['export']
    with open(str(out / 'model.json')) as f:
        assert json.load(f)['source']['which'] == 'final'
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'notes.txt').write_text('mine')
    capsys.readouterr()
    assert ini_gluon.export.main([run, '--out', str(mine)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'holds files that are not an earlier export (notes.txt)' in err[0]
    assert os.listdir(str(mine)) == ['notes.txt']


@pytest.mark.parametrize('name, text, fragment', [
    ('settings.json', '[1, 2]', 'settings.json is not the settings of a run'),
    ('settings.json', '{"dataset": "digits"}', 'no model, num_classes, mean, std'),
    # an earlier version's run (no record of its best weights): their epoch from metrics.jsonl
    ('metrics.jsonl', '{"epoch": 5}\n', "metrics.jsonl, line 1: not a metrics row"),
    ('metrics.jsonl', '{"epoch": \n', "metrics.jsonl, line 1: not a metrics row"),
    (MODEL + '-best.json', '{"epoch": "x"}', 'is not the record of the best weights'),
    (MODEL + '-best.json', '{"epoch": 3, "sha1": "0"}', 'its writing was interrupted'),
])
def test_a_damaged_run_folder_is_one_line(run, tmp_path, name, text, fragment, capsys):
    import shutil
    copy = str(tmp_path / 'run')
    shutil.copytree(run, copy)
    if name == 'metrics.jsonl':
        os.remove(os.path.join(copy, MODEL + '-best.json'))
    with open(os.path.join(copy, name), 'w') as f:
        f.write(text)
    for command in (lambda: evaluate.main(['--save-dir', copy]),
                    lambda: ini_gluon.export.main([copy, '--out', str(tmp_path / 'x')])):
        assert command() == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0], err


def test_load_weights_of_an_export_under_another_prefix(run):
    export_params = os.path.join(run, 'export-best', MODEL + '-0000.params')
    for _ in range(2):
        net = ig.get_model(MODEL, classes=10)      # this process has built others: new prefix
    saved = mx.nd.load(export_params)
    assert not any(k.split(':')[1].startswith(net.prefix) for k in saved)
    load_weights(net, export_params)
    reference = _reference_net(run, os.path.join(run, MODEL + '-best.params'))
    x = mx.nd.random.normal(shape=(2, 3, 32, 32))
    np.testing.assert_allclose(net(x).asnumpy(), reference(x).asnumpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(RunError, match='does not fit se_resnet8'):
        load_weights(ig.get_model('se_resnet8', classes=10), export_params)
    with pytest.raises(RunError, match=r'stage1_.*has shape \(10, 64\) in the file|has shape'):
        load_weights(ig.get_model(MODEL, classes=3), export_params)


def test_open_run_picks_the_weights(run):
    assert open_run(run, 'best').source['params'].endswith(MODEL + '-best.params')
    final = open_run(run, 'final').source
    assert final['epoch'] == 0 and final['params'].endswith('checkpoint-epoch0000/model.params')


def test_initial_checkpoint_starts_from_the_weights(run, tmp_path, capsys):
    start = os.path.join(run, 'export-best', MODEL + '-0000.params')
    save, data = str(tmp_path / 'fine'), str(tmp_path / 'cifar')
    datasets.write_cifar_binary(data, classes=10, n_train=32, n_test=8)   # any 10 classes
    assert main(['--dataset', 'cifar10', '--data-dir', data, '--model', MODEL, '--num-epochs',
                 '1', '--batch-size', '16', '--lr', '1e-9', '--wd', '0', '--save-dir', save,
                 '-j', '0', '--initial-checkpoint', start]) == 0
    # with a learning rate of 1e-9 the weights stay where they started
    after = _reference_net(save, os.path.join(save, 'checkpoint-epoch0000', 'model.params'))
    before = _reference_net(run, os.path.join(run, MODEL + '-best.params'))
    for (name, a), b in zip(after._collect_params_with_prefix().items(),
                            before._collect_params_with_prefix().values()):
        if 'running' not in name:
            np.testing.assert_allclose(a.data().asnumpy(), b.data().asnumpy(), atol=1e-6)
    with open(os.path.join(save, 'train.log')) as f:
        assert 'initial weights from %s' % start in f.read()
    # weights that do not fit: one line
    capsys.readouterr()
    assert main(['--dataset', 'digits', '--model', 'se_resnet8', '--num-epochs', '1',
                 '--save-dir', str(tmp_path / 'other'), '--initial-checkpoint', start]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'does not fit se_resnet8' in err[0]


def test_the_python_api_on_a_run(run, tmp_path, capsys):
    """ig.open_run, ig.predict and ig.export of a run: what the commands give."""
    trained = ig.open_run(run)
    assert (trained.model, trained.source['which']) == (MODEL, 'best')
    images = os.path.join(ROOT, 'docs', 'examples')
    assert predict.main([run, images, '--json']) == 0
    assert json.loads(json.dumps(ig.predict(run, images, top_k=3))) == \
        json.loads(capsys.readouterr().out)
    info = ig.export(trained, str(tmp_path / 'api' / MODEL), onnx=True)
    assert info['input']['range'] == [0, 255] and max(info['verified'].values()) <= 1e-4
    assert ini_gluon.export.main([run, '--out', str(tmp_path / 'command')]) == 0
    raw = mx.nd.array(np.random.RandomState(2).uniform(0, 255, (2, 3, 32, 32)))
    ours = run_export.import_symbol(info['files']['symbol'], info['files']['params'])
    theirs = run_export.import_symbol(str(tmp_path / 'command' / (MODEL + '-symbol.json')),
                                      str(tmp_path / 'command' / (MODEL + '-0000.params')))
    np.testing.assert_allclose(ours(raw).asnumpy(), theirs(raw).asnumpy(), rtol=1e-6,
                               atol=1e-6)


def test_raw_input_normalises_as_training():
    block = RawInput([0.5, 0.25, 0.125], [0.5, 0.5, 0.25])
    block.initialize()
    x = mx.nd.array(np.full((1, 3, 1, 1), 255.0))
    assert block(x).asnumpy().ravel().tolist() == [1.0, 1.5, 3.5]   # (1 - m) / s by hand


def test_class_names_from_the_meta_file_or_the_official_list(tmp_path):
    datasets.write_cifar_binary(str(tmp_path))
    assert class_names('cifar10', str(tmp_path)) == CIFAR10_NAMES      # no meta file written
    folder = tmp_path / 'cifar-10-batches-bin'
    (folder / 'batches.meta.txt').write_text('\n'.join('c%d' % i for i in range(10)) + '\n\n')
    assert class_names('cifar10', str(tmp_path)) == tuple('c%d' % i for i in range(10))
    assert class_names('svhn') == tuple('0123456789')


def test_best_weights_need_no_checkpoint_and_no_metrics(run, tmp_path, capsys):
    import shutil
    copy = tmp_path / 'run'
    shutil.copytree(run, str(copy))
    os.remove(str(copy / 'metrics.jsonl'))
    (copy / 'checkpoint-epoch0000' / 'meta.json').write_text('{"epoch": ')   # damaged
    assert evaluate.main(['--save-dir', str(copy), '--out', str(tmp_path / 'e')]) == 0
    # the best weights' record names their epoch (the run's one epoch), without metrics.jsonl
    assert 'ini_resnet8_mix5d, best weights (epoch 0), digits test split' in \
        capsys.readouterr().out
    assert evaluate.main(['--save-dir', str(copy), '--which', 'final']) == 2
    assert 'corrupt' in capsys.readouterr().err


def test_the_pictures_of_a_run_folder(run, tmp_path):
    """visualize on a run (--save-dir): the README's commands, on fewer images."""
    from ini_gluon.visualize import main as visualize
    for picture in ('maps', 'gradcam', 'depth'):
        out = str(tmp_path / ('%s.png' % picture))
        assert visualize([picture, '--save-dir', run, '--num-images', '3', '--out', out]) == 0
        with open(out, 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with open(str(tmp_path / 'depth.json')) as f:
        found = json.load(f)['models'][0]
    assert found['images'] == 3 and found['source'] == 'best weights (epoch 0)'


def test_exporting_again_in_a_process_is_silent():
    """Gluon names a constant's initializer after an object's id: a later export that gets a
    freed id made MXNet warn that it overrides the earlier one."""
    import warnings
    from ini_gluon.run.export import RawInput
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        for _ in range(500):  # ids freed at once are reused: about one in ten warned unfiltered
            RawInput([0.5] * 3, [0.25] * 3)
    assert not [w for w in seen if 'overriding' in str(w.message)]
