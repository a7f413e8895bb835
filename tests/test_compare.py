"""python -m ini_gluon.compare: the side-by-side table, JSON and chart."""
import json
import os
import xml.etree.ElementTree as ElementTree

import pytest
from PIL import Image

import datasets
from ini_gluon import compare
import ini_gluon as ig


def test_compare_two_small_models(tmp_path, capsys):
    out = str(tmp_path / 'cmp')
    assert compare.main(['--models', 'ini_resnet8_mix5d,se_resnet8', '--batch-size', '8',
                         '--repeats', '2', '--iters', '1', '--out', out]) == 0
    table = capsys.readouterr().out
    with open(os.path.join(out, 'compare.json')) as f:
        rows = json.load(f)['rows']
    assert [r['model'] for r in rows] == ['ini_resnet8_mix5d', 'se_resnet8']
    for r in rows:
        assert r['train_img_s'] > 0 and r['infer_img_s'] > 0
        assert r['params'] == ig.count_params(ig.get_model(r['model']))
        assert r['flops'] > 1e6
    assert rows[0]['params'] > rows[1]['params']           # InI costs more than SE
    assert '| `se_resnet8` | {:,} |'.format(rows[1]['params']) in table
    with open(os.path.join(out, 'compare.md')) as f:
        assert f.read() == table
    with open(os.path.join(out, 'compare.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_compare_the_error_of_a_run(tmp_path, capsys):
    from ini_gluon.training import main
    save, data = str(tmp_path / 'run'), str(tmp_path / 'cifar')
    datasets.write_cifar_binary(data, classes=10, n_train=64, n_test=40)
    assert main(['--dataset', 'cifar10', '--data-dir', data, '--model', 'se_resnet8',
                 '--num-epochs', '1', '--batch-size', '16', '--save-dir', save, '-j', '0',
                 '--log-interval', '0']) == 0
    with open(os.path.join(save, 'metrics.jsonl')) as f:
        val_error = json.loads(f.readline())['val_error']
    # the model is the run's (no --models); the picture in three formats, at 50 dpi, named
    out = tmp_path / 'c'
    assert compare.main(['--run', save, '--batch-size', '4', '--repeats', '1', '--iters', '1',
                         '--out', str(out), '--format', 'png,pdf,svg', '--dpi', '50',
                         '--label', 'se_resnet8=SE-ResNet-8']) == 0
    with open(str(out / 'compare.json')) as f:
        row = json.load(f)['rows'][0]
    assert row['model'] == 'se_resnet8'
    assert row['val_error'] == pytest.approx(val_error)    # the run's own evaluation, same split
    assert '| %.2f |' % (100 * row['val_error']) in capsys.readouterr().out   # in %
    with Image.open(str(out / 'compare.png')) as image:
        assert image.size == (550, 250)                    # 11 x 5 inches at 50 dpi
    with open(str(out / 'compare.pdf'), 'rb') as f:
        assert f.read(5) == b'%PDF-'
    assert ElementTree.parse(str(out / 'compare.svg')).getroot().tag == \
        '{http://www.w3.org/2000/svg}svg'


def test_a_full_disk_while_compare_writes_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    """The table is measured; writing it finds the disk full: one line (the machine's fault,
    exit 1), no traceback, nothing half written."""
    import errno

    def no_space(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, 'No space left on device', path)
    monkeypatch.setattr(compare, 'atomic_write_text', no_space)
    out = tmp_path / 'cmp'
    assert compare.main(['--models', 'resnet8', '--batch-size', '2', '--repeats', '1',
                         '--iters', '1', '--out', str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('python -m ini_gluon.compare: error: ') and \
        'No space left on device' in err[0], err
    assert not out.exists() or os.listdir(str(out)) == []


def test_compare_bad_input(capsys):
    assert compare.main(['--models', 'ini_resnet8_mix9']) == 2
    assert 'unknown model name' in capsys.readouterr().err
    assert compare.main(['--models', 'resnet8,se_resnet8', '--params', 'a.params']) == 2
    assert 'one parameter file or run per model' in capsys.readouterr().err


@pytest.mark.parametrize('argv, fragment', [
    (['--models', 'se_resnet20', '--batch-size', '0'], '--batch-size must be >= 1, not 0'),
    (['--models', 'se_resnet20', '--input-size', '8'], '--input-size must be >= 32'),
    (['--models', ','], '--models names no model'),
    (['--batch-size', '8'], 'give the models: --models A,B, or their runs, --run RUN for each'),
    (['--models', 'se_resnet20', '--save-dirs', '/nonexistent/run'], '/nonexistent/run'),
    (['--models', 'se_resnet20', '--repeats', 'x'], "invalid int value: 'x'"),
])
def test_compare_bad_input_is_one_line(argv, fragment, capsys, tmp_path):
    try:
        status = compare.main(argv + ['--out', str(tmp_path / 'out')])
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith('python -m ini_gluon.compare: error: ') and fragment in err[0]
    assert not (tmp_path / 'out').exists()
