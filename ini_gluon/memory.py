"""Peak memory of training a model, measured in a fresh process of its own.

``peak_training_memory('se_resnet164', (3, 32, 32), 32)`` starts
``python -m ini_gluon.memory se_resnet164 --size 32 --batch 32``, which builds the model for
training alone, hybridized as training does
(:func:`~ini_gluon.training.loop.hybridize_for_training`), runs a first step (building the
graph) and 2 training steps, and prints its own peak resident memory, ``312.4 MiB``.  One
process per model: MXNet's memory pool keeps what a model used, so a second model in the same
process would report the first one's peak.
"""
import sys

import mxnet as mx

from ._argparse import OneLineParser
from .analysis.throughput import Bench, OutOfMemory, format_mib, own_peak_mib
from .run.settings import LIMITS

__all__ = ['main', 'MAX_STEPS']

MAX_STEPS = 1000       # training steps measured: the peak is reached in the first few


def main(argv=None):
    p = OneLineParser(prog='python -m ini_gluon.memory',
                      description='Print the peak resident memory of this process (in MiB: '
                                  '"312.4 MiB") after building MODEL and training it for a few '
                                  'steps.')
    p.add_argument('model')
    p.add_argument('--size', type=int, default=32, help='input height and width')
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--classes', type=int, default=10)
    p.add_argument('--steps', type=int, default=2)
    args = p.parse_args(argv)
    for flag, low, high in (('size', 32, LIMITS['input_size']),
                            ('batch', 1, LIMITS['batch_size']),
                            ('classes', 1, LIMITS['classes']), ('steps', 1, MAX_STEPS)):
        if not low <= getattr(args, flag) <= high:
            print('%s: error: --%s must be from %d to %d, not %d'
                  % (p.prog, flag, low, high, getattr(args, flag)), file=sys.stderr)
            return 2
    try:
        bench = Bench(args.model, (3, args.size, args.size), args.batch, args.classes,
                      mx.cpu(), infer=False)
        for _ in range(args.steps):
            bench.train_step()
    except ValueError as err:
        print('%s: error: %s' % (p.prog, err), file=sys.stderr)
        return 2
    except OutOfMemory as err:      # the machine's limit, not the input's: exit 1
        print('%s: %s' % (p.prog, err), file=sys.stderr)
        return 1
    print(format_mib(own_peak_mib()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
