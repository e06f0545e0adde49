"""The health service names that probes ask (Kubernetes' gRPC probes, the image's HEALTHCHECK, ``clipsketch
health``), importable without torch: a probe runs every few seconds and must start fast."""

from clipsketch.proto import sketch_pb2

SKETCH_SERVICE = sketch_pb2.DESCRIPTOR.services_by_name["SketchService"].full_name
"""``clipsketch.v1.SketchService``."""
LIVENESS = ""
"""The health service name a liveness probe asks: is the process serving at all."""
READINESS = SKETCH_SERVICE
"""The health service name a readiness probe asks: does the server take jobs now."""
