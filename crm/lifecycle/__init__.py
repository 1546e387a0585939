"""The ticket lifecycle of the regulation: suspensions, resolution, refusals, SLA, the worker.

Slice layout: `service.py` (what agents do: suspend, resolve, refuse, ask for information),
`api.py` (routes), `calendar.py` (the business calendar with overrides from the database),
`tokens.py` (signed confirmation links), `mail.py` (e-mail texts and the SMTP sender),
`audit.py` (reading a ticket's audit log), `worker.py` and `jobs.py` (`hotline worker`),
`errors.py`. SLA state is never stored: it is replayed from the audit log (`crm.sla`).
"""
