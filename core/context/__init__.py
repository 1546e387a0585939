"""The call context of one caller's call (Linkedid): its model, Redis store and notifier."""
