"""Assert on your own traces: capture spans in memory, with the whole pipeline running.

With pytest (the plugin is registered when honeyhive-core is installed)::

    def test_answer_records_the_model_call(honeyhive_capture):
        answer("What is our refund policy?")
        model = honeyhive_capture.find("chat_completion")
        assert model.event_type == "model"
        assert model.inputs["messages"][-1]["content"] == "What is our refund policy?"

Without pytest::

    with honeyhive.testing.capture(deterministic=True) as captured:
        ...
    print(captured.tree())
"""

from honeyhive.testing._capture import SpanCapture, capture
from honeyhive.testing._ids import SequentialIdGenerator
from honeyhive.testing._model import CapturedCall, CapturedEvent, CapturedSpan, unflatten

__all__ = [
    "CapturedCall",
    "CapturedEvent",
    "CapturedSpan",
    "SequentialIdGenerator",
    "SpanCapture",
    "capture",
    "unflatten",
]
