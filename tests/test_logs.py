"""What a run says while it trains and draws: the --log-interval lines (errors in %), the
epoch line, the training-curve figure (and visualize curve), compare.png, and the options both
training scripts share (--help, --dry-run)."""
import json
import os
import re

import matplotlib
matplotlib.use('Agg')
import matplotlib.image  # noqa: E402
import pytest  # noqa: E402

from ini_gluon import compare  # noqa: E402
from ini_gluon.training import main, main_imagenet, resolve, build_parser  # noqa: E402
from ini_gluon.data import cifar_data  # noqa: E402
from ini_gluon.training import loop, progress  # noqa: E402
from ini_gluon.run.figures import history_figure, written_by  # noqa: E402
from ini_gluon.run.settings import from_json, to_json  # noqa: E402
from ini_gluon import visualize  # noqa: E402
import datasets  # noqa: E402

MODEL = 'resnet8'
N_TRAIN, BATCH = 40, 8                   # 5 batches an epoch
PNG = b'\x89PNG\r\n\x1a\n'
# Epoch[0] Batch [3/5]\tSpeed: 412.3 samples/sec\ttrain-err=95.00%\tloss=2.41\tlr=0.05
LINE = re.compile(r'(\[rank (\d+)\] )?Epoch\[(\d+)\] Batch \[(\d+)/(\d+)\]\tSpeed: (\S+) '
                  r'samples/sec\ttrain-err=(\S+)%\tloss=(\S+)\tlr=(\S+)$')


@pytest.fixture(scope='module')
def cifar_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar')
    datasets.write_cifar_binary(str(root), classes=10, n_train=N_TRAIN, n_test=10)
    return str(root)


def _argv(cifar_dir, save, *extra):
    return ['--model', MODEL, '--dataset', 'cifar10', '--data-dir', cifar_dir, '--save-dir',
            save, '--batch-size', str(BATCH), '--num-epochs', '1', '--lr', '0.05', '-j', '0',
            '--log-interval', '1'] + list(extra)


def _lines(path):
    with open(path) as f:
        found = [LINE.search(line.rstrip('\n')) for line in f if 'Batch [' in line]
    assert all(found), found
    return found


@pytest.fixture(scope='module')
def run(cifar_dir, tmp_path_factory):
    save = str(tmp_path_factory.mktemp('run') / 'run')
    assert main(_argv(cifar_dir, save)) == 0
    with open(os.path.join(save, 'metrics.jsonl')) as f:
        rows = [json.loads(line) for line in f]
    return save, rows


# ---------------------------------------------------------------- --log-interval lines
def test_one_line_per_interval_with_speed_and_the_running_metric(run):
    save, rows = run
    lines = _lines(os.path.join(save, 'train.log'))
    batches = N_TRAIN // BATCH
    assert len(lines) == batches
    assert [(int(m.group(3)), int(m.group(4)), int(m.group(5))) for m in lines] == \
        [(0, b, batches) for b in range(1, batches + 1)]
    assert all(m.group(1) is None for m in lines)            # one worker: no rank
    assert all(float(m.group(6)) > 0 for m in lines)
    # the error (%) of the epoch so far counts whole mistakes, never fewer as the epoch goes on
    wrong = [float(m.group(7)) / 100 * BATCH * int(m.group(4)) for m in lines]
    assert all(abs(w - round(w)) < 0.005 for w in wrong), wrong
    steps = [round(b) - round(a) for a, b in zip([0] + wrong, wrong)]
    assert all(0 <= s <= BATCH for s in steps), steps
    # the last line is the whole epoch: metrics.jsonl's training error and loss
    assert float(lines[-1].group(7)) == pytest.approx(100 * rows[0]['train_error'], abs=0.005)
    assert float(lines[-1].group(8)) == pytest.approx(rows[0]['loss'], rel=1e-5)
    assert float(lines[-1].group(9)) == pytest.approx(rows[0]['lr'])


def test_interval_and_zero_turns_them_off(cifar_dir, tmp_path):
    save = str(tmp_path / 'auto')          # 5 batches: a quarter of the epoch, rounded up, 2
    assert main(_argv(cifar_dir, save, '--log-interval', 'auto')) == 0
    assert [int(m.group(4)) for m in _lines(os.path.join(save, 'train.log'))] == [2, 4]
    off = str(tmp_path / 'off')
    assert main(_argv(cifar_dir, off, '--log-interval', '0')) == 0
    assert _lines(os.path.join(off, 'train.log')) == []


