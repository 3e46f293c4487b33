"""Errors that reach the user as a one-line message (the CLI exits with code 2)."""


class NeuralPaintError(Exception):
    """A problem with the user's input: a bad file, a bad option, an impossible size.

    The command line prints ``error: <message>`` and exits with status 2; library users catch it.
    """
