"""Request metrics of `albert-tfx serve` in Prometheus' format, on the REST port at TF Serving's metrics path.

TF Serving's own names (`:tensorflow:serving:request_count`, `:tensorflow:serving:request_latency`) are not
valid Prometheus metric names, so these are named for this server; README.md ("REST API") says how they map:

- `albert_tfx_serving_request_count_total{model_name, api, entrypoint, status}`: answered requests
  (TF Serving's `request_count{model_name, status}`).
- `albert_tfx_serving_request_latency_seconds{model_name, api, entrypoint, status}`: a histogram of the time
  from receiving a request to answering it, in seconds (TF Serving's `request_latency{model_name, API,
  entrypoint}`, in microseconds).

`entrypoint` is `GRPC` or `REST` (TF Serving's values); `api` one of `API_NAMES`; `status` the canonical
status code name (`OK`, `NOT_FOUND`, `INVALID_ARGUMENT`, ...), the same for both entrypoints (the REST
answer's HTTP code follows from it). `model_name` is the requested model when this server serves it and
`UNKNOWN_MODEL` otherwise, so requests for made-up names cannot grow the number of series without bound.

Each server has its own `CollectorRegistry` (not prometheus_client's global one): several servers in one
process (the tests) count separately.
"""

from __future__ import annotations

from typing import Dict, Iterable, Tuple

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

GRPC, REST = "GRPC", "REST"
PREDICT, CLASSIFY, REGRESS, MULTI_INFERENCE = "predict", "classify", "regress", "multi_inference"
METADATA, STATUS, RELOAD_CONFIG = "metadata", "status", "reload_config"
API_NAMES = (PREDICT, CLASSIFY, REGRESS, MULTI_INFERENCE, METADATA, STATUS, RELOAD_CONFIG)
UNKNOWN_MODEL = "(unknown)"
CONTENT_TYPE = CONTENT_TYPE_LATEST
NAMESPACE = "albert_tfx_serving"
LABELS = ("model_name", "api", "entrypoint", "status")
# From 1 ms (a tiny model at batch 1) to a minute (a large model on a long batch on CPU).
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ServingMetrics:
    """Counts and times the answers of one server, per model, API, entrypoint and status."""

    def __init__(self, model_names: Iterable[str]):
        self._models = frozenset(model_names)
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter("request_count", "Requests answered", LABELS, namespace=NAMESPACE,
                                 registry=self.registry)
        self._latency = Histogram("request_latency_seconds", "Time to answer a request, in seconds", LABELS,
                                  namespace=NAMESPACE, buckets=LATENCY_BUCKETS_S, registry=self.registry)

    def observe(self, model_name: str, api: str, entrypoint: str, status: str, seconds: float) -> None:
        if api not in API_NAMES or entrypoint not in (GRPC, REST):
            raise ValueError(f"unknown api {api!r} or entrypoint {entrypoint!r}")
        labels = (model_name if model_name in self._models else UNKNOWN_MODEL, api, entrypoint, status)
        self._requests.labels(*labels).inc()
        self._latency.labels(*labels).observe(seconds)

    def counts(self) -> Dict[Tuple[str, str, str], int]:
        """(entrypoint, api, status) -> requests answered, over all models."""
        totals: Dict[Tuple[str, str, str], int] = {}
        for family in self._requests.collect():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    key = (sample.labels["entrypoint"], sample.labels["api"], sample.labels["status"])
                    totals[key] = totals.get(key, 0) + int(sample.value)
        return totals

    def exposition(self) -> bytes:
        """The metrics page (Prometheus' text format, `CONTENT_TYPE`)."""
        return generate_latest(self.registry)
