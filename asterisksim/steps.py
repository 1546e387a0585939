"""The pieces scripted scenarios are made of: an AMI action at a scenario time."""

from __future__ import annotations

Step = tuple[float, dict[str, str]]


def originate(at_s: float, name: str, number: str, agi: bool = False, uin: bool = False) -> Step:
    """A caller rings the hotline (the transcripts' `Originate` of `Local/100@hotline-in`)."""
    return (
        at_s,
        {
            "Action": "Originate",
            "Channel": "Local/100@hotline-in",
            "Context": "callers",
            "Exten": "wait",
            "Priority": "1",
            "CallerID": f'"{name}" <{number}>',
            "Timeout": "30000",
            "Async": "true",
            "Variable": f"USE_AGI={'yes' if agi else 'no'}" + (",USE_UIN=yes" if uin else ""),
        },
    )
