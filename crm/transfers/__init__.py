"""Transfers: the call context in Redis, the transfer API, records and screen pops."""
