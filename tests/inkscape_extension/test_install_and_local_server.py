"""The extension as it ships (zip, install, what it bundles), the per-system tables, starting a local server
from Inkscape's own Python, and the progress window."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from clipsketch import inkscape
from tests.inkscape_extension.conftest import (
    EXTENSION_SOURCE,
    INKSCAPE_PYTHON,
    extension_python,
    inkscape_environment,
    run_extension,
)

SVG = "http://www.w3.org/2000/svg"
REPOSITORY = Path(__file__).resolve().parents[2]


# --- what ships ----------------------------------------------------------------------------------------------

def test_inkscapes_python_has_nothing_but_inkex_and_what_the_extension_bundles(extension_dir):
    """The premise of every test here: Inkscape's Python cannot import grpcio, torch, clipsketch, Pillow or
    protobuf, and the extension's modules load there with its vendor/ folder only, importing no numpy (which
    some Inkscape builds have, and others not)."""
    bare = subprocess.run([INKSCAPE_PYTHON, "-c", "import importlib.util as u; print([n for n in ('grpc', 'torch', "
                           "'clipsketch', 'PIL', 'google') if u.find_spec(n)])"],
                          capture_output=True, text=True, env=inkscape_environment(), cwd="/")
    assert bare.stdout.strip() == "[]", bare.stdout + bare.stderr
    loaded = extension_python(extension_dir, "import inkex\nbefore = set(sys.modules)\n"  # inkex 1.2 loads numpy
                              "import clipsketch_inkscape.effect, clipsketch_inkscape.progress, google.protobuf\n"
                              "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
                              "('grpc', 'torch', 'numpy', 'clipsketch', 'PIL')))\nprint(google.protobuf.__file__)")
    lines = loaded.stdout.splitlines()
    assert lines[0] == "[]" and lines[1].startswith(str(extension_dir / "vendor")), loaded.stdout + loaded.stderr


def test_the_zip_holds_one_copy_of_the_extension_its_libraries_and_their_licences(extension_zip):
    assert extension_zip.name == f"clipsketch-inkscape-{inkscape.__version__}.zip"
    assert extension_zip.stat().st_size < 5 * 2**20
    with zipfile.ZipFile(extension_zip) as archive:
        names = archive.namelist()
    assert all(name.startswith(f"{inkscape.FOLDER}/") for name in names)  # unzips into extensions/ as one folder
    inside = [name.split("/", 1)[1] for name in names]
    assert sorted(n for n in inside if n.endswith(".inx")) == ["clipsketch_refine.inx", "clipsketch_sketch.inx"]
    assert {"LICENSE", "NOTICE", "vendor.txt", "clipsketch_inkscape/sketch_pb2.py",
            "clipsketch_inkscape/addresses.py"} <= set(inside)
    assert not [n for n in inside if "__pycache__" in n or n.endswith(".pyc") or n.endswith(".so")]
    assert len(inside) == len(set(inside))
    for pin in pins():  # each bundled library once, at its pinned version, with its licence
        name, version = pin.split("==")
        info = [n for n in inside if re.match(rf"vendor/{name}-{re.escape(version)}\.dist-info/", n, re.I)]
        assert any(re.search(r"(LICEN[CS]E|COPYING)", n, re.I) for n in info), pin
        assert f"vendor/{name}-" not in " ".join(n for n in inside if n not in info and ".dist-info/" in n)


def pins() -> list[str]:
    lines = (EXTENSION_SOURCE / "vendor.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_vendor_holds_exactly_the_pins_and_protobuf_is_new_enough_for_the_generated_code():
    vendored = sorted(p.name for p in (EXTENSION_SOURCE / "vendor").glob("*.dist-info"))
    assert vendored == sorted(f"{p.split('==')[0]}-{p.split('==')[1]}.dist-info" for p in pins())
    generated = (REPOSITORY / "proto" / "sketch_pb2.py").read_text()
    major, minor, patch = (int(v) for v in re.search(r"Protobuf Python Version: (\d+)\.(\d+)\.(\d+)",
                                                     generated).groups())
    runtime = next(p for p in pins() if p.startswith("protobuf==")).split("==")[1]
    have = tuple(int(v) for v in runtime.split("."))
    assert have[0] == major and have >= (major, minor, patch)  # protobuf's rule for generated code


def test_the_extensions_generated_code_is_the_one_protos(extension_dir):
    """Copied in when built, never kept apart: the drift check of proto/ (test_server) covers it."""
    assert (extension_dir / "clipsketch_inkscape" / "sketch_pb2.py").read_bytes() == \
        (REPOSITORY / "proto" / "sketch_pb2.py").read_bytes()
    assert (extension_dir / "clipsketch_inkscape" / "addresses.py").read_bytes() == \
        (REPOSITORY / "clipsketch" / "addresses.py").read_bytes()
    assert not (EXTENSION_SOURCE / "clipsketch_inkscape" / "sketch_pb2.py").exists()


def test_one_code_path_for_every_system():
    """Nothing POSIX-only: what runs here is what Windows and macOS run."""
    code = "\n".join(path.read_text() for path in EXTENSION_SOURCE.rglob("*.py") if "vendor" not in path.parts)
    for banned in ("os.execve", "os.execv", "posix_spawn", "fcntl", "os.fork", "os.waitpid", "setsid"):
        assert banned not in code, banned


def test_install_and_uninstall(tmp_path):
    target, how = inkscape.install(tmp_path)
    assert how == "--profile-dir" and target == tmp_path / "extensions" / "clipsketch-extension"
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == \
        sorted([*inkscape.extension_files(), inkscape.SERVER_RECORD])
    command = json.loads((target / inkscape.SERVER_RECORD).read_text())["command"]
    assert Path(command[0]).parent == Path(sys.executable).parent
    assert inkscape.uninstall(tmp_path) == target and not target.exists()
    assert inkscape.uninstall(tmp_path) is None


def test_install_removes_an_earlier_versions_shadowing_folder(tmp_path):
    """Earlier versions installed into extensions/clipsketch, which shadowed the package on Inkscape's
    PYTHONPATH; a folder of the user's own by that name is left alone."""
    legacy = tmp_path / "extensions" / "clipsketch"
    legacy.mkdir(parents=True)
    for name in ("clipsketch_sketch.inx", "clipsketch_sketch.py", "clipsketch_env.json"):
        (legacy / name).write_text("old")
    inkscape.install(tmp_path)
    assert not legacy.exists()
    legacy.mkdir()
    (legacy / "notes.txt").write_text("mine")
    inkscape.install(tmp_path)
    assert (legacy / "notes.txt").exists()


