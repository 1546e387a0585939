"""Domain errors of the agent's queue membership; `crm.agents.api` maps them to statuses."""

from __future__ import annotations


class AgentQueueError(Exception):
    """Base of the queue-membership errors."""


class NoSuchQueue(AgentQueueError):
    def __init__(self, queue: str) -> None:
        super().__init__(f"Asterisk has no queue {queue!r}")
        self.queue = queue


class AlreadyInQueue(AgentQueueError):
    def __init__(self, agent: str, queue: str) -> None:
        super().__init__(f"{agent} is already logged in to queue {queue}")


class NotInQueue(AgentQueueError):
    def __init__(self, agent: str, queue: str = "") -> None:
        where = f"queue {queue}" if queue else "any queue"
        super().__init__(f"{agent} is not logged in to {where}: log in first")


class StaticMember(AgentQueueError):
    def __init__(self, agent: str, queue: str) -> None:
        super().__init__(
            f"{agent} is a static member of {queue} (queues.conf): it cannot log out from here"
        )


class AsteriskFailed(AgentQueueError):
    """Asterisk did not answer, refused for a reason we do not know, or no AMI client."""
