"""The ``skkeras`` command line, driven as a user would: in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "skkeras", *args], capture_output=True, text=True, cwd=cwd,
        env=env, timeout=timeout, check=False,
    )


def one_line_error(result, code: int, *fragments: str) -> str:
    """The result failed with ``code`` and exactly one stderr line holding every fragment."""
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """A small classification table with a categorical column and missing values."""
    rng = np.random.default_rng(0)
    n = 120
    colour = rng.choice(["red", "green", "blue"], size=n)
    size = rng.normal(size=n)
    weight = rng.normal(size=n)
    label = np.where(size + (colour == "red") * 1.5 > 0.4, "yes", "no")
    frame = pd.DataFrame({"size": size, "colour": colour, "weight": weight, "label": label})
    frame.loc[rng.choice(n, 10, replace=False), "size"] = np.nan
    frame.loc[rng.choice(n, 10, replace=False), "colour"] = np.nan
    path = tmp_path_factory.mktemp("data") / "table.csv"
    frame.to_csv(path, index=False)
    return path


def test_help_lists_commands_without_importing_keras():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("demo", "tune", "predict"):
        assert command in result.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; from skkeras.cli import main\n"
         "try:\n    main(['tune', '--help'])\nexcept SystemExit:\n    pass\n"
         "print(sorted(m for m in ('keras', 'tensorflow', 'optuna', 'matplotlib') "
         "if m in sys.modules))"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
    )
    assert probe.stdout.strip().splitlines()[-1] == "[]"


def test_version_and_usage_error():
    assert run_cli("--version").stdout.startswith("skkeras ")
    result = run_cli("tune", "data.csv")  # --target missing
    assert result.returncode == 2
    assert "--target" in result.stderr


def test_missing_data_file(tmp_path):
    result = run_cli("tune", str(tmp_path / "nope.csv"), "--target", "y")
    one_line_error(result, 66, "skkeras tune: error:", "data file not found", "nope.csv")


def test_unreadable_file_type(tmp_path):
    path = tmp_path / "table.xlsx"
    path.write_text("not a table")
    one_line_error(run_cli("tune", str(path), "--target", "y"), 65, "unsupported file type")


def test_unknown_column(table, tmp_path):
    result = run_cli("tune", str(table), "--target", "price", "--output", str(tmp_path))
    one_line_error(result, 65, "unknown column 'price'", "size, colour, weight, label")


def test_one_class_target(tmp_path):
    path = tmp_path / "one.csv"
    pd.DataFrame({"x": range(20), "y": ["a"] * 20}).to_csv(path, index=False)
    result = run_cli("tune", str(path), "--target", "y", "--output", str(tmp_path / "out"))
    one_line_error(result, 65, "single class ('a')")


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ([0] * 2 + [1] * 18, "class 0 of target column 't' has 2 row(s) but --cv 3"),
        ([True] * 2 + [False] * 18, "class True of target column 't' has 2 row(s)"),
        (["b"] * 2 + ["a"] * 18, "class 'b' of target column 't' has 2 row(s)"),
        ([7] * 20, "target column 't' has a single class (7)"),
    ],
    ids=["int", "bool", "str", "single-int"],
)
def test_target_classes_are_shown_as_plain_values(tmp_path, target, fragment):
    """Not NumPy 2's reprs (np.int64(0), np.True_)."""
    path = tmp_path / "classes.csv"
    pd.DataFrame({"x": range(20), "t": target}).to_csv(path, index=False)
    result = run_cli("tune", str(path), "--target", "t", "--task", "classification", "--cv", "3",
                     "--output", str(tmp_path / "out"))
    line = one_line_error(result, 65, fragment)
    assert "np." not in line


def test_unreachable_storage(table, tmp_path):
    url = "postgresql+psycopg2://someone:secret@127.0.0.1:9/nodb"
    result = run_cli("tune", str(table), "--target", "label", "--storage", url,
                     "--output", str(tmp_path))
    line = one_line_error(result, 69, "cannot reach the study storage", "127.0.0.1:9")
    assert "secret" not in line