# --- the per-system tables -----------------------------------------------------------------------------------

@pytest.mark.parametrize("system, environ, made, expected, how", [
    ("Windows", {"APPDATA": "C:/Users/ann/AppData/Roaming"}, None, "C:/Users/ann/AppData/Roaming/inkscape",
     "default profile of Inkscape on Windows"),
    ("Windows", {"appdata": "D:/Roam"}, None, "D:/Roam/inkscape", "default profile"),  # any spelling
    ("Darwin", {}, None, "HOME/Library/Application Support/org.inkscape.Inkscape/config/inkscape",
     "default profile of Inkscape.app"),
    ("Linux", {}, None, "HOME/.config/inkscape", "default profile of Inkscape on Linux"),
    ("Linux", {"XDG_CONFIG_HOME": "HOME/cfg"}, None, "HOME/cfg/inkscape", "default profile"),
    ("Linux", {}, "HOME/.var/app/org.inkscape.Inkscape/config/inkscape",
     "HOME/.var/app/org.inkscape.Inkscape/config/inkscape", "the profile of the Flatpak"),
    ("Linux", {}, "HOME/snap/inkscape/current/.config/inkscape", "HOME/snap/inkscape/current/.config/inkscape",
     "the profile of the Snap"),
    ("Linux", {"INKSCAPE_PROFILE_DIR": "HOME/mine"}, None, "HOME/mine", "INKSCAPE_PROFILE_DIR"),
])
def test_the_profile_is_found_on_every_system(tmp_path, system, environ, made, expected, how):
    home = tmp_path / "home"
    fill = lambda text: text.replace("HOME", str(home))  # noqa: E731
    if made:
        Path(fill(made)).mkdir(parents=True)
    environ = {key: fill(value) for key, value in environ.items()}
    path, found = inkscape.find_profile(system, environ, home, ask=lambda binary: pytest.fail("no binary here"))
    assert path == Path(fill(expected)) and how in found


@pytest.mark.parametrize("system, binary", [
    ("Windows", "PF/Inkscape/bin/inkscape.exe"), ("Darwin", "/Applications/Inkscape.app/Contents/MacOS/inkscape"),
    ("Darwin", "HOME/Applications/Inkscape.app/Contents/MacOS/inkscape"), ("Linux", "BIN/inkscape")])
