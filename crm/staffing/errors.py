"""The staffing planner's one domain error."""


class StaffingError(ValueError):
    """The question has no answer as asked (a 100 % target, a load beyond any staffing,
    a bad number); the message says which."""
