"""Agent reports: `GET /api/reports/agents` (sessions, pauses, calls, talk, wrap-up, occupancy)."""
