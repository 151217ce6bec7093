"""ResNet-8 for CIFAR-10 image classification (ic01): a 3x3 stem and three residual stacks of
16, 32 and 64 filters (the shipped ic01 model; the training script's default is wider). Stacks two
and three halve the resolution and project the shortcut with a strided 1x1 convolution that has
no batch normalization."""
from __future__ import annotations

import keras
from keras import layers

STACK_FILTERS = (16, 32, 64)
L2 = 1e-4


def build_resnet8(bench, batch_size: int | None = 1) -> keras.Model:
    regularizer = keras.regularizers.L2(L2)

    def conv(filters, kernel, strides=1):
        return layers.Conv2D(filters, kernel, strides=strides, padding="same",
                             kernel_initializer="he_normal", kernel_regularizer=regularizer)

    inputs = keras.Input(shape=bench.input_shape[1:], batch_size=batch_size, name="image")
    x = conv(STACK_FILTERS[0], 3)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    for stack, filters in enumerate(STACK_FILTERS):
        strides = 1 if stack == 0 else 2
        y = conv(filters, 3, strides)(x)
        y = layers.BatchNormalization()(y)
        y = layers.Activation("relu")(y)
        y = conv(filters, 3)(y)
        # The shortcut is built after the main path, as in the reference graph: the converter
        # keeps this order (main conv, main conv, projection conv, ADD).
        shortcut = x if stack == 0 else conv(filters, 1, strides)(x)
        y = layers.BatchNormalization()(y)
        x = layers.Add()([shortcut, y])
        x = layers.Activation("relu")(x)
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]))(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(bench.num_classes, activation="softmax",
                           kernel_initializer="he_normal")(x)
    return keras.Model(inputs, outputs, name="resnet8")
