"""Files and folders the server cannot use for want of permissions: `clipsketch serve` says which, for which user,
and how to fix it, as the server image's user (uid 10001) would see it.

As root (which reads anything) the commands run as uid 10001: the interpreter starts as root, imports clipsketch,
then drops to that uid and gid (no other groups) before the command runs, so that it works wherever Python itself
is installed (this machine's lives under /root, which uid 10001 cannot enter). Otherwise they run as the user the
tests run as, and the files are made unreadable with chmod.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

from clipsketch.addresses import TokenFileError, read_token_file
from clipsketch.client import SketchClient

from tests.conftest import MODEL_CONFIGS

AS_ROOT = os.geteuid() == 0
UID, GID = (10001, 10001) if AS_ROOT else (os.getuid(), os.getgid())
"""The user the commands run as."""

AS_OTHER_USER = f"""
import os, sys
import clipsketch.cli, clipsketch.serving, clipsketch.server.app, clipsketch.batch.command, clipsketch.web.command
import open_clip, huggingface_hub.file_download
os.setgroups([]); os.setgid({GID}); os.setuid({UID})
sys.argv[0] = "clipsketch"
sys.exit(clipsketch.cli.main(sys.argv[1:]))
"""


def clipsketch_command(*arguments: str) -> list[str]:
    """``clipsketch ARGUMENTS`` run as :data:`UID`."""
    if AS_ROOT:
        return [sys.executable, "-c", AS_OTHER_USER, *arguments]
    return [sys.executable, "-m", "clipsketch.cli", *arguments]


@pytest.fixture
def shared_folder():
    """A folder that :data:`UID` can enter (pytest's own are private to root), removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix="clipsketch-permissions-"))
    folder.chmod(0o755)
    yield folder
    for path in folder.iterdir():  # the tests' folders and files are one level deep
        path.chmod(0o700)
    shutil.rmtree(folder)


def environment(folder: Path, **settings: str) -> dict[str, str]:
    """The test's environment for a command as :data:`UID`, with a home of its own in ``folder``."""
    home = folder / "home"
    home.mkdir()
    if AS_ROOT:
        os.chown(home, UID, GID)
    env = {key: value for key, value in os.environ.items() if key not in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")}
    return {**env, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "OMP_NUM_THREADS": "1", **settings}


def unreadable_token(folder: Path) -> Path:
    """A token file :data:`UID` cannot read: root's own with mode 0600, or, not as root, mode 0000."""
    token = folder / "token"
    token.write_text("s3cret\n")
    token.chmod(0o600 if AS_ROOT else 0)
    return token


SERVE = ["serve", "--listen", "0.0.0.0:0"]
SKETCH = ["sketch", "photo.png", "--out", "home/out", "--server", "127.0.0.1:9"]


@pytest.mark.parametrize("command", [SERVE, SKETCH], ids=["serve", "client"])
def test_an_unreadable_token_file_names_the_file_the_user_and_the_fix(shared_folder, command):
    token = unreadable_token(shared_folder)
    Image.new("RGB", (8, 8)).save(shared_folder / "photo.png")
    env = environment(shared_folder)  # and the home the sketch command writes in
    result = subprocess.run(clipsketch_command(*command, "--token-file", str(token)), capture_output=True, text=True,
                            timeout=300, cwd=shared_folder, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    message = result.stderr.strip()
    fix = (f"`sudo chgrp {GID} {token} && sudo chmod g+r {token}` (in a container: the host's file mounted there), "
           f"or in Kubernetes fsGroup: {GID}" if command[0] == "serve" else f"`sudo chown {UID} {token}`")
    assert message == (f"clipsketch {command[0]}: cannot read the token file {token}: permission denied for uid "
                       f"{UID} (gid {GID}); make it readable by that user, e.g. {fix}")


def test_a_missing_token_file_is_named():
    with pytest.raises(TokenFileError, match=r"^the token file /nowhere/token does not exist$") as missing:
        read_token_file("/nowhere/token")
    assert isinstance(missing.value, OSError) and missing.value.strerror == "No such file or directory"


def test_a_token_in_a_folder_the_user_cannot_enter_names_the_folder(shared_folder):
    private = shared_folder / "private"
    private.mkdir()
    token = private / "token"
    token.write_text("s3cret\n")
    private.chmod(0o700 if AS_ROOT else 0o600)
    result = subprocess.run(clipsketch_command("serve", "--token-file", str(token)), capture_output=True, text=True,
                            timeout=300, env=environment(shared_folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert (f"cannot read the token file {token}: permission denied for uid {UID} (gid {GID}); make its folder "
            f"{private} accessible to that user, e.g. `sudo chgrp {GID} {private} && sudo chmod g+rx {private}` (in "
            "a container: the host's folder mounted there)") in result.stderr


def test_a_model_folder_the_user_cannot_write_is_a_warning_and_part_of_a_failed_load(shared_folder):
    """The image's HF_HOME, /models/huggingface, on a host folder owned by root: weights already there could be
    used, so the server starts and warns; when the load then fails, its reason says the folder is not writable."""
    models = shared_folder / "models"
    models.mkdir()
    models.chmod(0o755 if AS_ROOT else 0o555)  # root's own, or read-only to its owner
    tiny_clip = ["--backbone", "clip", "--weights", "openai", "--loss-model", "tiny-rn", "--saliency-model",
                 "tiny-vit", "--model-config-dir", str(MODEL_CONFIGS), "--device", "cpu"]
    process = subprocess.Popen(clipsketch_command("serve", "--listen", "127.0.0.1:0", *tiny_clip),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment(shared_folder, HF_HOME=str(models / "huggingface")))
    try:
        line = process.stdout.readline()
        assert "listening on" in line, process.stderr.read() if process.poll() is not None else line
        with SketchClient(line.rsplit(" ", 1)[1].strip()) as client:
            reason = wait_for_reason(client, "loading the models failed")
        assert re.search(f"; and the model folder {re.escape(str(models))} is not writable by uid {UID} \\(gid "
                         f"{GID}\\), so downloaded weights cannot be kept there \\(next try in \\d+ s\\)$", reason), reason
    finally:
        process.terminate()
        process.wait(60)
    logs = process.stderr.read()
    assert (f'"level": "WARNING", "message": "the model folder {models} is not writable by uid {UID} (gid {GID}): '
            "CLIP weights found there are used, but downloaded ones cannot be kept; let that user write there: "
            f"`sudo chown -R {UID} HOSTDIR` for a host folder mounted there, a named volume, or fsGroup: {GID} in "
            f'Kubernetes", "folder": "{models}", "uid": {UID}, "gid": {GID}') in logs
    assert '"level": "ERROR", "message": "loading the models failed"' in logs and process.returncode == 0


def wait_for_reason(client: SketchClient, expected: str, timeout: float = 120) -> str:
    """GetInfo's ``not_ready_reason`` once it holds ``expected``."""
    deadline = time.monotonic() + timeout
    while expected not in (reason := client.info().not_ready_reason) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert expected in reason, reason
    return reason
