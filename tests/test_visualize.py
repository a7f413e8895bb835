"""python -m ini_gluon.visualize: each picture on the offline digits set, from weights given by
--model/--params (freshly initialised: the pictures need no training), and its numbers; the
formats, resolution, names and legibility of the pictures."""
import json
import os
import xml.etree.ElementTree as ElementTree

import mxnet as mx
import numpy as np
import pytest
from matplotlib.text import Text
from PIL import Image

from ini_gluon import get_model
from ini_gluon.analysis.inspect import inspect
from ini_gluon.data.datasets import load_digits
from ini_gluon.data.pipeline import normalisation
from ini_gluon.run.figures import display_names, written_by
from ini_gluon import visualize
from ini_gluon.visualize import SOFTWARE, main, open_models

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
    (['depth', '--run', '/nonexistent/run'], '/nonexistent/run'),
    (['maps', '--label', 'resnet164=R'], '--label resnet164=R: resnet164 names no model'),
    (['curve', '--run', 'a', '--run', 'b'], 'curve draws one run'),
])
def test_bad_input_is_one_line_and_exit_2(weights, tmp_path, capsys, argv, message):
    if not {'--params', '--model', '--save-dir', '--run'} & set(argv):
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
    with pytest.raises(SystemExit) as exit_:                            # not a picture's file
        main(['maps', '--out', str(tmp_path / 'depth.json')])
    assert exit_.value.code == 2 and \
        '--out: expected a file ending in .png, .pdf, .svg' in capsys.readouterr().err
    (tmp_path / 'mine.pdf').write_bytes(b'%PDF-1.4 a user\'s paper')          # not a picture's
    assert main(['gradcam', '--out', str(tmp_path / 'mine.pdf')] +
                _sources(weights, 'se_resnet8')) == 2
    assert 'mine.pdf exists and was not written by' in capsys.readouterr().err
    assert (tmp_path / 'mine.pdf').read_bytes() == b'%PDF-1.4 a user\'s paper'
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


def _near(pixels, expected):
    """Pixels as matplotlib counts them: inches x dpi, rounded down (4.6 x 100 is 459.99...)."""
    return all(abs(p - e) < 1 for p, e in zip(pixels, expected))


def _colour_bar(ax):
    return getattr(ax, '_colorbar', None) is not None


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]


def test_each_picture_in_pdf_and_svg_at_a_dpi_with_its_names(weights, tmp_path, monkeypatch,
                                                             capsys):
    drawn = {}                                 # the figures drawn, by picture
    for name in ('maps_figure', 'depth_figure', 'per_class_figure', 'gradcam_figure'):
        real = getattr(visualize, name)
        monkeypatch.setattr(visualize, name,
                            lambda *a, _real=real, _name=name: drawn.setdefault(_name, _real(*a)))
    label = ['--label', 'se_resnet8=SE-ResNet-8']
    # maps: PDF and SVG; gradcam: the three formats at 40 dpi; depth: the format of --out's
    # extension, for both its pictures (a PDF or an SVG takes a third of a second more each):
    # every picture as a PDF
    for picture, extra, written in (
            ('maps', ['--blocks', 'stage1.0', '--format', 'pdf,svg'], ['maps.pdf', 'maps.svg']),
            ('gradcam', ['--format', 'png,pdf,svg', '--dpi', '40'],
             ['gradcam.png', 'gradcam.pdf', 'gradcam.svg']),
            ('depth', ['--per-class'], ['depth.pdf', 'depth-per-class.pdf'])):
        out = str(tmp_path / ('%s.%s' % (picture, 'pdf' if picture == 'depth' else 'png')))
        argv = [picture, '--num-images', '1', '--out', out] + extra + label
        assert main(argv + _sources(weights, 'se_resnet8')) == 0
        assert set(written) <= set(os.listdir(str(tmp_path)))
        for name in written:
            path = str(tmp_path / name)
            assert written_by(path) == SOFTWARE                # each says who wrote it
            if name.endswith('.pdf'):           # fonts embedded as TrueType, not Type 3
                with open(path, 'rb') as f:
                    pdf = f.read()
                assert pdf.startswith(b'%PDF-') and b'/FontFile2' in pdf, name
                assert b'/Type3' not in pdf, name
            if name.endswith('.svg'):
                root = ElementTree.parse(path).getroot()
                assert root.tag == '{http://www.w3.org/2000/svg}svg'
        fig = drawn['%s_figure' % picture]
        # the display name, in titles or legends; no text smaller than 8 points
        assert any('SE-ResNet-8' in t.get_text() for t in _texts(fig)), picture
        assert min(t.get_fontsize() for t in _texts(fig)) >= 8, picture
    assert not (tmp_path / 'maps.png').exists() and not (tmp_path / 'depth.png').exists()
    # --dpi: the PNG's pixels are the figure's inches times the dpi (default 100)
    width, height = drawn['gradcam_figure'].get_size_inches()
    with Image.open(str(tmp_path / 'gradcam.png')) as image:
        assert _near(image.size, (width * 40, height * 40)), image.size
    assert visualize.build_parser().parse_args(['maps']).dpi == 100
    assert min(t.get_fontsize() for t in _texts(drawn['per_class_figure'])) >= 8
    capsys.readouterr()
    # the maps and Grad-CAM have colour bars; the attention values' channels integer ticks
    maps, cam = drawn['maps_figure'], drawn['gradcam_figure']
    assert [_colour_bar(ax) for ax in maps.axes].count(True) == 1        # 1 image, 1 block
    assert [_colour_bar(ax) for ax in cam.axes].count(True) == 1
    s_axis = [ax for ax in maps.axes if ax.get_ylabel() == 's'][0]
    low, high = s_axis.get_xlim()
    ticks = [t for t in s_axis.get_xticks() if low <= t <= high]
    assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks), ticks
    # and whole numbers whatever the channels: a block of 2 (-0.5 to 1.5) is not ticked at 0.5
    assert all(float(t).is_integer()
               for t in s_axis.xaxis.get_major_locator().tick_values(-0.5, 1.5))


def test_display_names_by_model_run_or_file(weights, tmp_path):
    runs = [('ini_resnet8_mix5d', None, 'runs/a'), ('se_resnet8', 'cifar_se_x', 'runs/b/'),
            ('se_resnet8', None, 'c.params')]
    assert display_names([('se_resnet8', 'SE')], runs) == [None, 'SE', 'SE']
    assert display_names([('se_resnet8', 'SE'), ('runs/b', 'SE (b)')], runs) == [
        None, 'SE (b)', 'SE']
    assert display_names([('./c.params', 'C'), (os.path.abspath('runs/a'), 'A')], runs) == [
        'A', None, 'C']
    with pytest.raises(ValueError, match=r'--label x=X: x names no model pictured here '
                                         r'\(ini_resnet8_mix5d, se_resnet8\)'):
        display_names([('x', 'X')], runs)
    # two models of one display name are told apart by their files, as two of one model name
    copy = str(tmp_path / 'se_resnet8-copy.params')
    with open(weights['se_resnet8'], 'rb') as f, open(copy, 'wb') as g:
        g.write(f.read())
    models = open_models(models=['se_resnet8'] * 2, params=[weights['se_resnet8'], copy],
                         dataset='digits', batch=8, names=[('se_resnet8', 'SE')])
    assert [m.label for m in models] == ['SE (se_resnet8.params)', 'SE (se_resnet8-copy.params)']
