"""The ticket service's parts: registration, UINs, reads, changes and their audit rows."""
