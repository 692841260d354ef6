"""A partly trainable image branch: the frozen bottom computed once per image
against recomputed in every step.

ResNet50 with random weights (``weights=None``: nothing is downloaded; the
speed does not depend on the weights), its top block trainable
(``trainable=1``), in a ``KerasFusionClassifier`` on synthetic images, on
the CPU. Two models, fitted side by side in one run, the same but for one
thing:

1. **cached bottom** (the default): the model takes each image's
   activations before ``conv5_block3``, computed once per distinct image by
   ``ImageEncoder.bottom``, and holds the top block only;
2. **recomputed bottom**: ``augment=[keras.layers.Identity()]``, a no-op
   augmentation, puts the whole backbone in the model (augmentation changes
   the pixels below the bottom), so every step runs the frozen bottom again.

Their epochs are timed by a callback; an epoch is the median of the epochs
after the first (which traces the step). The ratio of the two is the
speed-up; the cached model's fit also pays the bottom once (in its fit
time). That both train the same model, to float32 precision, is
tests/test_image_branch.py's to show (here, random weights give features so
large that the probabilities saturate). The table also gives the
activations' size per image at the cut and how many images
``memory_budget``'s default keeps in memory.

Run: ``python benchmarks/image_branch.py`` (about 4 minutes on 2 cores).

On 2 x86_64 cores shared with other jobs (load average about 5), Keras
3.15.1 on TensorFlow, 256 images of 128x128, 3 epochs::

    model                  fit (s)   epoch 1 (s)   epoch (s)
    cached bottom             53.9          7.24        8.00
    recomputed bottom         94.4         30.75       30.27

    epoch speed-up, cached bottom: 3.8x
    cut before conv5_block3 at 128x128: 128 KiB per image; memory_budget=1024 MiB holds 8,192 images
    cut before conv5_block3 at 224x224: 392 KiB per image; memory_budget=1024 MiB holds 2,674 images

(two more runs of the same hour: 4.2x and 3.9x).
"""

import argparse
import os
import platform
import statistics
import time

import keras
import numpy as np
import pandas as pd

from skfusion.encoders import ImageEncoder
from skfusion.keras import KerasFusionClassifier


def images(n, size, seed=0):
    """Bright or dark noisy images, and which."""
    rng = np.random.default_rng(seed)
    bright = rng.random(n) > 0.5
    pixels = [np.clip(rng.normal(170 if b else 80, 40, (size, size, 3)), 0, 255).astype(np.uint8)
              for b in bright]
    return pd.DataFrame({"photo": pixels}), bright.astype(int)


def fit(X, y, size, epochs, augment):
    encoder = ImageEncoder("resnet50", weights=None, image_size=(size, size), trainable=1,
                           augment=augment)
    seconds, began = [], []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: began.append(time.perf_counter()),
        on_epoch_end=lambda epoch, logs: seconds.append(time.perf_counter() - began[-1]))
    clf = KerasFusionClassifier([("photo", encoder, "photo")], hidden_layers=(16,), epochs=epochs,
                                batch_size=32, random_state=0, fit__callbacks=[timer])
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start, seconds


def cut_bytes(size):
    """Bytes per image of ResNet50's activations before conv5_block3."""
    model = keras.applications.ResNet50(include_top=False, weights=None,
                                        input_shape=(size, size, 3))
    return int(np.prod(model.get_layer("conv5_block2_out").output.shape[1:])) * 4


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores ({cores} usable), Python "
          f"{platform.python_version()}, Keras {keras.__version__} ({keras.backend.backend()})")
    print(f"ResNet50 (weights=None), trainable=1, {args.n_images} images of "
          f"{args.image_size}x{args.image_size}, batch 32, {args.epochs} epochs\n")

    X, y = images(args.n_images, args.image_size)
    rows = []
    for label, augment in (("cached bottom", False), ("recomputed bottom", [keras.layers.Identity()])):
        seconds, epochs = fit(X, y, args.image_size, args.epochs, augment)
        rows.append((label, seconds, epochs[0], statistics.median(epochs[1:])))
    cached, recomputed = rows

    print(f"{'model':<20}{'fit (s)':>10}{'epoch 1 (s)':>14}{'epoch (s)':>12}")
    for label, seconds, first, epoch in rows:
        print(f"{label:<20}{seconds:>10.1f}{first:>14.2f}{epoch:>12.2f}")
    print(f"\nepoch speed-up, cached bottom: {recomputed[3] / cached[3]:.1f}x")
    budget = ImageEncoder().memory_budget * 2**20
    for size in (args.image_size, 224):
        per_image = cut_bytes(size)
        print(f"cut before conv5_block3 at {size}x{size}: {per_image / 1024:.0f} KiB per image; "
              f"memory_budget={ImageEncoder().memory_budget} MiB holds {int(budget // per_image):,} "
              "images")


if __name__ == "__main__":
    main()
