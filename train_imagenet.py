#!/usr/bin/env python
"""Train an Inner-Imaging / CMPE-SE network on ImageNet (RecordIO or an image-folder tree), as the
InI paper did.  ``python train_imagenet.py --help`` lists the options."""
import sys

from ini_gluon.training.cli import main_imagenet

if __name__ == '__main__':
    sys.exit(main_imagenet())
