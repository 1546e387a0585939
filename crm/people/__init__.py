"""People: who logs in to the pages (agents and supervisors), their passwords and sessions.

`PeopleService.add_person` is the one way to create a person (the CLI, the demo and the
tests call it)."""
