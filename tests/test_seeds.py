"""python -m ini_gluon.seeds: the launcher of models x seeds and the mean +- std table."""
import json
import os
import shlex

import pytest
from PIL import Image

import datasets
from ini_gluon import seeds

PNG = b'\x89PNG\r\n\x1a\n'
NORM = {'num_classes': 10, 'mean': [0.3, 0.3, 0.3], 'std': [0.4, 0.4, 0.4]}


def _run(folder, model, seed, errors, epochs=None, dataset='cifar10', settings=True,
         exports=True, checkpoint=None, **extra):
    """A fabricated run folder: ``metrics.jsonl`` of the validation ``errors``, and (as the
    training loop writes them) ``settings.json``, the exports, a checkpoint of an epoch."""
    os.makedirs(folder)
    s = dict(NORM, model=model, dataset=dataset, seed=seed,
             num_epochs=len(errors) if epochs is None else epochs, **extra)
    with open(os.path.join(folder, 'metrics.jsonl'), 'w') as f:
        for epoch, error in enumerate(errors):
            f.write(json.dumps({'epoch': epoch, 'train_error': 0.5, 'val_acc': 1 - error,
                                'val_error': error, 'loss': 1.0}) + '\n')
    if settings:
        with open(os.path.join(folder, 'settings.json'), 'w') as f:
            json.dump(s, f)
    for name in ('export-final', 'export-best')[:2 if exports is True else exports]:
        os.makedirs(os.path.join(folder, name))
    if checkpoint is not None:
        path = os.path.join(folder, 'checkpoint-epoch%04d' % checkpoint)
        os.makedirs(path)
        with open(os.path.join(path, 'meta.json'), 'w') as f:
            json.dump({'epoch': checkpoint, 'settings': s}, f)


def _table_runs(root):
    a, b, c = 'ini_resnet8_mix5d', 'se_resnet8', 'resnet8'
    # final errors 0.10, 0.12, 0.14: mean 12.00 %, sample std 2.00 %; their best epochs 0.08,
    # 0.10, 0.12: 10.00 +- 2.00 %
    _run(os.path.join(root, a, 'seed-1'), a, 1, [0.40, 0.08, 0.10])
    _run(os.path.join(root, a, 'seed-2'), a, 2, [0.40, 0.10, 0.12])
    _run(os.path.join(root, a, 'seed-3'), a, 3, [0.40, 0.12, 0.14])
    _run(os.path.join(root, a, 'seed-4'), a, 4, [0.40, 0.09], epochs=3)       # unfinished
    # final 0.20, 0.25: 22.50 +- 3.54 % (0.05 / sqrt(2)); best 0.18, 0.25: 21.50 +- 4.95 %
    # (its second run with another learning rate: a warning)
    _run(os.path.join(root, b, 'seed-1'), b, 1, [0.50, 0.18, 0.20], lr=0.1)
    _run(os.path.join(root, b, 'seed-2'), b, 2, [0.50, 0.30, 0.25], lr=0.05)
    _run(os.path.join(root, b, 'short'), b, 1, [0.60])              # other epochs: another row
    _run(os.path.join(root, 'more', c), c, 7, [0.30])                          # one run


HEAD = '| model | dataset | epochs | runs | test error (%) | best | worst | seeds |'


