"""A real gRPC server on 127.0.0.1 (port 0) running the engine with tiny models."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from clipsketch.client import SketchClient
from clipsketch.core.sketch import Engine
from clipsketch.server.app import SketchServer


def tiny_engine() -> Engine:
    torch.manual_seed(0)
    return Engine(backbone="clip", weights="random", loss_model="tiny-rn", saliency_model="tiny-vit", device="cpu")


@pytest.fixture
def make_server(tiny_model_configs):
    """Start servers (keyword arguments go to SketchServer); all are stopped at the end of the test."""
    servers = []

    def start(**settings) -> SketchServer:
        settings.setdefault("listen", "127.0.0.1:0")
        server = SketchServer(tiny_engine, **settings).start()
        servers.append(server)
        assert server.models.ready.wait(60) and server.models.engine is not None
        return server

    yield start
    for server in servers:
        server.stop(grace=1)


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def client(server):
    with SketchClient(server.address) as connection:
        yield connection


@pytest.fixture(scope="session")
def photo_bytes(chelsea) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(chelsea).save(buffer, "PNG")
    return buffer.getvalue()
