"""Menus and prompts: prompt texts per language, rendering, business hours, UIN readout."""