def test_the_inkscape_binary_is_asked_where_it_is_installed(tmp_path, monkeypatch, system, binary):
    """On PATH, in Program Files, in the macOS app bundle: its answer to --user-data-directory wins."""
    home, program_files, bin_dir = tmp_path / "home", tmp_path / "pf", tmp_path / "bin"
    path = Path(binary.replace("HOME", str(home)).replace("PF", str(program_files)).replace("BIN", str(bin_dir)))
    if system == "Darwin" and binary.startswith("/Applications"):
        original = inkscape.INKSCAPE_BINARIES["Darwin"]
        monkeypatch.setitem(inkscape.INKSCAPE_BINARIES, "Darwin", [str(tmp_path) + original[0]] + original[1:])
        path = Path(str(tmp_path) + binary)
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\necho /somewhere/inkscape-profile\n")
    path.chmod(0o755)
    asked = []
    environ = {"ProgramFiles": str(program_files), "PATH": str(bin_dir) if system == "Linux" else str(tmp_path)}
    found, how = inkscape.find_profile(system, environ, home, ask=lambda b: asked.append(b) or "/the/answer")
    assert found == Path("/the/answer") and asked == [str(path)] and how == f"asked {path}"


def test_the_real_inkscape_is_asked_here(tmp_path):
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    found, how = inkscape.find_profile("Linux", environ, tmp_path)
    assert how == "asked /usr/bin/inkscape" and found.name == "inkscape"


def test_sandboxes_detach_flags_and_log_folders_are_small_tables(extension_dir, tmp_path):
    (tmp_path / ".flatpak-info").write_text("[Application]\n")
    run = extension_python(extension_dir, f"""
import os, subprocess
from pathlib import Path
from clipsketch_inkscape import local_server as s
print(s.sandbox(Path({str(tmp_path)!r}), {{}}), s.sandbox(Path('/nonexistent'), {{'SNAP': '/snap/inkscape/1'}}),
      s.sandbox(Path('/nonexistent'), {{}}))
print(s.DETACH['nt']['creationflags'] == 0x200 | 0x8, s.DETACH[os.name])
print(s.server_log_path('Windows', {{'LOCALAPPDATA': 'C:/L'}}).as_posix(),
      s.server_log_path('Darwin', {{}}) == Path.home() / 'Library/Caches/clipsketch/server.log',
      s.server_log_path('Linux', {{'XDG_CACHE_HOME': '/c'}}).as_posix())
from clipsketch_inkscape.progress import has_display
print(has_display('Windows', {{}}), has_display('Darwin', {{}}), has_display('Linux', {{}}),
      has_display('Linux', {{'WAYLAND_DISPLAY': 'wayland-0'}}))
""")
    assert run.stdout.splitlines() == [
        "the Flatpak sandbox the Snap sandbox None", "True {'start_new_session': True}",
        "C:/L/clipsketch/server.log True /c/clipsketch/server.log", "True True False True"], run.stderr


# --- starting a local server ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def embedded_drawing(tmp_path, photo_bytes) -> Path:
    import base64

    drawing = tmp_path / "drawing.svg"
    drawing.write_text(f'<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 451 300">'
                       f'<image id="photo" width="451" height="300" '
                       f'xlink:href="data:image/png;base64,{base64.b64encode(photo_bytes).decode()}"/></svg>')
    return drawing


