"""``python -m ini_gluon [MODEL] [--list PATTERN]``: the registry and a model summary.

With no argument: how many models the registry lists per attention kind, and the summary of
``ini_wrn28_10_mix5d`` (InI-WRN-28-10 with the mix-5-d G-filter set, the paper's best CIFAR
model).  ``--list PATTERN`` prints every buildable name matching the shell pattern, one per
line on stdout: the catalogue's (:func:`~ini_gluon.list_models`), every ImageNet ResNet depth,
and the backbone the pattern spells before its first wildcard (``'ini_resnet8*'``: every
attention on ``resnet8``); for a family that accepts any depth, where the list would be
endless, a line on stderr says how its names are formed.
"""
import sys
from collections import Counter

from . import get_model, list_models, summary
from ._argparse import OneLineParser, first_paragraph, run_command
from .models import find_models, parse_model_name
from .models import default_classes, resolve_model_name


def _kind(name):
    attn = parse_model_name(name).attn
    return 'plain' if attn is None else attn.kind


def main(argv=None):
    parser = OneLineParser(prog='python -m ini_gluon', description=first_paragraph(__doc__))
    parser.add_argument('model', nargs='?', default='ini_wrn28_10_mix5d',
                        help='model to summarise (default: %(default)s)')
    parser.add_argument('--list', metavar='PATTERN', help="print the buildable names matching "
                        "a shell pattern, e.g. 'ini_wrn28_10_*' or 'ini_resnet8*' (and, on "
                        "stderr, how the names of a family with any depth are formed)")
    parser.add_argument('--classes', type=int, default=None,
                        help='classes of the head (default: 1000 for a network built for '
                             '224x224 ImageNet inputs, else 10)')
    args = parser.parse_args(argv)
    return run_command(parser.prog, False, lambda: _list(parser, args) if args.list else
                       _summary(parser, args))


def _list(parser, args):
    found, notes = find_models(args.list)
    if not found and not notes:
        parser.error('no registered model matches %r' % args.list)
    if found:
        print('\n'.join(found))
    sys.stdout.flush()
    for note in notes:
        print(note, file=sys.stderr)
    return 0


def _summary(parser, args):
    try:
        classes = args.classes if args.classes is not None else default_classes(
            resolve_model_name(args.model).entry.input_shape[-1])
        net = get_model(args.model, classes=classes)
    except ValueError as err:
        parser.error(str(err))
    names = list_models()
    counts = Counter(_kind(n) for n in names)
    print('registry: %d models (%s); any depth of a family is accepted, e.g. ini_wrn40_4_square3'
          % (len(names), ', '.join('%d %s' % (n, k) for k, n in
                                   sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))))
    print()
    print(summary(net))
    sys.stdout.flush()          # a full device says so here, in one line, not as Python ends
    return 0


if __name__ == '__main__':
    sys.exit(main())
