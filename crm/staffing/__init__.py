"""Staffing: how many agents each interval needs for a service-level target (Erlang C/A)."""
