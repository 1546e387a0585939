"""Benchmark: AMI events/s the simulator delivers to a reading client (accelerated, generated day).

The reading client is a separate process (as the tracker would be), so on a 2-core machine
the simulator and its reader each get a core. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from asterisksim import SimConfig, SimulatedAsterisk
from asterisksim.traffic import TrafficGenerator, TrafficProfile

READER = r"""
import json, socket, sys, time
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
sock.sendall(b"Action: Login\r\nUsername: hotline\r\nSecret: hotline\r\n\r\n")
buf = b""
while b"Fully Booted\r\n\r\n" not in buf:
    buf += sock.recv(65536)
print("ready", flush=True)
frames = received = 0
tail = b""
while True:
    chunk = sock.recv(1 << 20)
    if not chunk:
        break
    received += len(chunk)
    data = tail + chunk
    frames += data.count(b"\r\n\r\n")
    tail = data[-3:]
print(json.dumps({"frames": frames, "bytes": received, "eof_at": time.time()}), flush=True)
"""


async def main(hours: int = 6) -> dict[str, float]:
    config = SimConfig(timestampevents=True, channelvars=("UIN", "TICKET_ID"))
    async with SimulatedAsterisk(config) as sim:
        reader = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            READER,
            sim.host,
            str(sim.port),
            stdout=asyncio.subprocess.PIPE,
        )
        assert reader.stdout is not None
        await asyncio.wait_for(reader.stdout.readline(), 10)
        profile = TrafficProfile(seed=7, rate_per_hour=[400] * 24, agents=30, shift_hours=(0, 24))
        end_s = TrafficGenerator(sim, profile).schedule_day(hours=hours)
        before = sim.pbx.events_emitted
        started_at, cpu_started_s = time.time(), time.process_time()
        await sim.run_until(end_s)
        generated_s = time.time() - started_at
        cpu_s = time.process_time() - cpu_started_s
        events = sim.pbx.events_emitted - before
        calls = len(sim.ground_truth)
    result = json.loads(await asyncio.wait_for(reader.stdout.readline(), 60))
    await reader.wait()
    delivered_s = result["eof_at"] - started_at
    return {
        "events_per_s": round(result["frames"] / delivered_s),
        "events": events,
        "frames_read": result["frames"],
        "bytes_per_s": round(result["bytes"] / delivered_s),
        "calls": calls,
        "calls_per_s": round(calls / delivered_s),
        "events_per_call": round(events / calls, 1),
        # The machine is shared: events per CPU-second of the simulator is the steadier figure.
        "events_per_cpu_s": round(events / cpu_s),
        "generate_s": round(generated_s, 3),
        "deliver_s": round(delivered_s, 3),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