def offline_environment(tmp_path, **extra) -> dict[str, str]:
    """The started server uses the offline backbone whatever the network; its log goes under tmp_path."""
    return inkscape_environment(XDG_CACHE_HOME=str(tmp_path / "cache"), HF_HOME=str(tmp_path / "hf"),
                                HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", **extra)


def sketch_arguments(drawing: Path, address: str, start: bool = True) -> list[str]:
    return ["--id=photo", "--strokes=2", "--iterations=1", "--seeds=1", "--mask=false", f"--server={address}",
            f"--start_server={'true' if start else 'false'}", "--show_progress=false", str(drawing)]


def stop_servers(address: str) -> None:
    subprocess.run(["pkill", "-f", f"serve --listen {address}"], check=False)


def test_two_windows_start_one_local_server_and_share_it(tmp_path, photo_bytes, extension_dir):
    """Nothing listens: two extension runs at once (two Inkscape windows) start one `clipsketch serve` (found on
    PATH: the zip records no command), both get their sketch from it, and nothing is written to stderr."""
    address = f"127.0.0.1:{free_port()}"
    drawing = embedded_drawing(tmp_path, photo_bytes)
    environment = offline_environment(tmp_path)
    command = [INKSCAPE_PYTHON, str(extension_dir / "clipsketch_sketch.py"), *sketch_arguments(drawing, address)]
    try:
        runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment,
                                 stdin=subprocess.DEVNULL, cwd=tmp_path) for _ in range(2)]
        outputs = [run.communicate(timeout=300) for run in runs]
        servers = subprocess.run(["pgrep", "-f", f"serve --listen {address}"], capture_output=True, text=True)
    finally:
        stop_servers(address)
    for run, (out, err) in zip(runs, outputs):
        assert run.returncode == 0 and err == b"", err.decode()
        assert len(etree.fromstring(out).findall(f".//{{{SVG}}}path")) == 2
    assert len(servers.stdout.split()) == 1
    log = (tmp_path / "cache" / "clipsketch" / "server.log").read_text()
    assert log.count("clipsketch serve: listening") == 1 and "ImportError" not in log


def test_a_server_still_loading_its_models_is_waited_for_not_doubled(tmp_path, make_server, photo_bytes,
                                                                     extension_dir):
    """A server that answers gRPC but has not loaded its models is waited for: no second `clipsketch serve`."""
    from tests.conftest import tiny_engine

    loaded = threading.Event()

    def slow_engine():
        loaded.wait(60)
        return tiny_engine()

    server = make_server(load_engine=slow_engine)
    threading.Timer(6.0, loaded.set).start()
    started = time.monotonic()
    run = run_extension(extension_dir, sketch_arguments(embedded_drawing(tmp_path, photo_bytes), server.address),
                        environment=offline_environment(tmp_path))
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert time.monotonic() - started > 5.5 and server.models.engine is not None
    assert not (tmp_path / "cache" / "clipsketch" / "server.log").exists()  # nothing was spawned


def test_a_server_that_dies_while_starting_is_reported_at_once_with_its_log(tmp_path, photo_bytes, extension_dir):
    """The port is bound by another program but nothing listens on it: the started server (the command
    `clipsketch inkscape install` recorded) cannot bind and exits; the extension says so with its log."""
    installed, _ = inkscape.install(tmp_path / "profile")
    drawing = embedded_drawing(tmp_path, photo_bytes)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{holder.getsockname()[1]}"
        try:
            started = time.monotonic()
            run = run_extension(installed, sketch_arguments(drawing, address), timeout=170,
                                environment=offline_environment(tmp_path, PATH="/usr/bin:/bin"))
        finally:
            stop_servers(address)
    assert run.returncode != 0 and time.monotonic() - started < 120
    assert "Could not start a local clipsketch server" in run.stderr and "stopped at once" in run.stderr
    assert "server.log" in run.stderr and "Traceback" not in run.stderr.split("says:")[0]


def test_no_clipsketch_command_is_named(tmp_path, photo_bytes, extension_dir):
    run = run_extension(extension_dir, sketch_arguments(embedded_drawing(tmp_path, photo_bytes),
                                                        f"127.0.0.1:{free_port()}"),
                        environment=offline_environment(tmp_path, PATH="/usr/bin:/bin"))
    assert run.returncode != 0 and "no clipsketch command was found" in run.stderr
    assert "clipsketch inkscape install" in run.stderr


def test_in_a_sandbox_no_server_is_started_and_the_message_says_how(tmp_path, photo_bytes, extension_dir):
    port = free_port()
    run = run_extension(extension_dir, sketch_arguments(embedded_drawing(tmp_path, photo_bytes), f"127.0.0.1:{port}"),
                        environment=offline_environment(tmp_path, SNAP="/snap/inkscape/current"))
    assert run.returncode != 0 and "Snap sandbox" in run.stderr
    assert f"clipsketch service install --listen 127.0.0.1:{port}" in run.stderr
    assert not (tmp_path / "cache" / "clipsketch" / "server.log").exists()


