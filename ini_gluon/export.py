"""``python -m ini_gluon.export RUN --out DIR [--which best] [--onnx] [--batch dynamic|N]``:
a trained model for deployment.

``DIR`` receives

* ``<model>-symbol.json`` + ``<model>-0000.params`` (MXNet; ``SymbolBlock.imports(...,
  ['data'], ...)``), whose input is **raw images**: NCHW float32 RGB in [0, 255], resized /
  cropped as ``model.json`` says.  The normalisation of the training, ``(x / 255 - mean) /
  std``, is inside the graph (a ``rawinput_`` block before the network); the output is the
  logits, ``(N, classes)`` (softmax: the probabilities);
* ``classes.txt`` (one class name per line, in label order) and ``model.json`` (model name,
  input size and layout, preprocessing, class count, source checkpoint, files);
* with ``--onnx``, ``<model>.onnx``, written by MXNet's own exporter (``mx.onnx``, for ONNX
  opset 13) and verified on the spot: one random batch of raw images through the exported
  MXNet files, through onnxruntime, and through the live network with the training's
  normalisation applied outside; more than 1e-4 relative difference fails and writes nothing.

Everything is written into a temporary folder beside ``DIR`` and, once verified, swapped in
whole: an earlier export in ``DIR`` is replaced entirely, a ``DIR`` holding anything else is
refused.
The training scripts export a run's final and best weights with the same code
(``<save-dir>/export-final/``, ``<save-dir>/export-best/``): :mod:`ini_gluon.run.export`.
"""
import argparse
import sys

from ._argparse import add_trained_options, command, command_parser, positive_int
from .run.export import MAX_BATCH, ONNX_OPSET, ExportError, check_onnx, export
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
    p = command_parser('python -m ini_gluon.export', __doc__)
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

if __name__ == '__main__':
    sys.exit(main())
