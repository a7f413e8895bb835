"""``python -m ini_gluon.export RUN --out DIR [--which best] [--onnx] [--batch dynamic|N]``:
a trained model for deployment.

The training scripts write a run's ``export-final/`` and ``export-best/`` with the same code
(``ini_gluon.run.export``); ``--onnx`` adds the ONNX file.  In Python,
``ini_gluon.export(net, prefix, onnx=True)`` exports a network (or a trained one) the same way
(``ini_gluon.run.export.export_network``).
"""
import argparse
import sys

from ._argparse import (CallableModule, add_trained_options, command, command_parser,
                        positive_int)
from .run import export as run_export
from .run.export import (MAX_BATCH, ONNX_OPSET, ExportError, check_onnx, export,
                         export_network)
from .run.trained import WHICH_HELP, describe_source, open_run

__all__ = ['build_parser', 'main']


def _batch(text):
    """``--batch``: 'dynamic' or a batch size from 1 to :data:`MAX_BATCH`."""
    if text == 'dynamic':
        return text
    value = positive_int(text)
    if value > MAX_BATCH:
        raise argparse.ArgumentTypeError('at most %d, not %d' % (MAX_BATCH, value))
    return value


def build_parser():
    p = command_parser('python -m ini_gluon.export',
                       __doc__ + '\n' + run_export.__doc__.split('\n\n', 1)[1])
    a = p.add_argument
    a('run', help='the --save-dir of a train_cifar.py / train_imagenet.py run')
    a('--out', required=True, help='folder to write the export into (created if absent)')
    a('--onnx', action='store_true', help='also write <model>.onnx (opset %d) and check it '
      'with onnxruntime' % ONNX_OPSET)
    a('--batch', default='dynamic', type=_batch,
      help='batch dimension of the ONNX file: dynamic (default) or a fixed size N <= %d'
      % MAX_BATCH)
    add_trained_options(p, WHICH_HELP)
    return p


def _main(args):
    if args.onnx:
        check_onnx()
    info = export(open_run(args.run, args.which), args.out, args.onnx, args.batch)
    print('exported %s, %s, to %s: %s; input %s NCHW RGB in [0, 255], normalisation inside '
          'the graph; verified against the live network (relative difference): %s'
          % (info['model'], describe_source(info['source']), args.out,
             ', '.join(sorted(info['files'].values())),
             'x'.join(str(d or 'N') for d in info['input']['shape']),
             ', '.join('%s %.1e' % kv for kv in sorted(info['verified'].items()))))
    return 0


main = command(build_parser, _main, failures=(ExportError,))

# ini_gluon.export(net, prefix, ...): the module is the API's function too
__wrapped__ = export_network
sys.modules[__name__].__class__ = CallableModule

if __name__ == '__main__':
    sys.exit(main())