def _only_psycopg2(monkeypatch):
    """As if psycopg (3), SQLAlchemy 2.1's default PostgreSQL driver, were not installed."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "psycopg" else real(name, *a, **k))


def test_plain_postgresql_url_without_its_driver_says_to_name_psycopg2(monkeypatch):
    pytest.importorskip("psycopg2")
    from sqlalchemy.engine import make_url

    from skkeras.cli._errors import CLIError
    from skkeras.cli._storage import check_storage

    if make_url("postgresql://h/db").get_dialect().driver != "psycopg":
        pytest.skip("this SQLAlchemy's default PostgreSQL driver is psycopg2")
    _only_psycopg2(monkeypatch)
    expected = (r"--storage: .*postgresql://someone:\*\*\*@127.0.0.1:9/nodb uses SQLAlchemy's "
                r"default PostgreSQL driver, psycopg.*postgresql\+psycopg2://someone:\*\*\*@")
    with pytest.raises(CLIError, match=expected) as info:
        check_storage("postgresql://someone:secret@127.0.0.1:9/nodb")
    assert info.value.exit_code == 2
    assert "secret" not in str(info.value)


def test_unknown_scoring(table, tmp_path):
    result = run_cli("tune", str(table), "--target", "label", "--scoring", "acuracy",
                     "--output", str(tmp_path))
    one_line_error(result, 2, "unknown --scoring 'acuracy'")


def usage_error(result, *fragments: str) -> str:
    """The result is an argparse usage error (exit 2) whose last line holds every fragment."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last
    return last


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("tune", "{table}", "--target", "label", "--cv", "1"),
         ("argument --cv", "expected at least 2 cross-validation folds, got '1'")),
        (("tune", "{table}", "--target", "label", "--seed", "-1"),
         ("argument --seed", "expected an integer from 0 to 4294967295, got '-1'")),
        (("demo", "--quick", "--trials", "1", "--seed", "99999999999"),
         ("argument --seed", "got '99999999999'")),
    ],
)
def test_bad_cv_and_seed_are_usage_errors(table, tmp_path, args, fragments):
    output = tmp_path / "out"
    args = [arg.format(table=table) for arg in args]
    usage_error(run_cli(*args, "--output", str(output)), *fragments)
    assert not output.exists()


