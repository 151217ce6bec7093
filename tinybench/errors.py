"""The one exception type that reaches the user as a one-line message instead of a traceback."""


class UserError(Exception):
    """Something the user can fix: a bad file, a missing dataset, an unknown name. The message says
    what was wrong and, where it helps, what to do."""
