"""The one exception the pytest side shares with the apis: its own module, so that catching it does not
import every api (and numpy) into pytest's processes."""


class NotApplicable(Exception):
    """This api cannot exercise this device in this runtime: the case is skipped with the reason."""