@pytest.mark.parametrize(
    ("data", "target", "scoring", "fragment"),
    [
        ("table", "label", "r2", "'r2' is a regression metric but the target is a "
                                 "classification target"),
        ("numbers", "y", "accuracy", "'accuracy' is a classification (or clustering) metric "
                                     "but the target is a regression target"),
    ],
)
def test_scorer_of_the_other_task_is_refused(table, tmp_path, data, target, scoring, fragment):
    if data == "numbers":
        table = tmp_path / "numbers.csv"
        pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40.0) ** 0.5}).to_csv(table)
    output = tmp_path / "out"
    result = run_cli("tune", str(table), "--target", target, "--scoring", scoring,
                     "--output", str(output))
    one_line_error(result, 2, fragment)
    assert not output.exists()


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory) -> Path:
    """A small table whose target has three text classes."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=60)
    label = np.array(["low", "mid", "high"])[np.digitize(x, [-0.4, 0.4])]
    path = tmp_path_factory.mktemp("data") / "three.csv"
    pd.DataFrame({"x": x, "z": rng.normal(size=60), "label": label}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("scoring", "allowed"),
    [
        ("roc_auc", "roc_auc_ovo, roc_auc_ovo_weighted, roc_auc_ovr, roc_auc_ovr_weighted"),
        ("f1", "f1_macro, f1_micro, f1_weighted"),
        ("precision", "precision_macro, precision_micro, precision_weighted"),
        ("recall", "recall_macro, recall_micro, recall_weighted"),
        ("jaccard", "jaccard_macro, jaccard_micro, jaccard_weighted"),
        ("positive_likelihood_ratio", "accuracy, balanced_accuracy, f1_macro, roc_auc_ovr"),
    ],
)
def test_binary_only_scorer_on_a_multiclass_target_is_refused_before_training(
    three_classes, tmp_path, scoring, allowed
):
    output, study = tmp_path / "out", tmp_path / "study.db"
    result = run_cli("tune", str(three_classes), "--target", "label", "--scoring", scoring,
                     "--trials", "1", "--cv", "2", "--epochs", "1", "--output", str(output),
                     "--storage", f"sqlite:///{study}")
    one_line_error(result, 2, f"--scoring {scoring!r} scores binary targets only but target "
                              f"column 'label' has 3 classes; use a scorer such as {allowed}")
    assert not output.exists()
    assert not study.exists()


def test_scorer_that_cannot_score_the_labels_is_refused(table, tmp_path):
    # f1's positive label is 1, which the yes/no target lacks; scikit-learn says why
    output = tmp_path / "out"
    result = run_cli("tune", str(table), "--target", "label", "--scoring", "f1", "--trials",
                     "1", "--cv", "2", "--epochs", "1", "--output", str(output))
    one_line_error(result, 2, "--scoring 'f1' cannot score target column 'label' (2 classes): "
                              "pos_label=1 is not a valid label",
                   "use a scorer such as f1_macro, f1_micro, f1_weighted")
    assert not output.exists()


def test_scorers_of_any_number_of_classes_pass_the_check():
    from skkeras.cli._workflow import check_scoring

    three = pd.Series(["low", "mid", "high", "mid"])
    for scoring in ("roc_auc_ovr", "f1_macro", "average_precision", "neg_brier_score",
                    "neg_log_loss", "accuracy"):
        assert check_scoring(scoring, "classification", three, target="label") == scoring
    binary = pd.Series([0, 1, 1])
    for scoring in ("roc_auc", "f1", "precision", "positive_likelihood_ratio"):
        assert check_scoring(scoring, "classification", binary, target="label") == scoring


def test_unreachable_storage_leaves_no_output_folder(table, tmp_path):
    output = tmp_path / "out"
    result = run_cli("tune", str(table), "--target", "label", "--output", str(output),
                     "--storage", "postgresql+psycopg2://someone:secret@127.0.0.1:9/nodb")
    one_line_error(result, 69, "cannot reach the study storage")
    assert not output.exists()


def test_missing_model_file(table, tmp_path):
    result = run_cli("predict", str(tmp_path / "model.skkeras"), str(table))
    one_line_error(result, 66, "skkeras predict: error:", "model file not found")


def test_report_is_self_contained(tmp_path):
    from skkeras.cli import _plots
    from skkeras.cli._report import Section, write_report

    curves = {"loss": [1.0, 0.6, 0.5, 0.45], "val_loss": [1.1, 0.7, 0.65, 0.7]}
    sections = [
        Section("Learning curves", "text <b>", _plots.learning_curves(curves, 3), "lc.png"),
        Section("History", figure=_plots.optimization_history(
            [0.8, None, 0.9, None], ["COMPLETE", "PRUNED", "COMPLETE", "FAIL"]),
            figure_name="history.png"),
        Section("Importances", figure=_plots.param_importances({"lr": 0.7, "dropout": 0.3})),
        Section("Bootstrap", figure=_plots.bootstrap_convergence([0.9, 0.92, 0.91, 0.95])),
        Section("Comparison", figure=_plots.model_comparison(
            ["mlp", "forest"], [0.95, 0.93], [0.01, 0.02], [1.5, 0.2]),
            headers=("model", "score"), rows=[("mlp", 0.95), ("forest", 0.93)]),
    ]
    index = write_report(tmp_path / "r", "title", "sub", sections,
                         {"score": np.float32(0.5), "bad": float("nan"), "arr": np.arange(3)})
    page = index.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 5
    assert "http://" not in page and "https://" not in page
    assert "text &lt;b&gt;" in page  # escaped
    assert (tmp_path / "r" / "plots" / "lc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "r" / "plots").iterdir()) == ["history.png",
                                                                          "lc.png"]
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results == {"score": 0.5, "bad": None, "arr": [0, 1, 2]}


def test_running_stats_match_numpy():
    from skkeras.cli._plots import running_stats

    scores = np.array([0.9, 0.8, 0.95, 0.85])
    mean, std = running_stats(scores)
    np.testing.assert_allclose(mean, [scores[: i + 1].mean() for i in range(4)])
    np.testing.assert_allclose(std, [scores[: i + 1].std() for i in range(4)], atol=1e-12)


def test_task_detection_and_preprocessing():
    from skkeras.cli._data import (
        as_categorical_text,
        build_preprocessor,
        column_kinds,
        detect_task,
    )

    assert detect_task(pd.Series(["a", "b"])) == "classification"
    assert detect_task(pd.Series([0, 1, 2, 1])) == "classification"
    assert detect_task(pd.Series(np.linspace(0, 1, 50))) == "regression"
    assert detect_task(pd.Series(np.arange(100))) == "regression"
    assert detect_task(pd.Series([0, 1]), "regression") == "regression"
    frame = pd.DataFrame({"n": [1.0, np.nan, 3.0, 4.0], "c": ["x", None, "y", "x"],
                          "b": [True, np.nan, False, True]})
    numeric, categorical = column_kinds(frame)
    assert (numeric, categorical) == (["n"], ["c", "b"])
    X = as_categorical_text(frame, categorical)
    out = build_preprocessor(X).fit_transform(X)
    assert out.shape == (4, 1 + 3 + 3)  # n; c: x, y, (missing); b: True, False, (missing)
    assert not np.isnan(out).any()
    np.testing.assert_allclose(out[:, 0].mean(), 0.0, atol=1e-12)


@pytest.fixture(scope="module")
def tuned(table, tmp_path_factory):
    """``skkeras tune`` on the table (categorical column, missing values); its output folder."""
    output = tmp_path_factory.mktemp("tuned")
    result = run_cli("tune", str(table), "--target", "label", "--trials", "2", "--cv", "2",
                     "--epochs", "4", "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # progress is off when stderr is not a terminal
    assert "best accuracy:" in result.stdout
    return output


@pytest.mark.slow
def test_tune_csv_with_categorical_column_and_missing_values(tuned):
    results = json.loads((tuned / "results.json").read_text())
    assert results["task"] == "classification"
    assert results["n_rows"] == 120
    tuning = results["tuning"]
    assert tuning["n_trials_total"] == 2 and tuning["n_trials_before"] == 0
    assert tuning["n_complete"] + tuning["n_pruned"] + tuning["n_failed"] == 2
    # Two short trials need not learn much; the best score is the best finished trial's.
    finished = [trial["value"] for trial in tuning["trials"] if trial["state"] == "COMPLETE"]
    assert tuning["best_score"] == max(finished) and 0.0 <= tuning["best_score"] <= 1.0
    assert all(name.startswith("model__") for name in tuning["best_params"])
    curve = results["learning_curve"]
    assert 1 <= curve["best_epoch"] <= curve["n_iter"] == len(curve["val_loss"]) <= 4
    page = (tuned / "index.html").read_text(encoding="utf-8")
    assert "Learning curves" in page and "Optimization history" in page
    assert (tuned / "study.db").is_file() and (tuned / "model.skkeras").is_file()


@pytest.mark.slow
def test_predict_round_trips(tuned, table, tmp_path):
    output = tmp_path / "predictions.csv"
    result = run_cli("predict", str(tuned / "model.skkeras"), str(table), "--output",
                     str(output))
    assert result.returncode == 0, result.stderr
    predictions = pd.read_csv(output)
    assert list(predictions.columns) == ["prediction", "proba_no", "proba_yes"]
    assert len(predictions) == 120
    probabilities = predictions[["proba_no", "proba_yes"]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    expected = np.where(probabilities[:, 1] > probabilities[:, 0], "yes", "no")
    assert (predictions["prediction"].to_numpy() == expected).all()

    import skkeras
    from skkeras.cli._data import as_categorical_text

    model = skkeras.load(tuned / "model.skkeras")
    X = as_categorical_text(pd.read_csv(table).drop(columns="label"), ["colour"])
    np.testing.assert_allclose(model.predict_proba(X), probabilities, rtol=1e-5, atol=1e-6)

    to_stdout = run_cli("predict", str(tuned / "model.skkeras"), str(table))
    assert to_stdout.returncode == 0
    assert to_stdout.stdout.splitlines()[0] == "prediction,proba_no,proba_yes"
    assert len(to_stdout.stdout.splitlines()) == 121


@pytest.mark.slow
def test_predict_needs_the_training_columns(tuned, table, tmp_path):
    path = tmp_path / "no_colour.csv"
    pd.read_csv(table).drop(columns=["colour", "label"]).to_csv(path, index=False)
    result = run_cli("predict", str(tuned / "model.skkeras"), str(path))
    one_line_error(result, 65, "lacks column(s) the model was trained on: 'colour'")


def test_predict_refuses_a_file_that_is_not_a_model(table, tmp_path):
    path = tmp_path / "model.skkeras"
    path.write_bytes(b"not a zip archive")
    one_line_error(run_cli("predict", str(path), str(table)), 65, "cannot load model")


@pytest.mark.slow
def test_demo_quick_writes_report_model_results_and_resumes(tmp_path):
    output = tmp_path / "demo"
    first = run_cli("demo", "--quick", "--trials", "2", "--output", str(output))
    assert first.returncode == 0, first.stderr
    assert "stack: MLP + random forest" in first.stdout  # the terminal table
    results = json.loads((output / "results.json").read_text())
    assert results["tuning"]["n_trials_total"] == 2
    names = [row["model"] for row in results["comparison"]]
    assert names[0] == "MLP (tuned)" and "random forest" in names and len(names) == 4
    for row in results["comparison"]:
        assert len(row["scores"]) == results["config"]["cv"]
        assert row["mean_score"] == pytest.approx(np.mean(row["scores"]))
        assert row["mean_fit_time_s"] > 0
    assert len(results["bootstrap"]["scores"]) == results["bootstrap"]["n_splits"] >= 2
    assert results["learning_curve"]["best_epoch"] >= 1
    page = (output / "index.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 5
    for name in ("learning_curves", "optimization_history", "param_importances",
                 "bootstrap_convergence", "model_comparison"):
        assert (output / "plots" / f"{name}.png").is_file()
    saved = results["saved_model"]
    assert saved["path"] == str(output / "model.skkeras") and saved["model"] in names

    from sklearn.datasets import load_breast_cancer

    import skkeras

    model = skkeras.load(output / "model.skkeras")
    X = load_breast_cancer(as_frame=True).data
    assert set(model.predict(X.iloc[:20])) <= {"malignant", "benign"}

    again = run_cli("demo", "--quick", "--trials", "2", "--output", str(output), "--quiet")
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    tuning = json.loads((output / "results.json").read_text())["tuning"]
    assert (tuning["n_trials_before"], tuning["n_trials_total"]) == (2, 4)
    assert [trial["number"] for trial in tuning["trials"]] == [0, 1, 2, 3]


# ---------------------------------------------------------------------- interrupted writes


def _interrupted_after_writing(real):
    """``real(self, target, ...)`` that writes, then raises KeyboardInterrupt (Ctrl-C mid-write)."""

    def write(self, target, *args, **kwargs):
        real(self, target, *args, **kwargs)
        raise KeyboardInterrupt

    return write


def test_predict_interrupted_while_writing_keeps_the_previous_predictions(tmp_path,
                                                                         monkeypatch, capsys):
    """Ctrl-C while ``skkeras predict --output`` writes: the previous file is intact and no
    temporary file is left (the CSV is written atomically, as skkeras.save writes)."""
    import skkeras
    from skkeras.cli import main

    X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    y = np.where(np.arange(20) % 2, "yes", "no")
    model = skkeras.KerasMLPClassifier((3,), epochs=1, random_state=0).fit(X, y)
    skkeras.save(model, tmp_path / "model.skkeras")
    X.to_csv(tmp_path / "data.csv", index=False)
    output = tmp_path / "predictions.csv"
    output.write_text("previous predictions\n")
    args = ["predict", str(tmp_path / "model.skkeras"), str(tmp_path / "data.csv"), "--output",
            str(output), "--quiet"]
    monkeypatch.setattr(pd.DataFrame, "to_csv", _interrupted_after_writing(pd.DataFrame.to_csv))
    assert main(args) == 130
    assert "skkeras predict: interrupted" in capsys.readouterr().err
    assert output.read_text() == "previous predictions\n"
    assert sorted(os.listdir(tmp_path)) == ["data.csv", "model.skkeras", "predictions.csv"]
    monkeypatch.undo()
    assert main(args) == 0
    assert pd.read_csv(output).shape == (20, 3)


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(28, "No space left")],
                         ids=["interrupt", "disk-full"])
def test_report_file_write_failing_keeps_the_previous_file_and_no_temporary(tmp_path,
                                                                            monkeypatch, error):
    """Ctrl-C (or an error) just before the report's temporary file is renamed into place: the
    previous file is intact and the temporary file is removed."""
    from skkeras.cli._report import write_text

    path = tmp_path / "index.html"
    path.write_text("previous report")

    def replace(source, destination):
        raise error

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(type(error)):
        write_text(path, "new report")
    monkeypatch.undo()
    assert path.read_text() == "previous report"
    assert os.listdir(tmp_path) == ["index.html"]
