"""Errors a user can cause, and the exit codes the command line gives them."""

from __future__ import annotations

# Exit codes follow BSD's sysexits.h, so scripts can tell the causes apart.
EXIT_USAGE = 2  # bad command line (argparse's own code)
EXIT_DATAERR = 65  # the data cannot serve: unknown column, one-class target, wrong content
EXIT_NOINPUT = 66  # an input file is missing or unreadable
EXIT_UNAVAILABLE = 69  # a service (the study storage) cannot be reached
EXIT_CANTCREAT = 73  # an output cannot be written
EXIT_INTERRUPTED = 130  # Ctrl-C


class CLIError(Exception):
    """A failure the user can fix: printed as one line, then the command exits with ``exit_code``.

    Parameters
    ----------
    message : str
        One sentence saying what was wrong and, when knowable, how to fix it.
    exit_code : int, default=65
        The process exit status (see the ``EXIT_*`` constants).

    Examples
    --------
    >>> from skkeras.cli import CLIError
    >>> error = CLIError("no such file: data.csv", exit_code=66)
    >>> (str(error), error.exit_code)
    ('no such file: data.csv', 66)
    """

    def __init__(self, message: str, exit_code: int = EXIT_DATAERR):
        super().__init__(message)
        self.exit_code = exit_code
