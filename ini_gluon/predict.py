"""``python -m ini_gluon.predict RUN IMAGE [IMAGE or FOLDER ...]``: class names and
probabilities of image files, top-k, with the run's own preprocessing.

Each image is read as RGB, brought to the network's input as the run's test split was (CIFAR,
SVHN, digits: the whole image resized to 32x32; ImageNet: the shorter side resized to
``ceil(size / crop_ratio)``, the centre ``size x size`` crop), normalised with the run's mean
and std, and classified by the weights ``--which`` names.  A folder stands for the image files
in it and its sub-folders (sorted).  One line per image, or ``--json``.  In Python,
``ini_gluon.predict(run or network, images)`` returns the same
(``ini_gluon.analysis.evaluation.predict_top``).
"""
import json
import sys

from ._argparse import (CallableModule, add_trained_options, command, command_parser,
                        positive_int)
from .analysis.evaluation import image_files, predict, predict_top
from .run.trained import WHICH_HELP, contexts, open_run

__all__ = ['build_parser', 'main']


def build_parser():
    p = command_parser('python -m ini_gluon.predict', __doc__)
    a = p.add_argument
    a('run', help='the --save-dir of a train_cifar.py / train_imagenet.py run')
    a('images', nargs='+', help='image files (PNG, JPEG, ...) or folders of them')
    a('--top-k', type=positive_int, default=3,
      help='how many classes per image (default: %(default)s)')
    a('--json', action='store_true', help='print JSON instead of one line per image')
    a('--num-gpus', type=int, default=0, help='GPUs to use; 0: the CPU (default)')
    add_trained_options(p, WHICH_HELP)
    return p


def _main(args):
    ctx = contexts(args.num_gpus)
    files = image_files(args.images)
    results = predict(open_run(args.run, args.which, ctx), files, args.top_k, ctx=ctx)
    if args.json:
        print(json.dumps(results, indent=1))
    for r in results if not args.json else []:
        print('%s: %s' % (r['image'], ', '.join('%s %.3f' % t for t in r['top'])))
    return 0


main = command(build_parser, _main)

# ini_gluon.predict(model, images, ...): the module is the API's function too
__wrapped__ = predict_top
sys.modules[__name__].__class__ = CallableModule

if __name__ == '__main__':
    sys.exit(main())