def test_a_resume_may_change_the_log_interval(run, cifar_dir, capsys):
    save, _ = run
    assert main(_argv(cifar_dir, save, '--resume', 'auto', '--log-interval', '7')) == 0
    with open(os.path.join(save, 'train.log')) as f:
        assert 'resumed from %s' % os.path.join(save, 'checkpoint-epoch0000') in f.read()


def test_imagenet_lines_carry_top1_and_top5(tmp_path):
    import numpy as np
    from PIL import Image
    rng, classes = np.random.RandomState(0), 7
    for split, n in (('train', 4), ('val', 1)):
        for c in range(classes):
            folder = tmp_path / 'tree' / split / ('class%d' % c)
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = np.clip(rng.normal(30 * c, 30, (36, 36, 3)), 0, 255).astype('uint8')
                Image.fromarray(pixels).save(str(folder / ('%d.jpg' % i)))
    save = str(tmp_path / 'run')
    assert main_imagenet(['--model', 'resnet18_v1', '--data-dir', str(tmp_path / 'tree'),
                          '--input-size', '32', '--classes', str(classes), '--batch-size', '7',
                          '--num-epochs', '1', '--save-dir', save, '-j', '0',
                          '--log-interval', '1']) == 0
    with open(os.path.join(save, 'train.log')) as f:
        log = f.read()
        lines = [re.search(r'Batch \[(\d)/4\]\tSpeed: \S+ samples/sec\ttop1-err=(\S+)%\t'
                           r'top5-err=(\S+)%\tloss=\S+\tlr=\S+$', line)
                 for line in log.splitlines() if 'Batch [' in line]
    assert len(lines) == 4 and all(lines)
    wrong = [(0, 0)]            # mistakes so far, top-1 and top-5: whole numbers
    for m in lines:
        seen = 7 * int(m.group(1))
        top1, top5 = float(m.group(2)) / 100, float(m.group(3)) / 100
        assert abs(top1 * seen - round(top1 * seen)) < 0.005
        assert abs(top5 * seen - round(top5 * seen)) < 0.005
        wrong.append((round(top1 * seen), round(top5 * seen)))
    # in every batch a top-5 miss is a top-1 miss too
    assert all(0 <= b5 - a5 <= b1 - a1 for (a1, a5), (b1, b5) in zip(wrong, wrong[1:])), wrong
    with open(os.path.join(save, 'metrics.jsonl')) as f:
        row = json.loads(f.readline())
    assert top1 == pytest.approx(row['train_error'], abs=5e-5)
    assert top5 < top1                    # 5 guesses of 7 classes hit more often than 1
    # the epoch line: errors in %, the validation top-5 error too
    assert '[Epoch 0] train-err=%.2f%% val-err=%.2f%% val-top5-err=%.2f%% loss=' % (
        100 * row['train_error'], 100 * row['val_error'], 100 * row['val_top5_error']) in log


def test_top_k_hits_counts_the_label_among_the_best_scores():
    import mxnet as mx
    import numpy as np
    scores = np.array([[7, 6, 5, 4, 3, 2, 1],      # ranks: class 0 first ... class 6 last
                       [1, 2, 3, 4, 5, 6, 7],      # class 6 first ... class 0 last
                       [0, 0, 9, 0, 0, 0, 0]], dtype='float32')
    parts = [mx.nd.array(scores[:2]), mx.nd.array(scores[2:])]      # split over two devices
    assert progress.top_k_hits(parts, np.array([4, 2, 2]), 5) == 3
    assert progress.top_k_hits(parts, np.array([5, 1, 2]), 5) == 1     # 6th and 6th best: misses
    assert progress.top_k_hits(parts, np.array([0, 6, 2]), 1) == 3
    assert progress.top_k_hits(parts, np.array([1, 5, 3]), 1) == 0


def test_the_rank_is_on_every_line_of_a_distributed_run():
    line = progress.interval_line(3, 10, 20, 123.5, [('train-err', 0.25), ('loss', 1.5)], 0.1,
                              rank=1)
    assert line == ('[rank 1] Epoch[3] Batch [10/20]\tSpeed: 123.500000 samples/sec'
                    '\ttrain-err=25.00%\tloss=1.500000\tlr=0.1')
    assert LINE.match(line).group(2) == '1'
    assert progress.interval_line(3, 10, 20, 123.5, [], 0.1).startswith('Epoch[3] Batch [10/20]')
    # ImageNet's: running top-1 and top-5 error
    assert [k for k, _ in progress.running_metrics(8, 6, 4.0, 7)] == ['top1-err', 'top5-err',
                                                                    'loss']
    assert progress.running_metrics(8, 6, 4.0, 7)[1][1] == pytest.approx(1 / 8.)


