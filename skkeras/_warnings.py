"""Warnings that point at the user's code, however deep inside skkeras they are raised."""

from __future__ import annotations

import os
import sys
import warnings

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_at_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` with the stack level of the first frame outside skkeras: the line of
    the user's code (or of the library) that called into skkeras, whichever path of skkeras's
    own functions and lambdas led to the warning."""
    frame = sys._getframe(1)
    stacklevel = 2  # 1 would be this function's line, 2 its caller's
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        stacklevel += 1
    warnings.warn(message, category, stacklevel=stacklevel)
