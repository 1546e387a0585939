"""The real-Asterisk tier: the project's components against a real Asterisk 22 instance."""
