"""``ini-gluon <command> [options]``: every command of the project behind one console command.

``pip install`` puts ``ini-gluon`` on the PATH (setup.py's ``console_scripts``).  ``ini-gluon
<command> ...`` runs the command with the options given, as ``python -m ini_gluon.<command>
...`` (or ``train_cifar.py ...``) does; ``ini-gluon <command> --help`` is the command's help;
``ini-gluon --help`` lists the commands.  A command is imported only when it runs: the list is
a table of names (:data:`COMMANDS`), so that none of them loads the others.
"""
import difflib
import importlib
import sys
from collections import namedtuple

from . import __version__
from ._argparse import invoked_as

__all__ = ['Command', 'COMMANDS', 'PROG', 'usage', 'main']

PROG = 'ini-gluon'

Command = namedtuple('Command', ['name', 'module', 'function', 'prog', 'first', 'help'])
Command.__doc__ = """A command of ``ini-gluon``: its ``name``, the ``function`` of ``module``
that runs it (``main(argv)``, returning the exit status), the ``prog`` its own parser calls
it by (and calls ``ini-gluon <name>`` within the console), the arguments ``first`` put before
those given, and a line of ``help``."""

COMMANDS = (
    Command('train-cifar', 'ini_gluon.training.cli', 'main', 'train_cifar.py', (),
            'train a model on CIFAR-10/100, SVHN or the offline digits (train_cifar.py)'),
    Command('train-imagenet', 'ini_gluon.training.cli', 'main_imagenet', 'train_imagenet.py',
            (), 'train a model on ImageNet, RecordIO or image folders (train_imagenet.py)'),
    Command('evaluate', 'ini_gluon.evaluate', 'main', 'python -m ini_gluon.evaluate', (),
            'a trained model on its test split: errors, per class, confusion matrix'),
    Command('predict', 'ini_gluon.predict', 'main', 'python -m ini_gluon.predict', (),
            'the top-k classes of image files, with a run\'s preprocessing'),
    Command('export', 'ini_gluon.export', 'main', 'python -m ini_gluon.export', (),
            'a run\'s weights as symbol files taking raw images (and ONNX)'),
    Command('visualize', 'ini_gluon.visualize', 'main', 'python -m ini_gluon.visualize', (),
            'pictures: attention maps, attention across depth, Grad-CAM, training curve'),
    Command('compare', 'ini_gluon.compare', 'main', 'python -m ini_gluon.compare', (),
            'models side by side: parameters, FLOPs, throughput, validation error'),
    Command('memory', 'ini_gluon.memory', 'main', 'python -m ini_gluon.memory', (),
            'the peak memory of training a model, in a process of its own'),
    Command('seeds', 'ini_gluon.seeds', 'main', 'python -m ini_gluon.seeds', (),
            'models x seeds: launch the runs, tabulate their mean +- std'),
    Command('tables', 'ini_gluon.tables', 'main', 'python -m ini_gluon.tables', (),
            'parameter counts and FLOPs against the papers\' tables'),
    Command('summary', 'ini_gluon.__main__', 'main', 'python -m ini_gluon', (),
            'a model\'s summary, block by block (python -m ini_gluon MODEL)'),
    Command('list', 'ini_gluon.__main__', 'main', 'python -m ini_gluon', ('--list',),
            'the buildable model names a shell pattern matches (python -m ini_gluon --list)'),
    Command('launch', 'ini_gluon.training.launch', 'main',
            'python -m ini_gluon.training.launch', (),
            'a parameter-server job on this machine: scheduler, servers, workers'),
)


def usage():
    """The text of ``ini-gluon --help``."""
    width = max(len(c.name) for c in COMMANDS)
    lines = ['usage: %s <command> [options]' % PROG, '',
             'Inner-Imaging networks (InI), CMPE-SE and SE on GluonCV: the project\'s commands.',
             '', 'commands:']
    lines += ['  %-*s  %s' % (width, c.name, c.help) for c in COMMANDS]
    lines += ['', '%s <command> --help shows a command\'s options.  Each command is also' % PROG,
              'python -m ini_gluon.<command> (train-cifar, train-imagenet: train_cifar.py,',
              'train_imagenet.py; summary, list: python -m ini_gluon; launch:',
              'python -m ini_gluon.training.launch).']
    return '\n'.join(lines) + '\n'


def _command(name):
    """The :class:`Command` called ``name``, or a one-line ``ValueError`` naming the commands
    (and the nearest)."""
    found = [c for c in COMMANDS if c.name == name]
    if found:
        return found[0]
    names = [c.name for c in COMMANDS]
    near = difflib.get_close_matches(name, names, n=1)
    raise ValueError('unknown command %r%s; the commands: %s' % (
        name, ' (did you mean %s?)' % near[0] if near else '', ', '.join(names)))


def _arguments(command, argv):
    """The arguments ``command``'s ``main`` gets for ``argv``: ``list [PATTERN]`` is ``--list
    PATTERN`` (every name without one); its ``--help`` is the summary's help."""
    if command.name != 'list':
        return list(command.first) + list(argv)
    if any(a in ('-h', '--help') for a in argv):
        return ['--help']
    pattern, rest = (argv[0], argv[1:]) if argv and not argv[0].startswith('-') else ('*', argv)
    return ['--list', pattern] + list(rest)


def main(argv=None):
    """``ini-gluon <command> [options]``: the exit status of the command; 2 for an unknown
    command (one line) or none."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ('-h', '--help'):
        (sys.stdout if argv else sys.stderr).write(usage())
        return 0 if argv else 2
    if argv[0] == '--version':
        print('%s %s' % (PROG, __version__))
        return 0
    try:
        command = _command(argv[0])
    except ValueError as err:
        print('%s: error: %s' % (PROG, err), file=sys.stderr)
        return 2
    run = getattr(importlib.import_module(command.module), command.function)
    with invoked_as(command.prog, '%s %s' % (PROG, command.name)):
        return run(_arguments(command, argv[1:]))


if __name__ == '__main__':
    sys.exit(main())
