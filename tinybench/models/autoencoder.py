"""The dense autoencoder of the anomaly-detection benchmark (ad01, the DCASE2020 task 2 baseline):
640 -> 128 x4 -> 8 -> 128 x4 -> 640, each hidden Dense followed by batch normalization and ReLU,
a linear output that reconstructs the input log-mel vector."""
from __future__ import annotations

import keras
from keras import layers

HIDDEN = 128
HIDDEN_LAYERS = 4   # on each side of the bottleneck
BOTTLENECK = 8


def build_autoencoder(bench, batch_size: int | None = 1) -> keras.Model:
    def dense_bn_relu(x, units):
        x = layers.Dense(units)(x)
        x = layers.BatchNormalization()(x)
        return layers.Activation("relu")(x)

    size = bench.input_shape[1]
    inputs = keras.Input(shape=(size,), batch_size=batch_size, name="log_mel")
    x = inputs
    for _ in range(HIDDEN_LAYERS):
        x = dense_bn_relu(x, HIDDEN)
    x = dense_bn_relu(x, BOTTLENECK)
    for _ in range(HIDDEN_LAYERS):
        x = dense_bn_relu(x, HIDDEN)
    outputs = layers.Dense(size)(x)
    return keras.Model(inputs, outputs, name="fc_autoencoder")
