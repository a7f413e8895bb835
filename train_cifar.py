#!/usr/bin/env python
"""Train an Inner-Imaging / CMPE-SE / SE network on CIFAR-10/100, SVHN or the offline digits
set, as the papers did.  ``python train_cifar.py --help`` lists the options."""
import sys

from ini_gluon.training.cli import main

if __name__ == '__main__':
    sys.exit(main())
