"""``python -m ini_gluon.seeds``: results over several runs, as the InI paper reports every
CIFAR result (test error, mean +- std over 5 runs: InI paper, Tables II-IV; test-accuracy
curves over 5 runs: Fig. 6).

``launch --models A,B --seeds 1,2,3 --out ROOT [--dry-run] [train_cifar.py options]`` trains
each model with each seed, one run after another, each in a process of its own:
``train_cifar.py --model A --seed K --save-dir ROOT/A/seed-K`` and the other options as given.
The launcher sets ``--model``, ``--seed``, ``--save-dir`` and ``--resume`` itself, and decides
what happens to a folder (``--overwrite`` is not for it): they are refused among the options
passed through.  Nothing is lost by stopping it: the same command
again skips the finished runs and continues an interrupted one with ``--resume auto`` from its
latest complete checkpoint.  A run is *finished* when its run folder holds ``settings.json``
(written after the last epoch), ``num_epochs`` rows of ``metrics.jsonl`` and ``export-final/``
and ``export-best/`` (the run's last writes); a folder with a complete checkpoint and not
finished is *interrupted*; any other starts anew (with ``--overwrite`` where a run stopped
before its first checkpoint left files there).  Before any run starts, the settings of
every run are resolved as ``train_cifar.py --dry-run`` resolves them, and a finished or
interrupted run trained with other settings (those a resume may not change: model, data set,
epochs, schedule, seed, ...) is refused in one line: it would be skipped with its old settings,
or refused by its own resume after the runs before it.  A run that fails stops the launcher
(exit 1) with a line naming its folder and exit status; the runs before it stay as they are.
SIGINT, SIGTERM or SIGHUP to the launcher stop the run in progress (SIGTERM to it and what it
started, SIGKILL 5 s later or at once on a second signal) and end the launcher with one line
naming that run (exit 128 + the signal); the run dies with the launcher even when the launcher
is killed by SIGKILL (:mod:`ini_gluon.training.processes`).

``table ROOT... [--which final|best] [--out DIR]`` finds the run folders under the roots (each
folder holding ``metrics.jsonl``), groups the finished runs by model, data set and number of
epochs (runs of one model with other ``--num-epochs`` are another row), and writes the test
error of each group into ``DIR/table.md`` (also on stdout), ``DIR/table.json`` (with each run's
value) and ``DIR/curves.png`` (the test accuracy per epoch: the mean over the runs, a band of
+-1 std).  ``final`` (default): the error after the last epoch; ``best``: each run's lowest
over its epochs.  The error is the ``val_error`` of ``metrics.jsonl``, measured on the test
split (CIFAR's 10 000 test images), which is what the InI paper's tables report.

Statistics: the mean and the *sample* standard deviation (``ddof=1``, divided by n - 1, as
numpy's ``std(ddof=1)`` and Python's ``statistics.stdev``); for a single run it is not defined,
shown as a dash in the table and ``null`` in the JSON.  Unfinished runs (fewer ``metrics.jsonl``
rows than their ``num_epochs``) are left out, each named in one line on stderr.
"""
import argparse
import json
import os
import shlex
import signal
import statistics
import sys
from collections import namedtuple

from matplotlib.ticker import MaxNLocator

from ._argparse import command_parser, run_command
from .run.checkpoint import checkpoint_folders
from .run.figures import new_figure, save_png
from .run.files import atomic_write_text, check_output_folder, read_json, record_outputs
from .run.folder import checkpoint_settings, in_use, previous_run
from .run.settings import (CIFAR, IDENTITY, IMAGENET, TRAINING, differences, json_value, owned,
                           role_names)
from .run.trained import metrics_rows, read_settings
from .training.processes import Children, Interrupted, stop_signals
from .training.settings import build_parser as training_parser
from .training.settings import resolve as training_resolve

