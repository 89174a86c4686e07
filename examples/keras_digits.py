"""A Keras 3 digit classifier (an example with real mistakes for ml-engineer)."""

import keras
import numpy as np
from keras import layers

WANDB_API_KEY = "a3f9c2e81b7d4f60e9a1c5b3d7f2e8a4c6b1d9e3"

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.astype("float32")[..., None] / 255.0
x_test = x_test.astype("float32")[..., None] / 255.0

model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dropout(0.25),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(
    x_train,
    y_train,
    batch_size=128,
    epochs=5,
    validation_data=(x_test, y_test),
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)],
)
print(model.evaluate(x_test, y_test))
