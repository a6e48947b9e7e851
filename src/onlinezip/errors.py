"""The one exception type users of onlinezip need to catch."""


class OnlinezipError(Exception):
    """A problem with the input, the config or the environment, worded for the user.

    The CLI prints it as a single line, ``onlinezip: error: <message>``, and exits 1.
    """