__all__ = ['Run', 'LaunchError', 'plan', 'launch', 'train_command', 'check_passthrough',
           'check_same_run', 'resolve', 'run_state', 'find_runs', 'collect', 'summarise',
           'render', 'curves_figure', 'main']

PROG = 'python -m ini_gluon.seeds'
# the training script a --script names: its name, its function in ini_gluon.training.cli, the
# script of its settings, its resume flag (train_imagenet.py's --resume would be ambiguous)
Script = namedtuple('Script', ['name', 'function', 'settings', 'resume'])
SCRIPTS = {'cifar': Script('train_cifar.py', 'main', CIFAR, '--resume'),
           'imagenet': Script('train_imagenet.py', 'main_imagenet', IMAGENET, '--resume-from')}
# the options the launcher sets (the settings' declarations say which, and why)
OWNED = owned(CIFAR)
EXPORTS = ('export-final', 'export-best')
TABLE_FILES = ('table.md', 'table.json', 'curves.png')
NO_STD = '\u2013'      # the table's std of a single run
STD_NOTE = ('mean \u00b1 sample standard deviation (ddof=1, divided by n - 1; %s for a '
            'single run)' % NO_STD)

Run = namedtuple('Run', ['model', 'seed', 'folder', 'state', 'argv'])
Run.__doc__ = """One training run of the launcher: ``state`` is ``'new'``, ``'resume'`` (an
interrupted run, continued with ``--resume auto``) or ``'finished'`` (skipped); ``argv`` the
training script's arguments."""


class LaunchError(RuntimeError):
    """A run of the launcher failed (exit 1)."""


# -- launch --------------------------------------------------------------------------------

def _rows(folder):
    """The rows of ``folder``'s ``metrics.jsonl`` as ``{'epoch', 'val_error'}``."""
    return metrics_rows(folder)


def _finished(folder):
    """Whether the run in ``folder`` ended: ``settings.json``, its ``num_epochs`` rows of
    ``metrics.jsonl`` (none written after it), and both exports (written last)."""
    if not all(os.path.isdir(os.path.join(folder, name)) for name in EXPORTS):
        return False
    if _started_over(folder):
        return False
    try:
        epochs = read_json(os.path.join(folder, 'settings.json'), 'run settings')['num_epochs']
        return isinstance(epochs, int) and len(_rows(folder)) >= epochs
    except (ValueError, KeyError):   # --resume auto writes them again
        return False


def _settings(folder):
    """The :class:`~ini_gluon.run.settings.Settings` of a run: ``settings.json``, else (not
    finished) its newest complete checkpoint's, read without touching the folder (a live run
    may be writing it); ``None`` before its first checkpoint."""
    if os.path.isfile(os.path.join(folder, 'settings.json')):
        return read_settings(folder)
    found = checkpoint_folders(folder)
    return checkpoint_settings(found[-1]) if found else None


def run_state(folder):
    """``'finished'``, ``'resume'`` (a complete checkpoint, not finished) or ``'new'``."""
    if _finished(folder):
        return 'finished'
    return 'resume' if checkpoint_folders(folder) else 'new'


def plan(models, seeds, out, extra=(), script='cifar'):
    """The :class:`Run` of each model and seed (models outside, seeds inside), in
    ``<out>/<model>/seed-<seed>``, with the training arguments ``extra`` passed through; a
    ``ValueError`` where a run's settings do not resolve, or where its folder holds a run with
    other settings (:func:`check_same_run`)."""
    runs = []
    for model in models:
        for seed in seeds:
            folder = os.path.join(out, model, 'seed-%d' % seed)
            if os.path.lexists(folder) and not os.path.isdir(folder):
                raise ValueError('run folder %s is a file, not a folder: move it, or give '
                                 'another --out' % folder)
            argv = ['--model', model, '--seed', str(seed), '--save-dir', folder] + list(extra)
            state = run_state(folder)
            check_same_run(folder, state, resolve(argv, script))
            if state == 'resume':
                argv += [SCRIPTS[script].resume, 'auto']
            elif state == 'new' and previous_run(folder):   # stopped before its first checkpoint
                argv += ['--overwrite']
            runs.append(Run(model, seed, folder, state, argv))
    return runs


