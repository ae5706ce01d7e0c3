"""The argument parser and the dispatch of ``skkeras`` sub-commands.

Only the standard library is imported here; each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ._errors import EXIT_INTERRUPTED, EXIT_UNAVAILABLE, CLIError

DATASETS = ("breast_cancer", "digits", "diabetes", "wine")

_DESCRIPTION = """\
Keras 3 networks as scikit-learn estimators, from the command line.

  skkeras demo --quick                      the whole toolkit on a shipped dataset, in a minute
  skkeras tune data.csv --target label      tune a network on your own table, save it, report
  skkeras predict model.skkeras new.csv     predictions (and probabilities) as CSV
"""

_DEMO_HELP = """\
Run the toolkit end to end on a dataset shipped with scikit-learn: tune a Keras MLP with
Optuna and per-epoch pruning (the study lives in DIR/study.db, so a rerun resumes it),
benchmark the best configuration by bootstrap, build a k-fold ensemble, stack the network
with a random forest, compare them all by cross-validation, save the best model and write
an HTML report (DIR/index.html) with the numbers behind it (DIR/results.json).
"""

_TUNE_HELP = """\
Tune a Keras MLP on a CSV or Parquet table. Numeric columns are imputed (median) and
scaled; categorical ones one-hot encoded, a missing value being a category of its own; all
in one scikit-learn Pipeline that is tuned, refit on all rows, saved (DIR/model.skkeras) and
reported (DIR/index.html, DIR/results.json). Point several machines at one --storage
URL (PostgreSQL) with the same --study name and they work on one study together.
"""

_PREDICT_HELP = """\
Load a model saved by skkeras (no pickle is ever loaded) and write its predictions for
the rows of DATA as CSV: a 'prediction' column, plus one 'proba_<class>' column per
class for classifiers.
"""


def _bounded_int(low: int, high: int | None, expected: str):
    """An argparse type: an integer from ``low`` to ``high`` (no upper bound if None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


#: Seeds NumPy's legacy RandomState (and so scikit-learn) accepts: 0 to 2**32 - 1.
_MAX_SEED = 2**32 - 1

_positive_int = _bounded_int(1, None, "a positive integer")
_folds = _bounded_int(2, None, "at least 2 cross-validation folds")
_seed = _bounded_int(0, _MAX_SEED, f"an integer from 0 to {_MAX_SEED}")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q", "--quiet", action="store_true",
        help="print nothing but errors (progress is also off when output is not a terminal)",
    )
    return common


def _add_demo(commands, common) -> None:
    demo = commands.add_parser(
        "demo", parents=[common], help="the whole toolkit on a shipped dataset, with a report",
        description=_DEMO_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--dataset", choices=DATASETS, default="breast_cancer",
        help="scikit-learn dataset to use (default: %(default)s)",
    )
    demo.add_argument(
        "--quick", action="store_true",
        help="a smaller run: about a minute on 2 CPU cores",
    )
    demo.add_argument(
        "--output", metavar="DIR", default="skkeras-demo",
        help="folder for the study, the model and the report (default: %(default)s)",
    )
    demo.add_argument(
        "--trials", metavar="N", type=_positive_int, default=None,
        help="tuning trials to run now (default: 6 with --quick, 25 otherwise)",
    )
    demo.add_argument(
        "--seed", type=_seed, default=0,
        help=f"random seed of the whole run, 0 to {_MAX_SEED} (default: 0)",
    )


def _add_tune(commands, common) -> None:
    tune = commands.add_parser(
        "tune", parents=[common], help="tune, save and report a network on your own table",
        description=_TUNE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tune.add_argument("data", metavar="DATA", help="a .csv, .tsv or .parquet file")
    tune.add_argument("--target", metavar="COLUMN", required=True, help="the column to predict")
    tune.add_argument(
        "--task", choices=("auto", "classification", "regression"), default="auto",
        help="auto: classification for text, boolean or few-valued integer targets "
        "(default: %(default)s)",
    )
    tune.add_argument(
        "--trials", metavar="N", type=_positive_int, default=20,
        help="trials to run now, added to those already in the study (default: %(default)s)",
    )
    tune.add_argument(
        "--timeout", metavar="S", type=_positive_float, default=None,
        help="stop starting new trials after S seconds",
    )
    tune.add_argument(
        "--cv", metavar="K", type=_folds, default=5,
        help="cross-validation folds per trial (default: %(default)s)",
    )
    tune.add_argument(
        "--scoring", metavar="NAME", default=None,
        help="a scikit-learn scorer name (default: accuracy or r2)",
    )
    tune.add_argument(
        "--storage", metavar="URL", default=None,
        help="Optuna storage URL, e.g. postgresql+psycopg2://user:pw@host/db "
        "(default: sqlite:///DIR/study.db)",
    )
    tune.add_argument(
        "--study", metavar="NAME", default=None,
        help="study name; reuse it to resume or to add workers (default: from DATA and COLUMN)",
    )
    tune.add_argument(
        "--output", metavar="DIR", default="skkeras-tune",
        help="folder for the model and the report (default: %(default)s)",
    )
    tune.add_argument(
        "--epochs", metavar="N", type=_positive_int, default=200,
        help="most epochs per fit; early stopping usually ends sooner (default: %(default)s)",
    )
    tune.add_argument(
        "--seed", type=_seed, default=0,
        help=f"random seed of the search and the networks, 0 to {_MAX_SEED} "
        "(default: %(default)s)",
    )


def _add_predict(commands, common) -> None:
    predict = commands.add_parser(
        "predict", parents=[common], help="predictions of a saved model, as CSV",
        description=_PREDICT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument("model", metavar="MODEL", help="a file written by skkeras.save")
    predict.add_argument("data", metavar="DATA", help="a .csv, .tsv or .parquet file")
    predict.add_argument(
        "--output", metavar="FILE", default=None,
        help="CSV file to write (default: standard output)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``skkeras`` argument parser.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser with the ``demo``, ``tune`` and ``predict`` sub-commands.

    Examples
    --------
    >>> from skkeras.cli import build_parser
    >>> args = build_parser().parse_args(["demo", "--quick"])
    >>> (args.command, args.quick, args.dataset)
    ('demo', True, 'breast_cancer')
    """
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="skkeras", description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'skkeras COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"skkeras {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common_options()
    _add_demo(commands, common)
    _add_tune(commands, common)
    _add_predict(commands, common)
    return parser


def _run(args: argparse.Namespace) -> int:
    try:
        import matplotlib  # noqa: F401
        import pandas  # noqa: F401
    except ModuleNotFoundError as error:
        raise CLIError(
            f"the skkeras command line needs {error.name}: pip install 'skkeras[cli]'",
            EXIT_UNAVAILABLE,
        ) from error
    if args.command == "demo":
        from ._demo import run_demo

        return run_demo(args)
    if args.command == "tune":
        from ._tune import run_tune

        return run_tune(args)
    from ._predict import run_predict

    return run_predict(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``skkeras`` command line.

    Parameters
    ----------
    argv : sequence of str, default=None
        The arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    exit_code : int
        0 on success; the code of a :class:`CLIError` after printing its one-line message.

    Examples
    --------
    >>> from skkeras.cli import main
    >>> main(["predict", "missing.skkeras", "missing.csv"])  # doctest: +SKIP
    skkeras predict: error: model file not found: missing.skkeras
    66
    """
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except CLIError as error:
        print(f"skkeras {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"skkeras {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (``skkeras predict ... | head``): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
