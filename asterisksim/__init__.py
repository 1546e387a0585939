"""A simulated Asterisk 22: AMI server, PBX model (app_queue, transfers), FastAGI client.

Not a replay of canned text: a small model whose AMI output follows the real transcripts in
`tests/fixtures/asterisk/` (header names and order, CRLF framing, HoldTime/ServicelevelPerf maths),
checked by `tests/sim/`.

Example::

    from asterisksim import SimConfig, SimulatedAsterisk

    config = SimConfig(timestampevents=True, channelvars=("UIN", "TICKET_ID"))
    async with SimulatedAsterisk(config) as pbx:      # accelerated clock by default
        # any AMI client may connect to pbx.host, pbx.port (user/secret: hotline/hotline)
        pbx.add_agent("agent1", "hotline", answer_delay_s=2, talk_s=30)
        call = pbx.place_call("79000000001", "Alice", patience_s=60)
        await pbx.run_for(120)                         # returns at once: simulated time
        truth = pbx.ground_truth[0]                    # CallTruth: outcome, wait_s, agent...
        assert truth.outcome == "answered" and truth.wait_s == 2.0

`SimulatedAsterisk(config, accelerated=False)` runs on wall-clock time instead (for the demo);
`SimConfig(agi_url="agi://127.0.0.1:4573/hotline")` makes every call run that FastAGI script
before `Queue()`. Agents, transfers and pauses can also be driven over AMI exactly as in the
transcripts (`QueueAdd`, `DBPut agentdelay/agenttalk`, `BlindTransfer`, `Atxfer`, `Redirect`).

Modules:
- `sim`: the `SimulatedAsterisk` facade; `config`: `SimConfig`, `QueueConfig`, `AgentProfile`.
- `server` (sessions, fan-out), `frames` (wire format), `actions`, `status` (list replies).
- `pbx` (calls, dialplan, hang-ups), `queueing` (app_queue), `queues` (counters), `transfers`,
  `channels`, `noise` (events nobody reads), `agi` (FastAGI client), `clock`.
- `site` (`site_config(...)`: the model of a site's rendered queues.conf, dialplan and
  sound lengths; `dialplan` reads the pre-bridge Gosub), `core_sounds.json` (the lengths of
  Asterisk's own recorded digits).
- `scenarios` (`run_scenario(name)`, the named scripted runs; `production` is 08's timeline),
  `traffic` (seeded generated days), `truth` (ground truth records), `transcript` (read
  `.txt` transcripts into frames), `cli` (`hotline sim scenario NAME --record FILE`).
"""

from asterisksim.clock import RealClock, VirtualClock
from asterisksim.config import AgentProfile, SimConfig
from asterisksim.queues import QueueConfig
from asterisksim.sim import SimulatedAsterisk
from asterisksim.truth import CallTruth

__all__ = [
    "AgentProfile",
    "CallTruth",
    "QueueConfig",
    "RealClock",
    "SimConfig",
    "SimulatedAsterisk",
    "VirtualClock",
]
