"""Tracing under load: a sampled share of traces, decided once where the trace starts (issue 14, item 4)."""

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from services.runtime.telemetry import setup_tracing


def test_an_unsampled_call_keeps_its_trace_id_without_recording_spans() -> None:
    provider = setup_tracing("sampling-test", None, sample_ratio=0.0)
    with provider.get_tracer("t").start_as_current_span("POST /v1/requests") as span:
        context = span.get_span_context()
        assert not span.is_recording()
        assert context.is_valid and context.trace_id != 0  # still written in the logs and propagated
        assert not context.trace_flags.sampled


def test_every_trace_is_recorded_at_the_default_ratio() -> None:
    provider = setup_tracing("sampling-test", None)
    with provider.get_tracer("t").start_as_current_span("POST /v1/requests") as span:
        assert span.is_recording()
        assert span.get_span_context().trace_flags.sampled


def _parent(sampled: bool) -> Context:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    parent = SpanContext(trace_id=0x1234, span_id=0x99, is_remote=True, trace_flags=flags)
    return trace.set_span_in_context(NonRecordingSpan(parent))


def test_a_hop_follows_the_decision_made_where_the_trace_started() -> None:
    """A consumer at ratio 1 does not record a trace the gateway did not sample, and one at ratio 0
    records one it did: a trace is whole or absent, never a few hops of it."""
    recording_all = setup_tracing("sampling-test", None, sample_ratio=1.0).get_tracer("t")
    recording_none = setup_tracing("sampling-test", None, sample_ratio=0.0).get_tracer("t")
    with recording_all.start_as_current_span("handle", context=_parent(sampled=False)) as span:
        assert not span.is_recording()
        assert span.get_span_context().trace_id == 0x1234
    with recording_none.start_as_current_span("handle", context=_parent(sampled=True)) as span:
        assert span.is_recording()
        assert span.get_span_context().trace_id == 0x1234