def test_table_mean_and_sample_std_of_fabricated_runs(tmp_path, capsys):
    root = str(tmp_path / 'runs')
    _table_runs(root)
    assert seeds.main(['table', root]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[lines.index(HEAD) + 2:] == [
        '| `ini_resnet8_mix5d` | cifar10 | 3 | 3 | 12.00 \u00b1 2.00 | 10.00 | 14.00 | 1, 2, 3 |',
        '| `resnet8` | cifar10 | 1 | 1 | 30.00 \u00b1 \u2013 | 30.00 | 30.00 | 7 |',
        '| `se_resnet8` | cifar10 | 1 | 1 | 60.00 \u00b1 \u2013 | 60.00 | 60.00 | 1 |',
        '| `se_resnet8` | cifar10 | 3 | 2 | 22.50 \u00b1 3.54 | 20.00 | 25.00 | 1, 2 |', '',
        'written: %s' % ', '.join(os.path.join(root, name)
                                  for name in ('table.md', 'table.json', 'curves.png'))]
    unfinished = os.path.join(root, 'ini_resnet8_mix5d', 'seed-4')
    assert captured.err.splitlines() == [
        'python -m ini_gluon.seeds table: left out %s: unfinished (2 of 3 epochs)' % unfinished,
        'python -m ini_gluon.seeds table: warning: the runs of se_resnet8 on cifar10 (3 epochs) '
        'differ in lr']
    with open(os.path.join(root, 'table.md')) as f:
        assert f.read() in captured.out
    with open(os.path.join(root, 'table.json')) as f:
        saved = json.load(f)
    assert saved['which'] == 'final' and 'ddof=1' in saved['std']
    a, c, _, b = saved['rows']
    assert (a['n'], a['mean'], a['std']) == (3, pytest.approx(0.12), pytest.approx(0.02))
    assert [(r['seed'], r['error'], r['epoch']) for r in a['runs']] == [
        (1, 0.10, 2), (2, 0.12, 2), (3, 0.14, 2)]
    assert (b['n'], b['mean'], b['std']) == (2, pytest.approx(0.225),
                                          pytest.approx(0.05 / 2 ** 0.5))
    assert (c['n'], c['mean'], c['std']) == (1, 0.30, None)
    assert saved['left_out'] == [{'run': unfinished, 'why': 'unfinished (2 of 3 epochs)'}]
    with open(os.path.join(root, 'curves.png'), 'rb') as f:
        picture = f.read()
    assert picture[:8] == PNG and len(picture) > 10000

    out = str(tmp_path / 'best')
    assert seeds.main(['table', root, '--which', 'best', '--out', out, '--format',
                       'png,pdf,svg', '--dpi', '50', '--label', 'se_resnet8=SE-ResNet-8']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == 'written: %s' % ', '.join(
        os.path.join(out, name) for name in ('table.md', 'table.json', 'curves.png',
                                             'curves.pdf', 'curves.svg'))
    with Image.open(os.path.join(root, 'curves.png')) as image:
        assert image.size == (1200, 500)                   # 12 x 5 inches at 100 dpi
    with Image.open(os.path.join(out, 'curves.png')) as image:
        assert image.size == (600, 250)                    # at 50 dpi
    with open(os.path.join(out, 'curves.pdf'), 'rb') as f:
        assert f.read(5) == b'%PDF-'
    with open(os.path.join(out, 'curves.svg'), 'rb') as f:
        assert b'<svg' in f.read(1000)
    assert lines[lines.index(HEAD) + 2] == (
        '| `ini_resnet8_mix5d` | cifar10 | 3 | 3 | 10.00 \u00b1 2.00 | 8.00 | 12.00 | 1, 2, 3 |')
    assert lines[lines.index(HEAD) + 5] == (
        '| `se_resnet8` | cifar10 | 3 | 2 | 21.50 \u00b1 4.95 | 18.00 | 25.00 | 1, 2 |')
    with open(os.path.join(out, 'table.json')) as f:
        runs = json.load(f)['rows'][0]['runs']
    assert [(r['error'], r['epoch']) for r in runs] == [(0.08, 1), (0.10, 1), (0.12, 1)]


def test_the_curves_are_the_mean_test_error_in_percent(tmp_path):
    root = str(tmp_path / 'runs')
    _table_runs(root)
    rows = seeds.summarise(seeds.collect(seeds.find_runs([root]))[0])
    fig = seeds.curves_figure(rows, ['InI-ResNet-8', None, None, None])
    whole, tail = fig.axes
    assert whole.get_ylabel() == 'test error (%)'
    first = whole.get_lines()[0]           # 0.40, 0.08-0.12, 0.10-0.14 over three runs
    assert first.get_label() == 'InI-ResNet-8 on cifar10 (3 runs, 3 epochs)'
    assert list(first.get_ydata()) == pytest.approx([40.0, 10.0, 12.0])
    assert list(tail.get_lines()[0].get_ydata()) == pytest.approx([10.0, 12.0])
    assert whole.get_lines()[1].get_label() == 'resnet8 on cifar10 (1 runs, 1 epochs)'
    with pytest.raises(SystemExit):                    # --dpi out of bounds: one line
        seeds.main(['table', root, '--dpi', '5'])


def test_table_without_runs_is_one_line(tmp_path, capsys):
    assert seeds.main(['table', str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        'python -m ini_gluon.seeds table: error: no run folder (a folder holding metrics.jsonl) '
        'under %s' % tmp_path]


def test_runs_still_training_started_over_or_not_finite_are_left_out(tmp_path, capsys):
    root = str(tmp_path)
    model = 'resnet8'
    for seed in (1, 2, 3, 4):
        _run(os.path.join(root, 'seed-%d' % seed), model, seed, [0.3, 0.2])
    with open(os.path.join(root, 'seed-2', '.ini-gluon-rank0.lock'), 'w') as f:
        f.write('%d\n' % os.getpid())                  # a live process holds its lock
    settings = os.path.join(root, 'seed-3', 'settings.json')
    os.utime(settings, (os.path.getmtime(settings) - 60,) * 2)    # metrics written after it
    with open(os.path.join(root, 'seed-4', 'metrics.jsonl'), 'a') as f:
        f.write('{"epoch": 2, "val_error": NaN}\n')
    os.utime(os.path.join(root, 'seed-4', 'settings.json'))        # settings.json last
    assert seeds.main(['table', root]) == 0
    out, err = capsys.readouterr()
    assert '| `resnet8` | cifar10 | 2 | 1 | 20.00 \u00b1 \u2013 |' in out       # seed 1 alone
    err = err.splitlines()
    assert len(err) == 3
    assert 'seed-2: still training (process %d)' % os.getpid() in err[0]
    assert 'seed-3: unfinished (a run that started over' in err[1]
    assert 'seed-4: not readable' in err[2] and 'line 3' in err[2]
    assert seeds.run_state(os.path.join(root, 'seed-3')) == 'new'


def _commands(runs):
    return [shlex.join(seeds.train_command(argv)) for argv in runs]


def test_launch_dry_run_prints_the_commands(tmp_path, capsys):
    out = str(tmp_path / 'runs')
    assert seeds.main(['launch', '--models', 'resnet8,se_resnet8', '--seeds', '1,2', '--out', out,
                       '--dry-run', '--dataset', 'digits', '--num-epochs', '1']) == 0
    expected = [['--model', model, '--seed', seed, '--save-dir',
                 os.path.join(out, model, 'seed-' + seed), '--dataset', 'digits',
                 '--num-epochs', '1'] for model in ('resnet8', 'se_resnet8') for seed in '12']
    assert capsys.readouterr().out.splitlines() == _commands(expected)
    assert not os.path.exists(out)                                  # nothing run, nothing made


@pytest.mark.parametrize('argv, flag', [
    (['--seed', '3'], '--seed'), (['--seed=3'], '--seed'), (['--see', '3'], '--seed'),
    (['--model', 'resnet20'], '--model'), (['--save-dir', 'x'], '--save-dir'),
    (['--run', 'x'], '--save-dir'), (['--resume', 'auto'], '--resume'),
    (['--overwrite'], '--overwrite')])
def test_launch_refuses_the_options_it_sets(argv, flag, tmp_path, capsys):
    out = str(tmp_path / 'runs')
    assert seeds.main(['launch', '--models', 'resnet8', '--seeds', '1', '--out', out,
                       '--dataset', 'digits'] + argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ''
    shown = {'--resume': '--resume / --resume-from', '--save-dir': '--run / --save-dir'}.get(
        flag, flag)
    err = captured.err.splitlines()
    assert len(err) == 1 and err[0].startswith(
        'python -m ini_gluon.seeds launch: error: %s is set by the launcher, not passed through '
        'to train_cifar.py: ' % shown), err


def _interrupted_root(root):
    """seed 1 finished; 2 interrupted after a checkpoint; 3 killed between its two exports; 4
    killed before its first checkpoint; 5 never started; 6 exported but one epoch short in
    metrics.jsonl (not finished: its resume writes the rows again)."""
    folder = os.path.join(root, 'resnet8', 'seed-%d').__mod__
    common = dict(dataset='digits', epochs=2, lr=0.1)
    _run(folder(1), 'resnet8', 1, [0.5, 0.4], **common)
    _run(folder(2), 'resnet8', 2, [0.5], settings=False, exports=0, checkpoint=0, **common)
    _run(folder(3), 'resnet8', 3, [0.5, 0.4], exports=1, checkpoint=1, **common)
    _run(folder(4), 'resnet8', 4, [0.5], settings=False, exports=0, **common)
    _run(folder(6), 'resnet8', 6, [0.5], checkpoint=1, **common)
    return folder


def test_launch_skips_finished_and_resumes_interrupted_runs(tmp_path, capsys):
    root = str(tmp_path / 'runs')
    folder = _interrupted_root(root)
    extra = ['--dataset', 'digits', '--num-epochs', '2']
    runs = seeds.plan(['resnet8'], [1, 2, 3, 4, 5, 6], root, extra)
    assert [r.state for r in runs] == ['finished', 'resume', 'resume', 'new', 'new', 'resume']
    assert seeds.main(['launch', '--models', 'resnet8', '--seeds', '1,2,3,4,5,6', '--out', root,
                       '--dry-run'] + extra) == 0
    resume = ['--resume', 'auto']
    # seed 4 left metrics and best weights, no checkpoint: its new run starts over them
    expected = [['--model', 'resnet8', '--seed', str(k), '--save-dir', folder(k)] + extra
                + (resume if k in (2, 3, 6) else ['--overwrite'] if k == 4 else [])
                for k in (2, 3, 4, 5, 6)]
    assert capsys.readouterr().out.splitlines() == [
        '# finished, skipped: %s' % folder(1)] + _commands(expected)


def test_launch_refuses_a_run_folder_of_other_settings(tmp_path, capsys):
    root = str(tmp_path / 'runs')
    folder = _interrupted_root(root)
    for seed, argv, what, diff in [
            ('1', ['--num-epochs', '3'], 'a finished', 'num_epochs 3 (the run\'s: 2)'),
            ('2', ['--num-epochs', '2', '--lr', '0.05'], 'an interrupted',
             'lr 0.05 (the run\'s: 0.1)')]:
        assert seeds.main(['launch', '--models', 'resnet8', '--seeds', seed, '--out', root,
                           '--dataset', 'digits'] + argv) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and err[0].startswith(
            'python -m ini_gluon.seeds launch: error: %s holds %s run with other settings: '
            % (folder(int(seed)), what)), err
        assert diff in err[0]


def test_a_failing_run_stops_the_launcher(tmp_path, monkeypatch, capsys):
    root = str(tmp_path / 'runs')
    calls = []

    def call(command):
        calls.append(command)
        return [0, 3][len(calls) - 1]
    monkeypatch.setattr(seeds, '_call', call)
    assert seeds.main(['launch', '--models', 'resnet8', '--seeds', '1,2,3', '--out', root,
                       '--dataset', 'digits']) == 1
    captured = capsys.readouterr()
    assert len(calls) == 2                                   # the third never started
    assert [line.split(': ')[1] for line in captured.out.splitlines()] == [
        '[1/3] resnet8 seed 1 in %s' % os.path.join(root, 'resnet8', 'seed-1'),
        '[2/3] resnet8 seed 2 in %s' % os.path.join(root, 'resnet8', 'seed-2')]
    assert captured.err.splitlines() == [
        'python -m ini_gluon.seeds launch: run %s failed (exit status 3): the runs before it '
        'are kept; the same command again continues from it'
        % os.path.join(root, 'resnet8', 'seed-2')]


@pytest.mark.slow
def test_a_real_launch_of_one_seed_then_its_table(tmp_path, monkeypatch, capsys):
    root, data = str(tmp_path / 'runs'), str(tmp_path / 'cifar')
    datasets.write_cifar_binary(data, classes=10, n_train=32, n_test=8)
    argv = ['launch', '--models', 'resnet8', '--seeds', '1', '--out', root, '--dataset',
            'cifar10', '--data-dir', data, '--num-epochs', '1', '--batch-size', '16',
            '--log-interval', '0', '-j', '0']
    assert seeds.main(argv) == 0
    run = os.path.join(root, 'resnet8', 'seed-1')
    assert capsys.readouterr().out.splitlines()[0] == (
        'python -m ini_gluon.seeds launch: [1/1] resnet8 seed 1 in %s: new run' % run)
    assert seeds.run_state(run) == 'finished'
    with open(os.path.join(run, 'metrics.jsonl')) as f:
        error = json.loads(f.read())['val_error']

    monkeypatch.setattr(seeds, '_call', None)                # again: nothing to run
    assert seeds.main(argv) == 0
    assert 'finished already, skipped' in capsys.readouterr().out

    assert seeds.main(['table', root]) == 0
    assert '| `resnet8` | cifar10 | 1 | 1 | %.2f \u00b1 \u2013 |' % (100 * error) in \
        capsys.readouterr().out
    with open(os.path.join(root, 'curves.png'), 'rb') as f:
        assert f.read(8) == PNG