def test_something_else_listening_on_the_port_is_named_and_no_server_is_started(tmp_path, photo_bytes,
                                                                                extension_dir):
    """A program that accepts connections but speaks no gRPC holds the port: the extension says so (within the
    handshake's 15 s) and starts nothing that could only fail to bind."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        address = f"127.0.0.1:{squatter.getsockname()[1]}"
        run = run_extension(extension_dir, sketch_arguments(embedded_drawing(tmp_path, photo_bytes), address),
                            environment=offline_environment(tmp_path), timeout=120)
    assert run.returncode != 0 and "another program holds that port" in run.stderr and address in run.stderr
    assert not (tmp_path / "cache" / "clipsketch" / "server.log").exists()  # nothing was spawned


def test_a_server_too_busy_to_run_is_waited_for_not_doubled(tmp_path, serve_process, photo_bytes, extension_dir):
    """What a second Inkscape window met in CI on a loaded 2-core machine: the first window's server is there but
    gets no CPU for seconds (here: stopped with SIGSTOP for 8 s). The kernel still accepts the connection, so
    the window waits for that server instead of starting another."""
    from tests.conftest import TINY_SERVE_OPTIONS

    process, address = serve_process(*TINY_SERVE_OPTIONS)
    process.send_signal(signal.SIGSTOP)
    threading.Timer(8.0, process.send_signal, (signal.SIGCONT,)).start()
    started = time.monotonic()
    run = run_extension(extension_dir, sketch_arguments(embedded_drawing(tmp_path, photo_bytes), address),
                        environment=offline_environment(tmp_path))
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert time.monotonic() - started > 7.5
    assert not (tmp_path / "cache" / "clipsketch" / "server.log").exists()  # nothing was spawned


# --- the progress window -------------------------------------------------------------------------------------

WINDOW_SCRIPT = """
from clipsketch_inkscape import sketch_pb2 as pb
from clipsketch_inkscape.errors import SketchCancelledByUser
from clipsketch_inkscape.progress import open_progress_window
from clipsketch_inkscape.rpc import SketchClient

photo = open({photo!r}, "rb").read()
window = open_progress_window(True, "test", photo, [4], "#ff0000")
print("toolkit", type(window).__module__)
original = window.show_preview
def show_then_cancel(paths):
    original(paths)
    print("strokes", len(window.curves), "backdrop", window.backdrop is not None)
    window.cancel()
window.show_preview = show_then_cancel
with SketchClient({address!r}) as client:
    request = pb.SketchRequest(photo=photo, strokes=[4], iterations=5000, seeds=1, mask=pb.MASK_OFF,
                               preview_every=1, request_id="window-job")
    try:
        window.run(client.events(request), client, "window-job")
    except SketchCancelledByUser:
        print("cancelled by the user")
        sys.exit(0)
print("not cancelled")
sys.exit(1)
"""


def test_progress_window_cancel_cancels_the_job_on_the_server(server, tmp_path, photo_bytes, extension_dir):
    """The GTK window (Inkscape's own toolkit) on a virtual display, in Inkscape's Python: Cancel (pressed once a
    preview shows) stops the job on the server."""
    (tmp_path / "photo.png").write_bytes(photo_bytes)
    run = extension_python(extension_dir, WINDOW_SCRIPT.format(photo=str(tmp_path / "photo.png"),
                                                               address=server.address), display=True)
    assert run.returncode == 0 and "cancelled by the user" in run.stdout, run.stdout + run.stderr
    assert "toolkit clipsketch_inkscape.progress_gtk" in run.stdout
    assert "strokes 4 backdrop True" in run.stdout  # the strokes over the faded photo
    assert not server.jobs.is_known("window-job")


def test_without_a_display_or_a_toolkit_there_is_no_window_and_no_failure(extension_dir):
    run = extension_python(extension_dir, """
import os
from clipsketch_inkscape import progress
os.environ.pop("DISPLAY", None); os.environ.pop("WAYLAND_DISPLAY", None)
print(progress.open_progress_window(True, "t", b"", [4], "#000000"))
os.environ["DISPLAY"] = ":12345"  # no such display: GTK cannot open it, and this Python has no Tk
print(progress.open_progress_window(True, "t", b"", [4], "#000000"))
""")
    assert run.stdout.split() == ["None", "None"] and run.returncode == 0, run.stderr


def test_overall_progress_runs_across_stroke_counts(extension_dir):
    """One bar for the whole job: each stroke count an equal share, in the order they run."""
    run = extension_python(extension_dir, """
from clipsketch_inkscape.progress import ProgressWindow
window = ProgressWindow([4, 8, 16, 32])
print(window.fraction_done(4, 0, 500), window.fraction_done(8, 250, 500), window.fraction_done(32, 500, 500))
""")
    assert run.stdout.split() == ["0.0", "0.375", "1.0"], run.stderr
