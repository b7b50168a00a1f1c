"""OTLP/HTTP request bodies -> flat log records and metric points (``opentelemetry-proto``).

Both encodings the specification allows are read: binary protobuf (``application/x-protobuf``) and OTLP/JSON
(``application/json``: camelCase keys, 64-bit integers as strings, ids in hex, which are not used here), either
gzip-compressed or not. What is not OTLP raises :class:`OtlpError` carrying the HTTP status to answer (400
malformed, 413 too large, 415 unsupported content type or encoding); nothing is half-read.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

MAX_BODY = 8 * 1024 * 1024
"""Largest accepted request, compressed or not (Claude Code batches at most 512 records per export)."""
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
Signal = Literal["logs", "metrics"]
T = TypeVar("T")


class OtlpError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class LogItem:
    """One log record with its resource's attributes (the record's own win on a clash)."""

    event_name: str
    """``event.name`` attribute, else the body when it is a plain string (Claude Code writes both)."""
    attrs: Mapping[str, Any]
    resource: Mapping[str, Any]
    ts: float
    """Epoch seconds: the record's time, else its observed time, else 0."""


@dataclass(frozen=True, slots=True)
class MetricPoint:
    name: str
    unit: str
    kind: Literal["sum", "gauge", "histogram", "other"]
    attrs: Mapping[str, Any]
    resource: Mapping[str, Any]
    value: float
    start: float
    ts: float
    cumulative: bool
    """A sum's temporality: cumulative (the total since ``start``) or delta (the change since the last export)."""


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def read_body(body: bytes, content_type: str | None, content_encoding: str | None,
              max_body: int = MAX_BODY) -> tuple[bytes, bool]:
    """The request's uncompressed bytes and whether they are JSON; :class:`OtlpError` for what cannot be read."""
    kind = media_type(content_type)
    if kind not in (PROTOBUF, JSON):
        raise OtlpError(415, f"unsupported content type {kind or '(none)'!r}: send {PROTOBUF} or {JSON}")
    if len(body) > max_body:
        raise OtlpError(413, f"request of {len(body):,} bytes is over the {max_body:,}-byte limit")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        try:
            d = zlib.decompressobj(wbits=31)
            body = d.decompress(body, max_body + 1)
            if len(body) > max_body:
                raise OtlpError(413, f"request is over the {max_body:,}-byte limit once uncompressed")
            if not d.eof:
                raise OtlpError(400, "gzip body is truncated")
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise OtlpError(400, f"gzip body cannot be read: {exc}") from None
    elif encoding != "identity":
        raise OtlpError(415, f"unsupported content encoding {encoding!r}: send gzip or none")
    return body, kind == JSON


