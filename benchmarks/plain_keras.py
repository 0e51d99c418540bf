"""The notebook's code as a plain Keras script: load Reuters, pad, build one variant, fit, evaluate.

    KERAS_HOME=... .venv/bin/python benchmarks/plain_keras.py --variant lstm --epochs 40

The reference that benchmarks/overhead.py compares one pipeline job against. TensorFlow's default
thread pools, Keras's own layers, Adam, shuffling and validation_split, as in the notebook (the
pipeline's default ``engine: fused`` is not used here).
"""

import argparse
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="lstm")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras

    from rnnbench.models import build_model

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    dataset = config["datasets"]["reuters"]
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = keras.datasets.reuters.load_data(
        num_words=dataset["num_words"], maxlen=dataset["maxlen"])
    pad = dict(maxlen=dataset["maxlen"], padding=dataset["padding"])
    x_train, x_test = keras.utils.pad_sequences(x_train, **pad), keras.utils.pad_sequences(x_test, **pad)
    spec = {**config["variants"][args.variant], "engine": "keras"}  # Keras's own layers, as the notebook
    model = build_model(spec, num_words=dataset["num_words"], maxlen=dataset["maxlen"],
                        embedding_dim=dataset["embedding_dim"], num_classes=46)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=config["batch_size"],
              validation_split=config["validation_split"], verbose=0)
    print(f"test accuracy {model.evaluate(x_test, y_test, verbose=0)[1]:.3f}")


if __name__ == "__main__":
    main()
