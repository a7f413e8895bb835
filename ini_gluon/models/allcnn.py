"""All-CNN-C for CIFAR with channel attention (SE, CBAM, Inner-Imaging).

Springenberg et al., "Striving for Simplicity: The All Convolutional Net", ICLR 2015 workshop,
model All-CNN-C: nine convolutions, max-pooling replaced by stride-2 convolutions, global
averaging instead of dense layers, dropout on the input (20 %) and after each stride-2
convolution (50 %).  GluonCV has no All-CNN, so the net is written here.

All-CNN-C has no BatchNorm; here each convolution is followed by one (``batch_norm=True``, the
default), because the InI paper trains All-CNN at lr 0.1 (Section V-B) and the original does
not survive that rate: on the digits demo recipe its loss stays at ln 10 from the fourth epoch
on, while with BatchNorm SE-All-CNN learns.  ``batch_norm=False`` builds the original.

Attention per Hu et al., "Inner-Imaging Networks" (Section V-B): one module after each of the
eight 96- and 192-channel convolutions (the classifier convolution takes none).  All-CNN has no
identity flow, so a layer's output is ``s o U`` (eq. 15) and the Inner-Imaging map is the fold
of the residual signal alone (eq. 4) with ``n = 8`` rows and ``m = C / 8`` columns; the
competitive modes, which lay the identity out with the residual, do not apply.
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock
from mxnet.gluon.nn import BatchNorm

from ..layers.create_attn import BlockShape, parse_attn
from .families import register_backbone
from .residual import AttentionBlock

__all__ = ['AllCNNLayer', 'AllCNN', 'allcnn']

# (channels, kernel, stride, padding) of each stage's convolutions, All-CNN-C (Table 2)
STAGES = [[(96, 3, 1, 1), (96, 3, 1, 1), (96, 3, 2, 1)],
          [(192, 3, 1, 1), (192, 3, 1, 1), (192, 3, 2, 1)],
          [(192, 3, 1, 0), (192, 1, 1, 0)]]
MAP_ROWS = 8
BATCH_NORM = True


def allcnn_map_cols(channels):
    """Columns of the inner-imaged map for All-CNN: ``C / 8`` (``8`` rows, Section V-B)."""
    return channels / float(MAP_ROWS)


# Blocks
class AllCNNLayer(AttentionBlock, HybridBlock):
    r"""``attn(ReLU(BN(conv(x))))``: one convolution of All-CNN with its attention, ``s o U``
    (InI eq. 15; no identity to add).

    Parameters
    ----------
    channels, kernel, stride, padding : int
        Of the convolution (with bias, as in All-CNN).
    in_channels : int
    attn : AttnSpec or None
    norm_layer, norm_kwargs
        Normalisation of the convolution and of the attention layer (after the G-filters).
    batch_norm : bool
        Whether the convolution is followed by ``norm_layer``.
    """

    def __init__(self, channels, kernel, stride, padding, in_channels=0, attn=None,
                 norm_layer=BatchNorm, norm_kwargs=None, batch_norm=False, **kwargs):
        super(AllCNNLayer, self).__init__(**kwargs)
        with self.name_scope():
            self.conv = nn.Conv2D(channels, kernel, stride, padding, in_channels=in_channels)
            self.bn = norm_layer(in_channels=channels, **(norm_kwargs or {})) \
                if batch_norm else None
        self._init_attention(attn, channels, channels, allcnn_map_cols(channels), norm_layer,
                             norm_kwargs, identity=False)

    def hybrid_forward(self, F, x):
        u = self.conv(x)
        u = F.Activation(u if self.bn is None else self.bn(u), act_type='relu')
        return u if self.attn is None else self.attn(u, u)     # eq. 15: s o U


# Nets
class AllCNN(HybridBlock):
    r"""All-CNN-C with the attention ``attn`` after each 96- and 192-channel convolution.

    Parameters
    ----------
    attn : AttnSpec, str or None
    classes : int, default 10
    drop_rate : float, default 0.5
        Dropout after each stride-2 convolution.
    input_drop_rate : float, default 0.2
        Dropout of the input image.
    norm_layer, norm_kwargs
        Normalisation of the attention layers (and of the convolutions with ``batch_norm``).
    batch_norm : bool, default True
        BatchNorm after each convolution (All-CNN-C has none).
    """

    def __init__(self, attn=None, classes=10, drop_rate=0.5, input_drop_rate=0.2,
                 norm_layer=BatchNorm, norm_kwargs=None, batch_norm=BATCH_NORM, **kwargs):
        super(AllCNN, self).__init__(**kwargs)
        attn = parse_attn(attn)
        in_channels = 3
        with self.name_scope():
            self.features = nn.HybridSequential(prefix='')
            self.features.add(nn.Dropout(input_drop_rate))
            for i, layers in enumerate(STAGES):
                stage = nn.HybridSequential(prefix='stage%d_' % (i + 1))
                with stage.name_scope():
                    for channels, kernel, stride, padding in layers:
                        stage.add(AllCNNLayer(channels, kernel, stride, padding, in_channels,
                                              attn, norm_layer, norm_kwargs, batch_norm))
                        if stride == 2:
                            stage.add(nn.Dropout(drop_rate))
                        in_channels = channels
                self.features.add(stage)
            self.output = nn.HybridSequential(prefix='')
            self.output.add(nn.Conv2D(classes, 1, in_channels=in_channels))
            if batch_norm:
                self.output.add(norm_layer(in_channels=classes, **(norm_kwargs or {})))
            self.output.add(nn.Activation('relu'), nn.GlobalAvgPool2D(), nn.Flatten())

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# Specification
def allcnn_blocks():
    """The :class:`~ini_gluon.layers.create_attn.BlockShape` of each attention layer."""
    return [BlockShape('stage%d.%d' % (i + 1, j), c, c, allcnn_map_cols(c), identity=False)
            for i, layers in enumerate(STAGES) for j, (c, _, _, _) in enumerate(layers)]


# Constructor
@register_backbone('allcnn', blocks=allcnn_blocks, family='allcnn', listed=['allcnn'],
                   aliases=['allcnn_c', 'all_cnn_c'], every=['allcnn'],
                   describe='All-CNN-C for CIFAR')
def allcnn(attn=None, classes=10, drop_rate=0.5, batch_norm=BATCH_NORM, norm_layer=BatchNorm,
           norm_kwargs=None, **kwargs):
    r"""All-CNN-C (Springenberg et al. 2015) with the attention ``attn`` after each of its eight
    96- and 192-channel convolutions.

    Parameters
    ----------
    attn : AttnSpec, str or None
    classes : int, default 10
    drop_rate : float, default 0.5
        Dropout after each stride-2 convolution (the input's is 20 %).
    batch_norm : bool, default True
        BatchNorm after each convolution; ``False``: All-CNN-C as published, which has none.
    norm_layer, norm_kwargs
        Normalisation of the convolutions and of the attention layers.
    """
    return AllCNN(attn, classes=classes, drop_rate=drop_rate, batch_norm=batch_norm,
                  norm_layer=norm_layer, norm_kwargs=norm_kwargs, **kwargs)
