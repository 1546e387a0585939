"""The normaliser: AMI events in, call facts (keyed by Linkedid) out, plus agent state.

>>> from core.ami.parser import AmiParser
>>> tracker = CallTracker()
>>> parser = AmiParser(wanted=tracker.wanted_events)
>>> [f.kind for m in parser.feed(b"Event: Newchannel\\nChannel: PJSIP/t-1\\n"
...  b"Linkedid: 1.1\\nUniqueid: 1.1\\nTimestamp: 1795311765.4\\n\\n") for f in tracker.handle(m)]
['started']
"""

from __future__ import annotations

from callqueue.channel_events import ChannelEvents
from callqueue.core import checked_wait
from callqueue.queue_events import QueueEvents
from callqueue.resync import ResyncEvents
from core.ami.parser import AmiMessage
from core.facts import CallFact

__all__ = ["CallTracker", "checked_wait"]


class CallTracker(ChannelEvents, QueueEvents, ResyncEvents):
    """Keeps open calls and turns each event into zero or more call facts."""

    def handle(self, message: AmiMessage) -> list[CallFact]:
        if self._touched is not None and message.is_event:
            self.note_event(message)  # only between a login and its resync
        return super().handle(message)
