"""``python -m ini_gluon [MODEL] [--list PATTERN]``: the registry and a model summary.

With no argument: how many models the registry lists per attention kind, and the summary of
``ini_wrn28_10_mix5d`` (InI-WRN-28-10 with the mix-5-d G-filter set, the paper's best CIFAR
model).
"""
from collections import Counter

from . import get_model, list_models, summary
from ._argparse import OneLineParser
from .models import parse_model_name


def _kind(name):
    attn = parse_model_name(name).attn
    return 'plain' if attn is None else attn.kind


def main(argv=None):
    parser = OneLineParser(prog='python -m ini_gluon', description=__doc__.splitlines()[0])
    parser.add_argument('model', nargs='?', default='ini_wrn28_10_mix5d',
                        help='model to summarise (default: %(default)s)')
    parser.add_argument('--list', metavar='PATTERN', help="print the registered names matching "
                        "a shell pattern, e.g. 'ini_wrn28_10_*'")
    parser.add_argument('--classes', type=int, default=10)
    args = parser.parse_args(argv)
    if args.list:
        found = list_models(args.list)
        if not found:
            parser.error('no registered model matches %r' % args.list)
        print('\n'.join(found))
        return
    try:
        net = get_model(args.model, classes=args.classes)
    except ValueError as err:
        parser.error(str(err))
    names = list_models()
    counts = Counter(_kind(n) for n in names)
    print('registry: %d models (%s); any depth of a family is accepted, e.g. ini_wrn40_4_square3'
          % (len(names), ', '.join('%d %s' % (n, k) for k, n in
                                   sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))))
    print()
    print(summary(net))


if __name__ == '__main__':
    main()
