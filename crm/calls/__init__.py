"""The call log: every recorded call with its waits, agents, transfers and survey answers."""
