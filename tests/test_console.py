"""ini-gluon <command>: one console command for every command of the project."""
import importlib
import os
import subprocess
import sys

import pytest

from ini_gluon import compare, console, evaluate, export, predict, visualize
from ini_gluon.training import build_parser

# every command of the project: the training scripts, the commands at the package root, the
# summary and list of python -m ini_gluon, the job launcher
EXPECTED = ['train-cifar', 'train-imagenet', 'evaluate', 'predict', 'export', 'visualize',
            'compare', 'memory', 'seeds', 'tables', 'summary', 'list', 'launch']


def test_help_lists_every_command(capsys):
    assert console.main(['--help']) == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: ini-gluon <command> [options]\n')
    listed = [line.split()[0] for line in out.splitlines() if line.startswith('  ')]
    assert listed == EXPECTED == [c.name for c in console.COMMANDS]
    assert console.main([]) == 2 and capsys.readouterr().err == out      # none: the same, exit 2


@pytest.mark.parametrize('command', console.COMMANDS, ids=lambda c: c.name)
def test_each_commands_help_is_its_own(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        console.main([command.name, '--help'])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert out.startswith('usage: ini-gluon %s ' % command.name), out[:200]
    # the same function as python -m ini_gluon.<command> (train_cifar.py, ...) runs
    module = importlib.import_module(command.module)
    with pytest.raises(SystemExit):
        getattr(module, command.function)(console._arguments(command, ['--help']))
    own = capsys.readouterr().out
    assert own.startswith('usage: %s ' % command.prog), own[:200]
    assert own.split('\n\n', 1)[1] == out.split('\n\n', 1)[1]       # all but the usage
    # the description is whole sentences, not a docstring's first line cut mid-sentence
    description = ' '.join(out.split('\n\n')[1].split())
    assert description.endswith(('.', ')', ':')) and '``' not in description, description


def test_an_unknown_command_is_one_line(capsys):
    assert console.main(['evalute', '--run', 'x']) == 2
    assert capsys.readouterr().err == (
        "ini-gluon: error: unknown command 'evalute' (did you mean evaluate?); the commands: "
        + ', '.join(EXPECTED) + '\n')
    assert console.main(['--run']) == 2
    assert capsys.readouterr().err.startswith("ini-gluon: error: unknown command '--run';")


def test_commands_run_with_their_arguments_and_errors(capsys):
    assert console.main(['memory', 'resnet8', '--size', '0']) == 2       # the arguments reach it
    assert capsys.readouterr().err == ('ini-gluon memory: error: --size must be from 32 to 2048, '
                                       'not 0\n')
    # list [PATTERN] is python -m ini_gluon --list PATTERN (every name without one)
    listing = [c for c in console.COMMANDS if c.name == 'list'][0]
    assert console._arguments(listing, ['ini_resnet8*', '--classes', '3']) == [
        '--list', 'ini_resnet8*', '--classes', '3']
    assert console._arguments(listing, []) == ['--list', '*']
    # a command's error names it as it was called; outside the console, as before
    assert console.main(['evaluate', '--run', '/nonexistent/run']) == 2
    assert capsys.readouterr().err.startswith("ini-gluon evaluate: error: run folder "
                                              "'/nonexistent/run' not found")
    assert importlib.import_module('ini_gluon.evaluate').main(['--run', '/nonexistent/x']) == 2
    assert capsys.readouterr().err.startswith('python -m ini_gluon.evaluate: error: ')


SCRIPT = os.path.join(os.path.dirname(sys.executable), 'ini-gluon')


def test_the_installed_console_command():
    """make setup installs the package (pip install -e), and with it setup.py's entry point;
    the Makefile installs again whenever setup.py changes.  (An unknown command: in process,
    above.)"""
    assert os.path.exists(SCRIPT), 'ini-gluon is not installed beside %s: make setup' % (
        sys.executable)
    done = subprocess.run([SCRIPT, '--help'], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == console.usage()


def test_every_command_names_its_runs_with_run():
    """One spelling of a run folder in every command, --run RUN; --save-dir, the training
    scripts' name of it, is the same option everywhere."""
    for flag in ('--run', '--save-dir'):
        for script in ('cifar', 'imagenet'):                    # the folder a run writes
            assert build_parser(script).parse_args([flag, 'R']).save_dir == 'R'
        assert evaluate.build_parser().parse_args([flag, 'R']).run == 'R'
        assert export.build_parser().parse_args([flag, 'R', '--out', 'x']).run == 'R'
        assert predict.build_parser().parse_args([flag, 'R', 'img.png']).run == 'R'
        for command in ('maps', 'depth', 'gradcam'):              # repeated: several runs
            args = visualize.build_parser().parse_args([command, flag, 'A', flag, 'B'])
            assert args.run == ['A', 'B'], command
        assert compare.build_parser().parse_args([flag, 'A', flag, 'B']).run == ['A', 'B']
