"""Seconds per epoch of one variant on the padded data: rnnbench's per-epoch training loop, or one
plain ``model.fit`` call as the notebook did.

    .venv/bin/python benchmarks/epoch_time.py data/padded/reuters.npz --mode loop --threads 1
    .venv/bin/python benchmarks/epoch_time.py data/padded/reuters.npz --mode single --threads 1 --engine keras
    .venv/bin/python benchmarks/epoch_time.py data/padded/reuters.npz --threads 1 --token-product off

Prints each epoch's seconds and the mean of epochs 2.. (the first one includes tracing).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import yaml

from rnnbench.data import load_padded
from rnnbench.training import configure_tensorflow, train
from timing import epoch_timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("padded", help="data/padded/<dataset>.npz from the pad rule")
    parser.add_argument("--dataset", help="its entry in config.yaml (default: the padded file's name)")
    parser.add_argument("--mode", choices=["loop", "single"], default="loop")
    parser.add_argument("--variant", default="lstm")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--engine", choices=["fused", "keras"], default="fused",
                        help="how fast the model is computed (the spec field; rnnbench/engines.py)")
    parser.add_argument("--token-product", choices=["on", "off"], default="on",
                        help="fused: project each distinct token once (the default) or every position")
    args = parser.parse_args()
    configure_tensorflow(args.threads, 0)  # before Keras comes in with rnnbench.engines
    from rnnbench import engines
    from rnnbench.config import train_slice

    token_product = args.token_product == "on"

    config = {**yaml.safe_load(open("config.yaml")), "epochs": args.epochs}
    data = load_padded(args.padded)
    dataset = args.dataset or Path(args.padded).stem
    spec = json.loads(train_slice(config, dataset, {**config["variants"][args.variant], "engine": args.engine}))
    if args.mode == "loop":
        _, history, _ = train(data, spec, seed=0, threads=args.threads, verbose=0, token_product=token_product)
        seconds = history["seconds"].tolist()
    else:
        from rnnbench.models import build_model

        model = build_model(spec["variant"], num_words=int(data["num_words"]), maxlen=data["x_train"].shape[1],
                            embedding_dim=spec["embedding_dim"], num_classes=int(data["num_classes"]),
                            token_product=token_product)
        engines.compile_model(model, args.engine, 0.001, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        timer, seconds = epoch_timer()
        model.fit(data["x_train"], data["y_train"], epochs=args.epochs, batch_size=spec["batch_size"],
                  validation_split=spec["validation_split"], callbacks=[timer], verbose=0,
                  validation_batch_size=engines.validation_batch_size(args.engine, spec["batch_size"]))
    lever = f" token-product={args.token_product}" if args.engine == "fused" else ""
    print(f"{args.mode} {args.engine}{lever} {args.variant} threads={args.threads}: epoch seconds {[round(s, 2) for s in seconds]}; "
          f"mean of epochs 2..: {np.mean(seconds[1:]):.2f}")


if __name__ == "__main__":
    main()
