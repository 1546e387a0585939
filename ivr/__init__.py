"""The IVR: prompts per language, their rendering, the menus and dialogue, the UIN readout."""
