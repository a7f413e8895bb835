"""The command-line parser of the project's commands."""
import argparse
import errno
import os
import sys
import types
from contextlib import contextmanager

from mxnet.base import MXNetError

__all__ = ['MACHINE_FAULTS', 'os_error', 'mxnet_error', 'allocation_failure', 'OneLineParser',
           'command_parser', 'first_paragraph', 'help_text', 'run_command', 'tolerant_stdout',
           'stdout_gone',
           'which_weights', 'add_trained_options', 'add_run_option', 'RUN_HELP', 'invoked_as',
           'positive_int', 'at_most', 'command', 'CallableModule']


# faults of the machine rather than of the user's input: exit 1, as a failed job
MACHINE_FAULTS = {errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.ENOMEM}


def os_error(err):
    """One line for an ``OSError``: what failed on which file."""
    what = err.strerror or str(err)
    return '%s: %s' % (err.filename, what) if err.filename else what


def mxnet_error(err):
    """One line for an ``MXNetError`` (its message is a C++ traceback): its last line."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    return 'MXNet failed: %s' % (lines[-1] if lines else type(err).__name__)


# the name a command is called by where the one console command ``ini-gluon <command>`` runs
# it: ``{'python -m ini_gluon.evaluate': 'ini-gluon evaluate'}`` (see :func:`invoked_as`)
_CALLED = {}


@contextmanager
def invoked_as(prog, name):
    """Within the body, the parsers of the command ``prog`` (``'python -m ini_gluon.seeds'``,
    ``'train_cifar.py'``; its sub-commands' too) call it ``name`` (``'ini-gluon seeds'``) in
    their usage, help and one-line errors."""
    _CALLED[prog] = name
    try:
        yield
    finally:
        _CALLED.pop(prog, None)


def _called(prog):
    for own, name in _CALLED.items():
        if prog == own or (prog or '').startswith(own + ' '):
            return name + prog[len(own):]
    return prog


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, ``<prog>: error: <message>`` (exit 2),
    like every other error of the project's commands; ``--help`` shows the usage."""

    def __init__(self, *args, **kwargs):
        if kwargs.get('prog'):
            kwargs['prog'] = _called(kwargs['prog'])
        super(OneLineParser, self).__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, '%s: error: %s\n' % (self.prog, message))


