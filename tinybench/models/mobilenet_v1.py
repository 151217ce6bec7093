"""MobileNetV1 with width multiplier 0.25 at 96x96 for visual wake words (vww01), with ReLU (not
ReLU6) after every batch normalization, as in the MLPerf Tiny reference."""
from __future__ import annotations

import keras
from keras import layers

FIRST_FILTERS = 8
# (pointwise filters, depthwise stride) of the 13 depthwise-separable blocks.
BLOCKS = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2),
          (128, 1), (128, 1), (128, 1), (128, 1), (128, 1), (256, 2), (256, 1)]
L2 = 1e-4


def build_mobilenet_v1(bench, batch_size: int | None = 1) -> keras.Model:
    regularizer = keras.regularizers.L2(L2)

    def bn_relu(x):
        x = layers.BatchNormalization()(x)
        return layers.Activation("relu")(x)

    inputs = keras.Input(shape=bench.input_shape[1:], batch_size=batch_size, name="image")
    x = layers.Conv2D(FIRST_FILTERS, (3, 3), strides=(2, 2), padding="same",
                      kernel_initializer="he_normal", kernel_regularizer=regularizer)(inputs)
    x = bn_relu(x)
    for filters, stride in BLOCKS:
        x = layers.DepthwiseConv2D((3, 3), strides=(stride, stride), padding="same")(x)
        x = bn_relu(x)
        x = layers.Conv2D(filters, (1, 1), padding="same", kernel_initializer="he_normal",
                          kernel_regularizer=regularizer)(x)
        x = bn_relu(x)
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]))(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(bench.num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="mobilenet_v1_025")
