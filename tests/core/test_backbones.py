"""Backbones: layer taps of the real RN101 architecture, the offline weights, and weight resolution."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from clipsketch.core import backbones
from clipsketch.core.backbones import (
    ClipResNetTaps,
    OfflineTaps,
    WeightsUnavailable,
    create_clip_visual,
    create_offline_model,
    resolve_clip_checkpoint,
)


def test_rn101_taps_return_layer2_and_layer3_shapes():
    taps = ClipResNetTaps(create_clip_visual("RN101-quickgelu", "random"), "RN101 random")(torch.rand(2, 3, 224, 224))
    shapes = [tuple(layer.shape) for layer in taps.layers]
    assert shapes == [(2, 64, 56, 56), (2, 256, 56, 56), (2, 512, 28, 28), (2, 1024, 14, 14), (2, 2048, 7, 7)]
    assert tuple(taps.embedding.shape) == (2, 512)


def test_models_are_frozen():
    visual = create_clip_visual("tiny-rn", "random")
    assert not any(p.requires_grad for p in visual.parameters()) and not visual.training


def test_offline_backbone_has_real_imagenet_weights(chelsea):
    model = create_offline_model()
    image = torch.from_numpy(np.asarray(Image.fromarray(chelsea).resize((224, 224)), dtype=np.float32) / 255)
    taps_model = OfflineTaps(model)
    batch = image.permute(2, 0, 1).unsqueeze(0)
    with torch.no_grad():
        top = model(taps_model.normalize(batch)).topk(3).indices[0].tolist()
    assert set(top) & {281, 282, 285}  # tabby, tiger cat, Egyptian cat
    taps = taps_model(batch)
    assert [layer.shape[-1] for layer in taps.layers] == [112, 56, 28, 14, 7]
    assert tuple(taps.embedding.shape) == (1, 1280)


def test_folding_the_batch_norms_keeps_the_offline_taps_and_their_gradients():
    folded, plain = OfflineTaps(create_offline_model()), OfflineTaps(create_offline_model(fold=False))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert not any(p.requires_grad for p in folded.parameters())
    images = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    gradients = []
    for backbone in (folded, plain):
        pixels = images.clone().requires_grad_(True)
        taps = backbone(pixels)
        sum(layer.square().mean() for layer in taps.layers).backward()
        gradients.append(pixels.grad)
        if backbone is folded:
            folded_taps = taps
    for ours, theirs in zip([*folded_taps.layers, folded_taps.embedding], [*taps.layers, taps.embedding]):
        ours, theirs = ours.detach(), theirs.detach()
        assert float((ours - theirs).abs().max()) <= 1e-4 * float(theirs.abs().max())
    # a rounding-level change flips ReLU6 at a few activations sitting on 0 or 6: 7e-4 of the gradient, measured
    assert float((gradients[0] - gradients[1]).norm()) <= 5e-3 * float(gradients[1].norm())


def test_missing_clip_weights_fail_fast_with_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty Hugging Face cache
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # a hub that does not answer, network or not
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    backbones.hub_reachable.cache_clear()
    with pytest.raises(WeightsUnavailable, match=r"RN101-quickgelu/openai.*unreachable.*--clip-weights"):
        resolve_clip_checkpoint("RN101-quickgelu", "openai")
    backbones.hub_reachable.cache_clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline mode is honoured without probing
    with pytest.raises(WeightsUnavailable, match="not cached"):
        resolve_clip_checkpoint("RN101-quickgelu", "openai")
    with pytest.raises(WeightsUnavailable, match="does not exist"):
        resolve_clip_checkpoint("RN101-quickgelu", "openai", tmp_path / "missing.pt")


def test_local_checkpoint_is_loaded(tmp_path, monkeypatch):
    """A checkpoint given as a path (what --clip-weights passes) is the one the model runs with."""
    import open_clip

    reference = open_clip.create_model("tiny-rn", pretrained=None)
    checkpoint = tmp_path / "tiny.pt"
    torch.save(reference.state_dict(), checkpoint)
    # tiny-rn has no pretrained tag; resolve as if it had one, from the directory holding the file
    monkeypatch.setattr(open_clip, "get_pretrained_cfg", lambda model, tag: {"hf_hub": "org/tiny/tiny.pt"})
    assert resolve_clip_checkpoint("tiny-rn", "openai", tmp_path) == str(checkpoint)
    visual = create_clip_visual("tiny-rn", "openai", tmp_path)
    image = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(visual(image), reference.visual.eval()(image), atol=1e-5)


@pytest.fixture
def local_proxy():
    """An HTTP proxy on 127.0.0.1 that answers every request itself and records what it was asked."""
    import http.server
    import threading

    asked = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()


def test_the_hub_probe_goes_through_the_proxy_and_honours_no_proxy(monkeypatch, local_proxy):
    """Behind a proxy the hub is asked through it (a raw socket to the hub would judge the machine offline); a
    host in NO_PROXY is asked directly. Nothing leaves this machine: the proxy answers for the hub."""
    from huggingface_hub.utils import close_session  # its session reads the proxy settings once, when made

    address, asked = local_proxy
    monkeypatch.setenv("HTTP_PROXY", address)
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.example")  # never resolved: the proxy is asked for it
    monkeypatch.delenv("NO_PROXY", raising=False)
    close_session()
    backbones.hub_reachable.cache_clear()
    assert backbones.hub_reachable() and asked == ["http://hub.example/api/models"]
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    close_session()
    backbones.hub_reachable.cache_clear()
    assert not backbones.hub_reachable() and len(asked) == 1  # direct to a port where nothing listens
    close_session()
    backbones.hub_reachable.cache_clear()