def command_parser(prog, doc, **kwargs):
    """The :class:`OneLineParser` of a command whose ``--help`` is its module docstring
    ``doc`` (as :func:`help_text` shows it, line breaks kept)."""
    return OneLineParser(prog=prog, description=help_text(doc),
                         formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def first_paragraph(doc):
    """The first paragraph of a module docstring as one line of ``--help`` text (a sentence that
    runs over several lines kept whole, without reST's double backquotes)."""
    return ' '.join(doc.strip().split('\n\n', 1)[0].replace('``', '').split())


def help_text(doc):
    """A module docstring as ``--help`` text: its paragraphs, without reST's double backquotes
    (for a parser with ``formatter_class=argparse.RawDescriptionHelpFormatter``)."""
    return doc.replace('``', '').strip()


def run_command(prog, debug, body, failures=()):
    """``body()`` (returning the exit status) with the project's errors as one line on stderr:
    ``failures`` (a result that did not verify) and faults of the machine (a full disk, MXNet's
    own errors, running out of memory among them: the C++ trace cut to its line) exit 1, bad
    input (``ValueError``, including the data and run errors, and ``OSError``) exit 2;
    ``debug`` lets the traceback through.  A path that is not UTF-8 is printed escaped, as
    stderr prints it; a reader of stdout that went away (``| head``) ends the command quietly,
    as the shell's own commands end (exit 141, 128 + SIGPIPE)."""
    tolerant_stdout()
    try:
        return body()
    except BrokenPipeError:
        if debug:
            raise
        return stdout_gone()
    except KeyboardInterrupt:
        if debug:
            raise
        print('%s: interrupted' % prog, file=sys.stderr)
        return 130
    except failures as err:
        if debug:
            raise
        print('%s: %s' % (prog, err), file=sys.stderr)
        return 1
    except MXNetError as err:        # out of memory, a device's failure: the machine's
        if debug:
            raise
        why = allocation_failure(err)
        print('%s: %s' % (prog, 'out of memory: %s' % why if why else mxnet_error(err)),
              file=sys.stderr)
        return 1
    except (ValueError, OSError) as err:
        if debug:
            raise
        fault = isinstance(err, OSError) and err.errno in MACHINE_FAULTS
        print('%s: error: %s' % (prog, os_error(err) if isinstance(err, OSError) else err),
              file=sys.stderr)
        return 1 if fault else 2
    except MemoryError:
        if debug:
            raise
        print('%s: out of memory' % prog, file=sys.stderr)
        return 1


def tolerant_stdout():
    """Let stdout print any text, a path of bytes that are not UTF-8 among them, escaped
    (``\\udcff``) as stderr prints it, rather than fail on it."""
    if hasattr(sys.stdout, 'reconfigure'):
        sys.stdout.reconfigure(errors='backslashreplace')


def stdout_gone():
    """The exit status of a command whose stdout reader went away: 141 (128 + SIGPIPE), with
    stdout pointed at the null device so that nothing fails again as Python ends."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):   # no file descriptor (a captured stdout)
        pass
    return 141


_ALLOCATION = ('bad_alloc', 'out of memory', 'larger than 2^31', 'failed to allocate',
               'cannot allocate memory')


def allocation_failure(err):
    """The one line of an exception that is the machine running out of memory (a
    ``MemoryError``, or an MXNet error of ``std::bad_alloc``, a failed allocation or a tensor
    beyond MXNet's 2^31 elements), else ``None``: MXNet's message is a C++ stack trace, of which
    the line that says why is kept."""
    if isinstance(err, MemoryError):
        return 'out of memory'
    if 'MXNetError' not in (c.__name__ for c in type(err).__mro__):
        return None
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    found = [line for line in lines if any(a in line.lower() for a in _ALLOCATION)]
    if not found:
        return None
    return ' '.join(found[0].split('Check failed: ')[-1].split())[:240]


def which_weights(text):
    """``--which``: 'best', 'final' or an epoch number >= 0."""
    if text in ('best', 'final'):
        return text
    if text and all(c in '0123456789' for c in text):
        return str(int(text))
    raise argparse.ArgumentTypeError('expected best, final or an epoch number, not %r' % text)


def add_trained_options(parser, which_help):
    """``--which`` (its help ``which_help``) and ``--debug`` of the commands that use a trained
    model."""
    parser.add_argument('--which', default='best', type=which_weights, help=which_help)
    parser.add_argument('--debug', action='store_true', help='show the traceback of an error')


RUN_HELP = ('a train_cifar.py / train_imagenet.py run: the folder it wrote, its --save-dir '
            '(--save-dir works here too)')


def add_run_option(parser, several=False, help=RUN_HELP):
    """``--run RUN`` of a command that reads runs, ``args.run`` (``several``: repeatable, a
    list); ``--save-dir``, the training scripts' name of the folder, is the same option."""
    parser.add_argument('--run', '--save-dir', dest='run', metavar='RUN',
                        action='append' if several else 'store', default=[] if several else None,
                        help=help + ('; repeat for several' if several else ''))


def positive_int(text):
    """An integer >= 1 (an argument type)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError('must be an integer >= 1, not %r' % text)
    return value


def at_most(high):
    """An argument type: an integer from 1 to ``high`` (a larger count is no run's)."""
    def count(text):
        value = positive_int(text)
        if value > high:
            raise argparse.ArgumentTypeError('must be at most %d, not %d' % (high, value))
        return value
    return count


def command(build_parser, body, failures=()):
    """The ``main(argv=None)`` of a command: parse with ``build_parser()``, then ``body(args)``
    under :func:`run_command` (its errors one line; ``--debug`` lets tracebacks through)."""
    def main(argv=None):
        parser = build_parser()
        args = parser.parse_args(argv)
        return run_command(parser.prog, args.debug, lambda: body(args), failures)
    return main


class CallableModule(types.ModuleType):
    """A command's module that is a function too: calling it calls its ``__wrapped__``.

    ``ini_gluon.export`` and ``ini_gluon.predict`` are commands (``python -m ini_gluon.export``)
    and the Python API's functions (``ini_gluon.export(net, prefix)``).  A package's attribute
    and its submodule of the same name cannot be two objects: importing the submodule sets
    the attribute to it, over a function of that name.  So the name is the module, always
    (``ini_gluon`` imports it when first asked for), made callable: ``sys.modules[__name__]
    .__class__ = CallableModule`` with ``__wrapped__`` the function (``inspect.signature``
    follows it).  Patching ``ini_gluon.export.<name>`` reaches the module's own name.
    """

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)
