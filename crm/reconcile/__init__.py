"""Reconciliation of Hotline's record with Asterisk's own (`queue_log`)."""
