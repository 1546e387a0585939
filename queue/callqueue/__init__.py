"""The call tracker: AMI events to call facts, live queue state, service-level maths.

It lives in `queue/callqueue/` so that `queue/` never shadows the standard library.

The part with no I/O: bytes from the AMI socket go into `core.ami.parser.AmiParser.feed`;
each `AmiMessage` it returns goes to `tracker.CallTracker.handle`, which returns the call
facts (`core.facts`) it establishes and keeps agent state on an `agents.AgentBoard`
(plug a Redis writer in as an `agents.AgentStateSink`). The tracker's collaborators:
`call_book` (the calls), `channel_events` and `queue_events` (the `on_ami_*` handlers),
`transfers` and `redirects`, `resync`. `core.service_level.service_level` turns queue
entries into figures; `replay` drives all of it from recorded transcripts.

    parser = AmiParser(wanted=tracker.wanted_events)  # one per AMI connection
    for message in parser.feed(data):                  # in the protocol's data_received
        for fact in tracker.handle(message):           # one tracker for the process
            ...                                        # publish onto the fact stream
"""
