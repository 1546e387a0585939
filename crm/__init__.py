"""The CRM: tickets with UINs, calls, the audit log, and the HTTP API over them."""
