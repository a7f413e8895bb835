"""The command-line parser of the project's commands."""
import argparse

__all__ = ['OneLineParser']


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, ``<prog>: error: <message>`` (exit 2),
    like every other error of the project's commands; ``--help`` shows the usage."""

    def error(self, message):
        self.exit(2, '%s: error: %s\n' % (self.prog, message))


def help_text(doc):
    """A module docstring as ``--help`` text: its paragraphs, without reST's double backquotes
    (for a parser with ``formatter_class=argparse.RawDescriptionHelpFormatter``)."""
    return doc.replace('``', '').strip()