def parse(signal: Signal, body: bytes, is_json: bool) -> Any:
    """The ``Export{Logs,Metrics}ServiceRequest`` message."""
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError

    msg: Any
    if signal == "logs":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        msg = ExportLogsServiceRequest()
    else:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        msg = ExportMetricsServiceRequest()
    try:
        if is_json:
            json_format.Parse(body, msg, ignore_unknown_fields=True)
        else:
            msg.ParseFromString(body)
    except (json_format.ParseError, DecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        what = "OTLP/JSON" if is_json else "OTLP protobuf"
        raise OtlpError(400, f"body is not a valid {what} {signal} export: {str(exc)[:200]}") from None
    return msg


def value_of(v: Any) -> Any:
    """An ``AnyValue`` as a plain Python value."""
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [value_of(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, which)


def attributes(kvs: Any) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in kvs}


def log_items(req: Any) -> Iterator[LogItem]:
    for rl in req.resource_logs:
        resource = attributes(rl.resource.attributes)
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                attrs = attributes(rec.attributes)
                name = attrs.get("event.name") or rec.event_name
                if not name and rec.body.WhichOneof("value") == "string_value":
                    name = rec.body.string_value
                ns = rec.time_unix_nano or rec.observed_time_unix_nano
                yield LogItem(str(name or ""), attrs, resource, ns / 1e9)


def metric_points(req: Any) -> Iterator[MetricPoint]:
    from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

    cumulative = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    for rm in req.resource_metrics:
        resource = attributes(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                which = m.WhichOneof("data")
                if which in ("sum", "gauge"):
                    data = getattr(m, which)
                    cum = which == "sum" and data.aggregation_temporality == cumulative
                    for p in data.data_points:
                        value = p.as_double if p.WhichOneof("value") == "as_double" else float(p.as_int)
                        yield MetricPoint(m.name, m.unit, "sum" if which == "sum" else "gauge",
                                          attributes(p.attributes), resource, value,
                                          p.start_time_unix_nano / 1e9, p.time_unix_nano / 1e9, cum)
                elif which == "histogram":
                    for h in m.histogram.data_points:
                        yield MetricPoint(m.name, m.unit, "histogram", attributes(h.attributes), resource,
                                          h.sum, h.start_time_unix_nano / 1e9, h.time_unix_nano / 1e9,
                                          m.histogram.aggregation_temporality == cumulative)
                else:
                    yield MetricPoint(m.name, m.unit, "other", {}, resource, 0.0, 0.0, 0.0, False)


def decode_logs(body: bytes, content_type: str | None, content_encoding: str | None,
                max_body: int = MAX_BODY) -> list[LogItem]:
    raw, is_json = read_body(body, content_type, content_encoding, max_body)
    if is_json:
        return _json_walk("logs", raw, _json_log_items)
    return list(log_items(parse("logs", raw, is_json)))


def decode_metrics(body: bytes, content_type: str | None, content_encoding: str | None,
                   max_body: int = MAX_BODY) -> list[MetricPoint]:
    raw, is_json = read_body(body, content_type, content_encoding, max_body)
    if is_json:
        return _json_walk("metrics", raw, _json_metric_points)
    return list(metric_points(parse("metrics", raw, is_json)))


# -- OTLP/JSON without protobuf's JSON parser (pure Python, four times slower than this walk) -------------------

def _json_walk(signal: Signal, raw: bytes, walk: Callable[[dict[str, Any]], Iterator[T]]) -> list[T]:
    import orjson

    try:
        doc = orjson.loads(raw)
        if not isinstance(doc, dict):
            raise TypeError("the document is not an object")
        return list(walk(doc))
    except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError, KeyError) as exc:
        raise OtlpError(400, f"body is not a valid OTLP/JSON {signal} export: {str(exc)[:200]}") from None


def _get(d: Any, camel: str, snake: str) -> Any:
    """A field by its OTLP/JSON name (lowerCamelCase), or the protobuf name some senders use."""
    v = d.get(camel)
    return d.get(snake) if v is None else v


def _list(d: Any, camel: str, snake: str) -> list[Any]:
    v = _get(d, camel, snake)
    if v is None:
        return []
    if not isinstance(v, list):
        raise TypeError(f"{camel} is not a list")
    return v


def _json_value(v: Any) -> Any:
    """An ``AnyValue`` in OTLP/JSON (``{"intValue": "12"}``...) as a plain Python value."""
    if not isinstance(v, dict):
        return None
    for kind, x in v.items():
        if x is None:
            continue
        if kind in ("stringValue", "string_value", "boolValue", "bool_value", "doubleValue", "double_value"):
            return x
        if kind in ("intValue", "int_value"):
            return int(x)
        if kind in ("arrayValue", "array_value"):
            return [_json_value(e) for e in _list(x, "values", "values")]
        if kind in ("kvlistValue", "kvlist_value"):
            return _json_attrs(_list(x, "values", "values"))
        if kind in ("bytesValue", "bytes_value"):
            import base64

            return base64.b64decode(x).hex()
    return None


def _json_attrs(kvs: list[Any]) -> dict[str, Any]:
    return {kv["key"]: _json_value(kv.get("value")) for kv in kvs}


def _nanos(d: Any, camel: str, snake: str) -> float:
    v = _get(d, camel, snake)
    return int(v) / 1e9 if v else 0.0


def _json_log_items(doc: dict[str, Any]) -> Iterator[LogItem]:
    for rl in _list(doc, "resourceLogs", "resource_logs"):
        resource = _json_attrs(_list(rl.get("resource") or {}, "attributes", "attributes"))
        for sl in _list(rl, "scopeLogs", "scope_logs"):
            for rec in _list(sl, "logRecords", "log_records"):
                attrs = _json_attrs(_list(rec, "attributes", "attributes"))
                name = attrs.get("event.name") or _get(rec, "eventName", "event_name")
                if not name:
                    body = _json_value(rec.get("body"))
                    name = body if isinstance(body, str) else ""
                ts = _nanos(rec, "timeUnixNano", "time_unix_nano") or _nanos(
                    rec, "observedTimeUnixNano", "observed_time_unix_nano")
                yield LogItem(str(name or ""), attrs, resource, ts)


_CUMULATIVE = (2, "AGGREGATION_TEMPORALITY_CUMULATIVE")


def _json_metric_points(doc: dict[str, Any]) -> Iterator[MetricPoint]:
    for rm in _list(doc, "resourceMetrics", "resource_metrics"):
        resource = _json_attrs(_list(rm.get("resource") or {}, "attributes", "attributes"))
        for sm in _list(rm, "scopeMetrics", "scope_metrics"):
            for m in _list(sm, "metrics", "metrics"):
                name, unit = str(m["name"]), str(m.get("unit") or "")
                kind: Literal["sum", "gauge", "histogram"]
                if (data := m.get("sum")) is not None:
                    kind = "sum"
                elif (data := m.get("gauge")) is not None:
                    kind = "gauge"
                elif (data := m.get("histogram")) is not None:
                    kind = "histogram"
                else:
                    yield MetricPoint(name, unit, "other", {}, resource, 0.0, 0.0, 0.0, False)
                    continue
                cum = _get(data, "aggregationTemporality", "aggregation_temporality") in _CUMULATIVE
                for p in _list(data, "dataPoints", "data_points"):
                    if kind == "histogram":
                        value = float(p.get("sum") or 0)
                    else:
                        d, i = _get(p, "asDouble", "as_double"), _get(p, "asInt", "as_int")
                        value = float(d) if d is not None else float(int(i or 0))
                    yield MetricPoint(name, unit, kind, _json_attrs(_list(p, "attributes", "attributes")),
                                      resource, value, _nanos(p, "startTimeUnixNano", "start_time_unix_nano"),
                                      _nanos(p, "timeUnixNano", "time_unix_nano"), kind != "gauge" and cum)


def success_body(signal: Signal, is_json: bool, rejected: int = 0, message: str = "") -> tuple[bytes, str]:
    """An ``Export*ServiceResponse`` in the request's encoding (a partial success when some records were refused)."""
    if is_json:
        import orjson

        doc: dict[str, Any] = {}
        if rejected or message:
            field = "rejectedLogRecords" if signal == "logs" else "rejectedDataPoints"
            doc["partialSuccess"] = {field: str(rejected), "errorMessage": message}
        return orjson.dumps(doc), JSON
    if signal == "logs":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

        resp: Any = ExportLogsServiceResponse()
        if rejected or message:
            resp.partial_success.rejected_log_records = rejected
            resp.partial_success.error_message = message
    else:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

        resp = ExportMetricsServiceResponse()
    return resp.SerializeToString(), PROTOBUF