def test_the_loop_of_a_second_worker_says_its_rank(cifar_dir, tmp_path):
    # worker 1 of 2, without the parameter server: the loop's own lines, on its shard
    s = resolve(build_parser().parse_args(_argv(cifar_dir, str(tmp_path / 'w'))))
    os.makedirs(s.save_dir)
    loop.train(s, cifar_data, None, 1, 2)
    lines = _lines(os.path.join(s.save_dir, 'train-rank1.log'))
    assert len(lines) == N_TRAIN // 2 // BATCH and all(m.group(2) == '1' for m in lines)


# ---------------------------------------------------------------- figures
def _valid_png(path):
    with open(path, 'rb') as f:
        assert f.read(8) == PNG
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
    return image


def _integers(ax):
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    return ticks and all(float(t).is_integer() for t in ticks)


def test_the_interval_fits_the_epoch_where_auto():
    # GluonCV's 50 from an epoch of 200 batches on; 4 lines an epoch below (the digits demo's
    # 22 batches: every 6); a number given is kept
    assert [progress.log_every('auto', b) for b in (1, 4, 5, 22, 199, 200, 782)] == [
        1, 1, 2, 6, 50, 50, 50]
    assert [progress.log_every(n, 22) for n in (0, 1, 50)] == [0, 1, 50]
    s = resolve(build_parser().parse_args(['--dataset', 'digits', '--model', MODEL]))
    assert s.log_interval == 'auto' and from_json(to_json(s)).log_interval == 'auto'
    with pytest.raises(ValueError, match='setting log_interval is "often", expected a int'):
        from_json(dict(to_json(s), log_interval='often'))


def test_the_history_figure(run):
    save, rows = run
    _valid_png(os.path.join(save, MODEL + '_history.png'))
    assert not [n for n in os.listdir(save) if n.startswith('.ini-gluon-tmp')]
    fig = history_figure(rows, MODEL, 'cifar10')
    err, loss, lr = fig.axes
    assert fig.get_suptitle() == '%s on cifar10' % MODEL
    assert err.get_yscale() == 'log' and lr.get_yscale() == 'log'
    assert _integers(loss) and _integers(err)
    labels = [line.get_label() for line in err.get_lines()]
    assert labels[:2] == ['training error', 'validation error']
    # many epochs, a decay, an error of 0 (drawn at the floor, not lost)
    many = [dict(rows[0], epoch=e, train_error=0.5 / (e + 1) if e < 6 else 0.0,
                 lr=0.1 if e < 4 else 0.01) for e in range(9)]
    fig = history_figure(many, MODEL, 'cifar10')
    err, loss, lr = fig.axes
    assert _integers(loss) and err.get_yscale() == 'log'
    assert min(err.get_lines()[0].get_ydata()) > 0
    assert sorted(set(lr.get_lines()[0].get_ydata())) == [0.01, 0.1]


def test_the_curve_of_a_run_for_a_paper(run, tmp_path, monkeypatch, capsys):
    save, rows = run
    drawn = []
    monkeypatch.setattr(visualize, 'history_figure',
                        lambda *a: drawn.append(history_figure(*a)) or drawn[-1])
    out = str(tmp_path / 'curve.pdf')
    assert visualize.main(['curve', '--run', save, '--out', out, '--format', 'pdf,svg,png',
                           '--dpi', '40', '--label', MODEL + '=ResNet-8']) == 0
    assert capsys.readouterr().out == 'written: %s\n' % ', '.join(
        str(tmp_path / ('curve.%s' % f)) for f in ('pdf', 'svg', 'png'))
    with open(out, 'rb') as f:
        assert f.read(5) == b'%PDF-'
    with open(str(tmp_path / 'curve.svg'), 'rb') as f:
        assert b'<svg' in f.read(1000)
    assert written_by(str(tmp_path / 'curve.svg')) == visualize.SOFTWARE
    fig, = drawn                          # the training curve, of metrics.jsonl, named
    assert fig.get_suptitle() == 'ResNet-8 on cifar10'
    assert [r['val_error'] for r in visualize.history_rows(save)] == [r['val_error']
                                                                      for r in rows]
    err = fig.axes[0]
    assert list(err.get_lines()[1].get_ydata()) == pytest.approx([r['val_error'] for r in rows])
    # 7.5 x 7 inches at 40 dpi
    assert _valid_png(str(tmp_path / 'curve.png')).shape[:2] == (280, 300)


