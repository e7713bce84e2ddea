"""Live calls: streaming segmentation, transcription of finished utterances and early rule alerts.

Public API::

    transcriber = LiveTranscriber(lambda: pipeline.recognizer)   # one per process
    call = LiveCall("conv-1", ["customer", "agent"], "zh", pack, transcriber, on_event=print)
    call.add_audio(pcm16_8k_stereo)      # (channels, n) int16, as frames arrive
    call.finish(); call.wait_idle()
"""

from .alerts import LiveAlert, LiveRules
from .call import LiveCall, LiveOptions
from .codec import deinterleave, ulaw_decode, ulaw_encode
from .segmenter import Segment, StreamingVad
from .transcriber import LiveTranscriber, UtteranceJob

__all__ = ["LiveAlert", "LiveCall", "LiveOptions", "LiveRules", "LiveTranscriber", "Segment", "StreamingVad",
           "UtteranceJob", "deinterleave", "ulaw_decode", "ulaw_encode"]