def check_same_run(folder, state, s):
    """Refuse in one line a finished or interrupted run in ``folder`` whose settings (those a
    resume may not change) differ from the resolved settings ``s``: it would be skipped, or
    refused by its resume after the runs before it."""
    theirs = None if state == 'new' else _settings(folder)
    changed = ['%s %s (the run\'s: %s)' % (k, json.dumps(ours), json.dumps(its))
               for k, ours, its in (differences(theirs, s, (IDENTITY, TRAINING))
                                    if theirs is not None else ())]
    if changed:
        raise ValueError('%s holds %s run with other settings: %s; give the options it was '
                         'trained with, or another --out' % (
                             folder, 'a finished' if state == 'finished' else 'an interrupted',
                             '; '.join(changed)))


def train_command(argv, script='cifar'):
    """The command of one run: ``ini_gluon.training.cli``'s ``main`` (``train_cifar.py``) in a
    new Python (``python -m`` of that module would find it imported already by its package)."""
    code = ('import sys; from ini_gluon.training.cli import {0}; sys.exit({0}(sys.argv[1:]))'
            .format(SCRIPTS[script].function))
    return [sys.executable, '-c', code] + list(argv)


def _parser(script):
    """The training script's parser, its errors a ``ValueError`` (one line)."""
    spec = SCRIPTS[script]
    parser = training_parser(spec.settings)

    def refuse(message):
        raise ValueError('passed through to %s: %s' % (spec.name, message))
    parser.error = refuse
    return parser


def check_passthrough(extra, script='cifar'):
    """Refuse in one line (``ValueError``) options the training script would not parse, and
    those the launcher sets (:data:`OWNED`), before any run starts."""
    parser = _parser(script)
    unset, mine = object(), owned(SCRIPTS[script].settings)
    parser.set_defaults(**{dest: unset for dest in mine})
    given = parser.parse_args(list(extra))
    for dest, (flag, why) in mine.items():
        if getattr(given, dest) is not unset:
            raise ValueError('%s is set by the launcher, not passed through to %s: %s'
                             % (flag, SCRIPTS[script].name, why))


def resolve(argv, script='cifar'):
    """The :class:`~ini_gluon.run.settings.Settings` the training script resolves from
    ``argv``, as its ``--dry-run`` (nothing read or written)."""
    return training_resolve(_parser(script).parse_args(list(argv)), SCRIPTS[script].settings)


def _status(code):
    if code < 0:
        try:
            return 'killed by signal %s' % signal.Signals(-code).name
        except ValueError:
            return 'killed by signal %d' % -code
    return 'exit status %d' % code


def _call(command):
    """Run ``command`` in a process group of its own (``processes.Children``), which dies with
    the launcher, even by SIGKILL; SIGINT, SIGTERM or SIGHUP to the launcher stop the run
    (SIGTERM, SIGKILL after 5 s or at once on a second signal) and raise ``Interrupted``."""
    with Children() as children:
        return children.wait(children.start(command))


def launch(runs, script='cifar', dry_run=False):
    """Train the runs that are not finished, one after another, one line each as it starts;
    ``dry_run``: print their commands (shell-quoted; finished runs as ``#`` comments) instead.
    :class:`LaunchError` on the first that fails."""
    for number, run in enumerate(runs, 1):
        command = train_command(run.argv, script)
        if dry_run:
            print('# finished, skipped: %s' % run.folder if run.state == 'finished'
                  else shlex.join(command))
            continue
        what = {'finished': 'finished already, skipped', 'new': 'new run',
                'resume': 'interrupted, continued with --resume auto'}[run.state]
        print('%s launch: [%d/%d] %s seed %d in %s: %s' % (PROG, number, len(runs), run.model,
                                                         run.seed, run.folder, what))
        sys.stdout.flush()
        if run.state == 'finished':
            continue
        try:
            code = _call(command)
        except Interrupted as stop:
            stop.run = run.folder
            raise
        if code != 0:
            raise LaunchError('run %s failed (%s): the runs before it are kept; the same '
                              'command again continues from it' % (run.folder, _status(code)))
    return 0


