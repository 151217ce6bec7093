"""DS-CNN for keyword spotting (kws01): one strided 10x4 convolution, four depthwise-separable
blocks of 64 channels, average pooling over the whole feature map and a 12-way softmax."""
from __future__ import annotations

import keras
from keras import layers

FILTERS = 64
SEPARABLE_BLOCKS = 4
L2 = 1e-4


def build_ds_cnn(bench, batch_size: int | None = 1) -> keras.Model:
    regularizer = keras.regularizers.L2(L2)
    inputs = keras.Input(shape=bench.input_shape[1:], batch_size=batch_size, name="mfcc")
    x = layers.Conv2D(FILTERS, (10, 4), strides=(2, 2), padding="same",
                      kernel_regularizer=regularizer)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(0.2)(x)
    for _ in range(SEPARABLE_BLOCKS):
        x = layers.DepthwiseConv2D((3, 3), padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Conv2D(FILTERS, (1, 1), padding="same", kernel_regularizer=regularizer)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
    x = layers.Dropout(0.4)(x)
    # The pool covers the whole 25x5 map, as in the official model (AVERAGE_POOL_2D 25x5; the
    # training script's text says (24, 5), which gives the same 1x1 output but not the same op).
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]))(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(bench.num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="ds_cnn")
