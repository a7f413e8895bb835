"""The command-line parser of the project's commands."""
import argparse

__all__ = ['OneLineParser']


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, ``<prog>: error: <message>`` (exit 2),
    like every other error of the project's commands; ``--help`` shows the usage."""

    def error(self, message):
        self.exit(2, '%s: error: %s\n' % (self.prog, message))
