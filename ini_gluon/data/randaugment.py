"""RandAugment (Cubuk et al. 2020, "RandAugment: Practical automated data augmentation with a
reduced search space"): each training image goes through N operations drawn uniformly from the
paper's fourteen, each at the one magnitude M.

Written here because neither MXNet 1.9.1 nor GluonCV 0.10.5 has it (nor AutoAugment): MXNet's
``gluon.data.vision.transforms`` and ``mx.image`` augmenters have the colour jitters, flips and
crops only, and GluonCV's ``RandAugment`` is in its PyTorch half (``gluoncv.torch``, timm's).
The operations are Pillow's (``ImageOps``, ``ImageEnhance``, ``Image.transform``), as in the
authors' and timm's implementations, with timm's ranges at magnitude 10: rotation 30 degrees,
shear 0.3, translation 45 % of the side, enhancement factors 1 +- 0.9, posterize down to 4 bits,
solarize from every pixel; geometric operations fill with grey (128) and the signed ones take
a random sign.  Every draw comes from the generator the caller gives (a batch's seeded one), so
a resumed run augments as the uninterrupted one did.
"""
import numpy as np
from PIL import Image, ImageEnhance, ImageOps

__all__ = ['OPERATIONS', 'apply_operation', 'rand_augment']

MAX_MAGNITUDE = 10
FILL = (128, 128, 128)


def _affine(image, matrix):
    return image.transform(image.size, Image.AFFINE, matrix, resample=Image.NEAREST,
                           fillcolor=FILL)


def _enhance(kind):
    return lambda image, level: kind(image).enhance(1.0 + 0.9 * level)


# name -> (operation(image, signed level in [-1, 1]), whether the level's sign is random)
OPERATIONS = {
    'Identity': (lambda image, level: image, False),
    'AutoContrast': (lambda image, level: ImageOps.autocontrast(image), False),
    'Equalize': (lambda image, level: ImageOps.equalize(image), False),
    'Rotate': (lambda image, level: image.rotate(30.0 * level, resample=Image.NEAREST,
                                                 fillcolor=FILL), True),
    'Solarize': (lambda image, level: ImageOps.solarize(image, 256 - int(256 * level)), False),
    'Color': (_enhance(ImageEnhance.Color), True),
    'Posterize': (lambda image, level: ImageOps.posterize(image, 8 - int(4 * level)), False),
    'Contrast': (_enhance(ImageEnhance.Contrast), True),
    'Brightness': (_enhance(ImageEnhance.Brightness), True),
    'Sharpness': (_enhance(ImageEnhance.Sharpness), True),
    'ShearX': (lambda image, level: _affine(image, (1, 0.3 * level, 0, 0, 1, 0)), True),
    'ShearY': (lambda image, level: _affine(image, (1, 0, 0, 0.3 * level, 1, 0)), True),
    'TranslateX': (lambda image, level: _affine(
        image, (1, 0, round(0.45 * level * image.size[0]), 0, 1, 0)), True),
    'TranslateY': (lambda image, level: _affine(
        image, (1, 0, 0, 0, 1, round(0.45 * level * image.size[1]))), True),
}
_NAMES = tuple(OPERATIONS)


def apply_operation(image, name, magnitude, negative=False):
    """The operation ``name`` at ``magnitude`` (0 to 10; ``negative``: the other direction of a
    signed one) on ``image``, an ``(H, W, 3)`` uint8 array; returns a new array."""
    operation, signed = OPERATIONS[name]
    level = magnitude / float(MAX_MAGNITUDE) * (-1 if signed and negative else 1)
    return np.asarray(operation(Image.fromarray(image), level), dtype=np.uint8)


def rand_augment(images, count, magnitude, rng):
    """RandAugment of a batch ``images`` (``(N, H, W, 3)`` uint8): ``count`` operations per
    image, drawn with replacement, each at ``magnitude``, with signs from ``rng`` (a
    ``numpy.random.RandomState``); returns a new batch."""
    n = len(images)
    chosen = rng.randint(len(_NAMES), size=(n, count))
    negative = rng.rand(n, count) < 0.5
    out = np.empty_like(images)
    for i in range(n):
        image = images[i]
        for k in range(count):
            image = apply_operation(image, _NAMES[chosen[i, k]], magnitude, negative[i, k])
        out[i] = image
    return out
