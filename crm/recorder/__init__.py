"""The recorder: a consumer group on the fact stream that writes every call onto its ticket.

Where to look:

- `consumer.py`: `Recorder`, reading the stream as one consumer of a group, one transaction
  per read, the XACK after the commit, one fact per transaction after an `IntegrityError`,
  dead letters;
- `facts.py`: what each kind of fact writes in SQL (`on_<kind>`);
- `prefetch.py`: one read's queue entries, tickets and call-context copies loaded up front,
  and the lookups that use them;
- `calls.py`: a call's row, locked or created, and linked to its ticket;
- `orphans.py`: calls that never got a ticket (linked late, or given one of their own after
  `orphan_after_s`), so every call ends on a ticket;
- `stats.py`, `chunks.py`: the recorder's counters; long `IN (...)` lists in chunks.
"""

from crm.recorder.consumer import READ_COUNT, Recorder, fact_key
from crm.recorder.stats import RecorderStats

__all__ = ["READ_COUNT", "Recorder", "RecorderStats", "fact_key"]
