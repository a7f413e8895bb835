"""``python -m ini_gluon.evaluate --run RUN [--which best|final|N]``: a trained model on its
data set's test split.

Top-1 and top-5 error and the error of every class, in %, as a table on stdout and in
``evaluation.md``; as JSON in ``evaluation.json`` (fractions, as a run's ``metrics.jsonl``);
the confusion matrix as a picture, ``confusion.png`` (rows: the true class; columns: the
predicted class; each cell its count of images, coloured by its share of the true class; PDF
or SVG with ``--format``), in ``--out`` (default ``RUN/evaluation-<which>``).  The test split
is read as the run's training script read it (its ``--data-dir``, unless given again; the
run's normalisation).  ``--model NAME --params FILE --dataset D`` evaluates weights from
anywhere, normalised as ``train_cifar.py`` would normalise ``D``.
"""
import os
import sys

from ._argparse import add_run_option, add_trained_options, at_most, command, command_parser
from .analysis.evaluation import (DATASETS, evaluate, open_model, outputs, render,
                                  write_evaluation)
from .run.figures import add_figure_options, display_names
from .run.files import check_output_folder
from .run.settings import LIMITS
from .run.trained import WHICH_HELP, RunError, contexts, describe_source

__all__ = ['build_parser', 'main']


def build_parser():
    p = command_parser('python -m ini_gluon.evaluate', __doc__)
    a = p.add_argument
    add_run_option(p)
    a('--model', help='with --params: a model name, for weights from anywhere')
    a('--params', help='with --model: a parameter file (save_parameters or an export\'s)')
    a('--dataset', choices=DATASETS, help='with --model: the data set (default: the run\'s)')
    a('--data-dir', help='folder of the data set\'s files (default: the run\'s --data-dir)')
    a('--batch-size', type=at_most(LIMITS['test_batch_size']), default=256,
      help='images per batch, at most %d (default: %%(default)s)' % LIMITS['test_batch_size'])
    a('--num-gpus', type=int, default=0, help='GPUs to evaluate on; 0: the CPU (default)')
    a('--out', help='folder for evaluation.json / .md and confusion.png (default: '
      'RUN/evaluation-<which>, or evaluation-<model> with --params)')
    add_figure_options(p, 'the confusion matrix')
    add_trained_options(p, WHICH_HELP)
    return p


def _open(args, ctx):
    """``(network, settings, --out, test stream, class folders or None)``."""
    trained, s, stream, folders = open_model(args.run, args.model, args.params,
                                             args.dataset, args.data_dir, args.which,
                                             args.batch_size, ctx)
    out = args.out or (os.path.join(args.run, 'evaluation-%s' % args.which)
                       if args.run else 'evaluation-%s' % args.model)
    return trained, s, out, stream, folders


def _title(args, trained, s, images):
    """The table's and the picture's title: the model (by its ``--label``), its weights, the
    test split."""
    name = display_names(args.label, [(trained.model, args.model, args.run, args.params)])[0]
    return '%s, %s, %s test split (%d images)' % (
        name or trained.model, describe_source(trained.source), s.dataset, images)


def _main(args):
    ctx = contexts(args.num_gpus)
    trained, s, out, stream, folder_names = _open(args, ctx)
    written = outputs(args.format)
    check_output_folder(out, written)           # before the evaluation, not after
    _title(args, trained, s, 0)                 # a --label naming no model: before, too
    names = trained.class_names
    if folder_names is not None and list(folder_names) != list(names):
        raise RunError('the class folders of %s are not the classes the model was trained on'
                       % s.data_dir)
    result = evaluate(trained, stream, ctx)
    title = _title(args, trained, s, result['images'])
    table = render(result, names, title)
    write_evaluation(out, result, table, names, title, args.format, args.dpi)
    sys.stdout.write(table)
    print('\nwritten: %s' % ', '.join(os.path.join(out, f) for f in written))
    return 0


main = command(build_parser, _main)

if __name__ == '__main__':
    sys.exit(main())
