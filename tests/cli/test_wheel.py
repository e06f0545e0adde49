"""The wheel as a user installs it, without make and without the source tree: `python -m build`, a fresh
virtual environment, `pip install` of the wheel, then `clipsketch sketch` and `clipsketch inkscape install`."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from PIL import Image

REPOSITORY = Path(__file__).resolve().parents[2]
SCRIPTS = "Scripts" if os.name == "nt" else "bin"  # where a virtual environment keeps its commands


@pytest.mark.slow
def test_the_built_wheel_installs_and_runs_outside_the_source_tree(tmp_path, chelsea):
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                            str(tmp_path / "dist"), str(REPOSITORY)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("clipsketch-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "clipsketch/inkscape_extension/vendor/grpclib/client.py" in names
    assert any(name.endswith(".dist-info/licenses/NOTICE") for name in names)
    assert {f"clipsketch/web/static/{name}" for name in ("index.html", "app.js", "app.css")} <= set(names)

    # a fresh environment; its dependencies (PyTorch, several GB) are borrowed from this one by a .pth line,
    # which adds that folder without running its .pth files (so not this checkout's editable install)
    environment = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True, timeout=300)
    python = environment / SCRIPTS / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr

    work = tmp_path / "work"
    work.mkdir()
    Image.fromarray(chelsea).save(work / "cat.png")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), OMP_NUM_THREADS="1")
    where = subprocess.run([str(environment / SCRIPTS / "clipsketch"), "--version"], capture_output=True, text=True,
                           cwd=work, env=env)
    located = subprocess.run([str(python), "-c", "import clipsketch; print(clipsketch.__file__)"],
                             capture_output=True, text=True, cwd=work, env=env).stdout
    assert located.startswith(site), located  # the wheel's, not this checkout's
    sketched = subprocess.run([str(environment / SCRIPTS / "clipsketch"), "sketch", "cat.png", "--backbone", "offline",
                               "--device", "cpu", "--strokes", "4", "--iterations", "3", "--seeds", "1",
                               "--no-mask", "--out", "out"], capture_output=True, text=True, cwd=work, env=env,
                              timeout=600)
    assert sketched.returncode == 0, sketched.stderr[-3000:] + where.stderr
    assert len(list((work / "out").glob("*4*.svg"))) == 1, sorted(p.name for p in (work / "out").iterdir())
    profile = tmp_path / "profile"
    extension = subprocess.run([str(environment / SCRIPTS / "clipsketch"), "inkscape", "install", "--profile-dir",
                                str(profile)], capture_output=True, text=True, cwd=work, env=env, timeout=120)
    assert extension.returncode == 0, extension.stderr
    folder = profile / "extensions" / "clipsketch-extension"
    assert (folder / "clipsketch_inkscape" / "sketch_pb2.py").is_file() and (folder / "NOTICE").is_file()
    assert (folder / "vendor" / "google" / "protobuf" / "__init__.py").is_file()
    assert str(environment) in (folder / "clipsketch_server.json").read_text()