def _names(text):
    names = [n.strip() for n in text.split(',') if n.strip()]
    if not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError('expected distinct comma-separated names, not %r'
                                         % text)
    return names


def _seeds(text):
    try:
        seeds = [int(s) for s in text.split(',')]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError('expected distinct comma-separated integers >= 0, '
                                         'not %r' % text)
    return seeds


def _launch(args, extra):
    if not args.out:
        raise ValueError('--out: expected a folder for the runs, not an empty name')
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ValueError('--out %s is a file, not a folder' % args.out)
    extra = list(extra) + (['--debug'] if args.debug else [])
    check_passthrough(extra, args.script)
    runs = plan(args.models, args.seeds, args.out, extra, args.script)
    launch(runs, args.script, args.dry_run)
    if not args.dry_run:
        print('%s launch: %d run%s finished in %s; the table: %s table %s'
              % (PROG, len(runs), '' if len(runs) == 1 else 's', args.out, PROG,
                 shlex.quote(args.out)))
    return 0


# -- table ---------------------------------------------------------------------------------

def find_runs(roots):
    """The run folders (holding ``metrics.jsonl``) under ``roots``, each once, in order."""
    found, seen = [], set()
    for root in roots:
        if not os.path.isdir(root):
            raise ValueError('%s: %s' % (root, 'not a folder' if os.path.exists(root)
                                         else 'no such folder'))
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            if 'metrics.jsonl' in files:
                dirs[:] = []                 # its checkpoints and exports
                if os.path.realpath(folder) not in seen:
                    seen.add(os.path.realpath(folder))
                    found.append(folder)
    return found


def _started_over(folder):
    """Whether the run's ``metrics.jsonl`` was written after its ``settings.json`` (which a run
    writes after its last epoch): a run that started over (``--overwrite``) in the folder of
    a finished one."""
    settings = os.path.join(folder, 'settings.json')
    return os.path.isfile(settings) and os.path.getmtime(
        os.path.join(folder, 'metrics.jsonl')) > os.path.getmtime(settings)


def _result(folder, which):
    """``(result, None)`` of a finished run, or ``(None, why it is left out)``."""
    pid = in_use(folder)
    if pid is not None:
        return None, 'still training (process %d)' % pid
    try:
        if _started_over(folder):
            return None, 'unfinished (a run that started over after settings.json was written)'
        s, rows = _settings(folder), _rows(folder)
        if s is None:
            return None, 'unfinished (%d epochs, no checkpoint yet)' % len(rows)
        epochs = int(s.num_epochs)
        if len(rows) < epochs:
            return None, 'unfinished (%d of %d epochs)' % (len(rows), epochs)
        rows = rows[:epochs]
        pick = rows[-1] if which == 'final' else min(rows, key=lambda r: r['val_error'])
        return {'run': folder, 'model': s.model.name, 'dataset': s.dataset,
                'num_epochs': epochs, 'seed': s.seed, 'error': pick['val_error'],
                'epoch': pick['epoch'], 'curve': [1 - r['val_error'] for r in rows],
                'settings': s}, None
    except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
        return None, 'not readable: %s' % err


def collect(folders, which='final'):
    """``(results, left_out)``: a dict per finished run (``run``, ``model``, ``dataset``,
    ``num_epochs``, ``seed``, ``error`` and its ``epoch``, ``curve``: test accuracy per epoch,
    ``settings``), and ``(folder, why)`` per run left out."""
    results, left_out = [], []
    for folder in folders:
        result, why = _result(folder, which)
        if result is None:
            left_out.append((folder, why))
        else:
            results.append(result)
    return results, left_out