@pytest.mark.parametrize('accuracy', [True, False])
def test_compare_png(accuracy, tmp_path):
    rows = [{'model': 'ini_resnet8_mix5d', 'params': 90000, 'flops': 1e7, 'train_img_s': 50.0,
             'infer_img_s': 200.0},
            {'model': 'se_resnet8', 'params': 80000, 'flops': 1e7, 'train_img_s': 70.0,
             'infer_img_s': 260.0}]
    if accuracy:
        rows[0]['val_error'] = 0.1
    setup = '32x32 inputs, batch 8, 10 classes, MXNet 1.9.1 on CPU (2 cores)'
    path = str(tmp_path / 'compare.png')
    fig = compare.plot(rows, path, setup, names=[None, 'SE-ResNet-8'])
    _valid_png(path)
    ax = fig.axes[0]
    assert ax.get_xlabel() == 'inference throughput (images / s)'
    assert ax.get_ylabel() == ('validation error (%)' if accuracy else 'parameters (millions)')
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ['ini_resnet8_mix5d (0.09 M params)'] + (
        [] if accuracy else ['SE-ResNet-8 (0.08 M params)'])
    points = [(float(p.get_xdata()[0]), float(p.get_ydata()[0])) for p in ax.get_lines()]
    assert points == ([(200.0, pytest.approx(10.0))] if accuracy else [(200.0, 0.09),
                                                                        (260.0, 0.08)])
    texts = [t.get_text() for t in ax.texts]
    assert any(('no validation error: SE-ResNet-8' if accuracy else 'give --params or --run')
               in t for t in texts), texts
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ['ini_resnet8_mix5d',
                                                                      'SE-ResNet-8']
    assert [t.get_text() for t in fig.texts] == [setup]


# ---------------------------------------------------------------- the shared options
def test_help_names_the_shared_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(['--help'])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for flag in ('--lr-mode {step,cosine,poly,exponential}', '--warmup-epochs N',
                 '--dtype {float32,float16}', '--log-interval N'):
        assert flag in out, flag


@pytest.mark.parametrize('run_script, argv', [
    (main, ['--dtype', 'float16']),
    (main_imagenet, ['--dtype', 'float16']),
    (main, ['--log-interval', '-1']),
])
def test_float16_needs_gpus_in_one_line(run_script, argv, capsys):
    assert run_script(argv + ['--save-dir', '/nonexistent/never']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ': error: --' in err[0], err
    assert ('float16 trains on GPUs only' if 'float16' in argv else 'must be >= 0') in err[0]


@pytest.mark.parametrize('run_script', [main, main_imagenet])
def test_dry_run_shows_the_shared_options(run_script, capsys):
    assert run_script(['--dry-run']) == 0
    out = json.loads(capsys.readouterr().out)
    assert out['log_interval'] == {'value': 'auto', 'source': 'default'}
    assert out['lr_mode'] == {'value': 'step', 'source': 'default'}
    assert out['warmup_epochs'] == {'value': 0, 'source': 'default'}
    assert out['dtype'] == {'value': 'float32', 'source': 'default'}
    assert run_script(['--dry-run', '--lr-mode', 'cosine', '--warmup-epochs', '2',
                       '--log-interval', '10']) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out['lr_mode'], out['warmup_epochs'], out['log_interval']) == (
        {'value': 'cosine', 'source': 'user'}, {'value': 2, 'source': 'user'},
        {'value': 10, 'source': 'user'})


def test_the_curve_is_drawn_within_5_percent_of_the_run_and_after_its_last_epoch(tmp_path,
                                                                                monkeypatch):
    drawn = []
    monkeypatch.setattr(progress, 'plot_history', lambda rows, *args: drawn.append(len(rows)))
    curve = progress.Curve(str(tmp_path / 'c.png'), MODEL, 'digits')
    rows = [{'epoch': 0, 'val_error': 0.5}]
    # a short first epoch: a drawing (0.3 s expected) would be more than 5 % of it
    assert not curve.draw(rows, last=False) and drawn == []
    assert curve.draw(rows, last=True) and drawn == [1]        # the last epoch: always
    curve.start -= 100                                          # 100 s into the run
    curve.cost, curve.drawing = 2.0, 2.0                        # 4 s of 5 s allowed: drawn
    assert curve.draw(rows * 2, last=False) and drawn == [1, 2]
    curve.cost, curve.drawing = 2.0, 3.5                        # 5.5 s: not drawn
    assert not curve.draw(rows * 3, last=False) and drawn == [1, 2]
