"""The shared core: what two or more components use, and nothing that wires them.

`settings` (one pydantic-settings object), `facts` (the call-fact vocabulary), `bus` (the
fact stream and its outbox), `ami` (the AMI client and named actions), `context` (the call
context: model, Redis store, notifier), `calendar` (the business calendar),
`service_level` (the maths over queue-entry outcomes), `keys` (every Redis name), `aio`.
`core` imports nothing of ours.
"""