def _spread(values):
    """``(mean, sample std or None)`` of ``values``."""
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None


def _differences(runs):
    """The training settings in which the runs of one group differ (seed and epochs aside),
    and ``seed`` where two runs share one."""
    keys = [k for k in role_names(TRAINING) if k not in ('seed', 'num_epochs')]
    differ = [k for k in keys if len({json.dumps(json_value(getattr(r['settings'], k)))
                                      for r in runs}) > 1]
    seeds = [r['seed'] for r in runs]
    return differ + (['seed (the same seed twice)'] if len(set(seeds)) < len(seeds) else [])


def summarise(results):
    """One row per (model, data set, epochs), sorted so: ``n``, the error's ``mean``, ``std``
    (sample, ``None`` for one run), ``min`` and ``max`` (fractions), ``runs`` (each run's
    ``run``, ``seed``, ``error``, ``epoch``), the per-epoch test accuracy ``curve_mean`` /
    ``curve_std``, and ``differ``: the settings in which its runs differ."""
    groups = {}
    for r in results:
        groups.setdefault((r['dataset'], r['model'], r['num_epochs']), []).append(r)
    rows = []
    for (dataset, model, epochs), runs in sorted(groups.items()):
        runs.sort(key=lambda r: (r['seed'] is None, r['seed'], r['run']))
        errors = [r['error'] for r in runs]
        mean, std = _spread(errors)
        curves = [_spread(values) for values in zip(*[r['curve'] for r in runs])]
        rows.append({'model': model, 'dataset': dataset, 'num_epochs': epochs, 'n': len(runs),
                     'mean': mean, 'std': std, 'min': min(errors), 'max': max(errors),
                     'runs': [{k: r[k] for k in ('run', 'seed', 'error', 'epoch')}
                              for r in runs],
                     'curve_mean': [m for m, _ in curves], 'curve_std': [s for _, s in curves],
                     'differ': _differences(runs)})
    return rows


def _percent(value):
    return NO_STD if value is None else '%.2f' % (100 * value)


def render(rows, which='final'):
    """The Markdown table of :func:`summarise`'s rows (errors in %)."""
    what = ('after the last epoch' if which == 'final'
            else 'at the best epoch of each run (its lowest)')
    out = ['Test error (%%) %s, over runs: %s; best / worst: the lowest / highest run.'
           % (what, STD_NOTE), '',
           '| model | dataset | epochs | runs | test error (%) | best | worst | seeds |',
           '|---|---|---:|---:|---:|---:|---:|---|']
    for r in rows:
        seeds = ', '.join('?' if run['seed'] is None else str(run['seed']) for run in r['runs'])
        out.append('| `%s` | %s | %d | %d | %s \u00b1 %s | %s | %s | %s |' % (
            r['model'], r['dataset'], r['num_epochs'], r['n'], _percent(r['mean']),
            _percent(r['std']), _percent(r['min']), _percent(r['max']), seeds))
    return '\n'.join(out) + '\n'


def _draw(ax, rows, start):
    """The mean test accuracy (%) of each row from epoch ``start`` on, a band of +-1 std."""
    for i, r in enumerate(rows):
        epochs = list(range(start, r['num_epochs']))
        mean = [100 * m for m in r['curve_mean'][start:]]
        colour = 'C%d' % (i % 10)
        ax.plot(epochs, mean, color=colour, marker='o' if len(epochs) <= 40 else None,
                markersize=3, label='%s on %s (%d runs, %d epochs)'
                % (r['model'], r['dataset'], r['n'], r['num_epochs']))
        if r['n'] < 2:
            continue
        std = [100 * s for s in r['curve_std'][start:]]
        if len(epochs) == 1:                # a band of one epoch is not seen: a bar
            ax.errorbar(epochs, mean, yerr=std, color=colour, capsize=4)
        else:
            ax.fill_between(epochs, [max(0, m - s) for m, s in zip(mean, std)],
                            [min(100, m + s) for m, s in zip(mean, std)], color=colour,
                            alpha=0.2, linewidth=0)
    ax.set_xlabel('epoch')
    ax.grid(True, alpha=0.3)


def curves_figure(rows):
    """The figure of ``curves.png``: the test accuracy per epoch of each row of
    :func:`summarise` (the mean over its runs, a band of +-1 sample std; none for one run), over
    every epoch on the left and over the last quarter of the longest run on the right, where the
    runs differ by fractions of a percent (at least 2 epochs)."""
    fig = new_figure(12, 5)
    whole, tail = fig.subplots(1, 2)
    longest = max(r['num_epochs'] for r in rows)
    start = max(0, longest - max(2, longest // 4))
    _draw(whole, rows, 0)
    _draw(tail, [r for r in rows if r['num_epochs'] > start], start)
    whole.set_ylabel('test accuracy (%)')
    whole.set_title('every epoch', fontsize=10)
    tail.set_title('the last %d epochs' % (longest - start) if longest - start > 1
                   else 'the last epoch', fontsize=10)
    for ax in (whole, tail):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    whole.legend(fontsize=8, loc='lower right')
    fig.suptitle('Test accuracy over runs: the mean, a band of \u00b11 sample standard deviation',
                 fontweight='bold')
    fig.subplots_adjust(left=0.06, right=0.98, top=0.86, bottom=0.1, wspace=0.15)
    return fig


def _json(rows, which, left_out):
    keep = ('model', 'dataset', 'num_epochs', 'n', 'mean', 'std', 'min', 'max', 'runs', 'differ')
    return json.dumps({'which': which, 'std': 'sample standard deviation (ddof=1); null for a '
                       'single run', 'unit': 'error as a fraction (metrics.jsonl val_error, '
                       'the test split)', 'rows': [{k: r[k] for k in keep} for r in rows],
                       'left_out': [{'run': f, 'why': why} for f, why in left_out]}, indent=1)


def _table(args):
    out = args.out or args.roots[0]
    check_output_folder(out, TABLE_FILES)       # before anything is read or said
    folders = find_runs(args.roots)
    if not folders:
        raise ValueError('no run folder (a folder holding metrics.jsonl) under %s'
                         % ', '.join(args.roots))
    results, left_out = collect(folders, args.which)
    for folder, why in left_out:
        print('%s table: left out %s: %s' % (PROG, folder, why), file=sys.stderr)
    if not results:
        raise ValueError('no finished run under %s' % ', '.join(args.roots))
    rows = summarise(results)
    for r in rows:
        if r['differ']:
            print('%s table: warning: the runs of %s on %s (%d epochs) differ in %s'
                  % (PROG, r['model'], r['dataset'], r['num_epochs'], ', '.join(r['differ'])),
                  file=sys.stderr)
    table = render(rows, args.which)
    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(out, name) for name in TABLE_FILES]
    atomic_write_text(paths[0], table)
    atomic_write_text(paths[1], _json(rows, args.which, left_out))
    save_png(curves_figure(rows), paths[2])
    record_outputs(out, TABLE_FILES)
    sys.stdout.write(table)
    print('\nwritten: %s' % ', '.join(paths))
    return 0


# -- the command ---------------------------------------------------------------------------

LAUNCH_HELP = '''Train each model with each seed, one run after another, each as
train_cifar.py --model A --seed K --save-dir ROOT/A/seed-K with the options given after these
(any of train_cifar.py's but --model, --seed, --save-dir, --resume and --overwrite, which the
launcher owns).
The same command again skips the finished runs (settings.json, num_epochs rows of
metrics.jsonl, export-final/ and export-best/) and continues an interrupted one (a complete
checkpoint) with --resume auto; one trained with other settings (epochs, schedule, ...) is
refused before any run starts.  A run that fails stops the launcher with one line (exit 1); the
runs before it are kept.  SIGINT, SIGTERM or SIGHUP stop the run in progress (SIGKILL 5 s later,
or at once on a second signal) and the launcher (exit 128 + the signal); the run dies with the
launcher, SIGKILL too.'''

TABLE_HELP = '''Tabulate the finished runs under the roots: one row per model, data set and
number of epochs (runs of one model with another --num-epochs are another row); test error in
%%, the %s.  Unfinished runs are left out, each named in one line on stderr.  Writes
table.md (also on stdout), table.json (the errors as fractions, each run's too) and curves.png
(the test accuracy per epoch: the mean over the runs, a band of +-1 std) into --out.''' % (
    STD_NOTE)


def build_parser():
    p = command_parser(PROG, __doc__)
    sub = p.add_subparsers(dest='command', metavar='{launch,table}')
    sub.required = True
    a = sub.add_parser('launch', allow_abbrev=False, help='train models x seeds',
                       description=LAUNCH_HELP, prog=PROG + ' launch',
                       usage='%(prog)s --models A,B --seeds 1,2,3 --out ROOT [--dry-run] '
                             '[train_cifar.py options]').add_argument
    a('--models', required=True, type=_names, help='comma-separated model names')
    a('--seeds', required=True, type=_seeds,
      help='comma-separated seeds (--seed of each run), e.g. 1,2,3,4,5')
    a('--out', required=True, metavar='ROOT', help='the runs go into ROOT/<model>/seed-<seed>')
    a('--dry-run', action='store_true',
      help='print the commands of the runs to do, one per line, shell-quoted (finished runs as '
           '# comments), and run nothing')
    a('--script', choices=sorted(SCRIPTS), default='cifar',
      help='cifar: train_cifar.py (default); imagenet: train_imagenet.py')
    a('--debug', action='store_true',
      help='tracebacks instead of one-line errors, the launcher\'s and the runs\' (passed on)')
    t = sub.add_parser('table', help='mean and std of the runs\' test error',
                       description=TABLE_HELP, prog=PROG + ' table').add_argument
    t('roots', nargs='+', metavar='ROOT', help='folders searched for run folders (holding '
      'metrics.jsonl), e.g. the --out of launch')
    t('--which', choices=('final', 'best'), default='final',
      help='final: the test error after the last epoch (default); best: each run\'s lowest '
           'over its epochs')
    t('--out', metavar='DIR', help='folder of table.md, table.json, curves.png (default: the '
      'first ROOT)')
    t('--debug', action='store_true', help='show the traceback of an error')
    return p


def _launch_command(args, extra):
    """``launch``: SIGINT, SIGTERM and SIGHUP stop the run in progress and end the launcher in
    one line, exit 128 + the signal."""
    try:
        with stop_signals():
            return run_command(PROG + ' launch', args.debug, lambda: _launch(args, extra),
                               (LaunchError,))
    except Interrupted as stop:
        run = getattr(stop, 'run', None)
        try:
            print('%s launch: %s received: %s; the same command again continues %s'
                  % (PROG, stop, 'the run in %s was stopped' % run if run else 'stopped',
                     'it' if run else 'the runs'), file=sys.stderr)
        except OSError:                     # SIGHUP: the terminal may be gone
            pass
        return stop.code


def main(argv=None):
    """``python -m ini_gluon.seeds launch|table ...``; returns the exit status (0 done, 1 a run
    failed, 2 bad input, 128 + the signal that stopped the launcher).

    A run's process dies with the launcher, and a signal that stops the launcher stops it
    first (``ini_gluon.training.processes``)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != 'launch':
        parser.error('unrecognized arguments: %s' % ' '.join(extra))
    if args.command == 'launch':
        return _launch_command(args, extra)
    return run_command(PROG + ' table', args.debug, lambda: _table(args))


if __name__ == '__main__':
    sys.exit(main())
