"""Saving and loading whole estimators without pickle, with atomic writes.

A saved estimator is one zip archive:

- ``skkeras.json``: the format name and version, the versions of the libraries that wrote it, and
  the estimator (class, parameters, fitted state) as described in ``_encoding``;
- ``models/<n>.keras``: each Keras model in Keras's native format;
- ``arrays/<n>.npy``: NumPy arrays (read back with ``allow_pickle=False``);
- ``skops/<n>.skops``: scikit-learn transformers, stored with skops.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ._encoding import Decoder, Encoder, dotted, public_path
from ._keras import import_keras
from ._warnings import warn_at_caller

FORMAT_NAME = "skkeras-estimator"
#: 2: estimators store their build record (``_built_with``, ``_compiled_by_builder``), which
#: version 1 readers would refuse. Version 1 files load (continued training then compares with
#: the parameters as loaded, see ``BaseKerasEstimator._check_continued_params``).
FORMAT_VERSION = 2
MANIFEST = "skkeras.json"


def save(estimator: Any, path: str | os.PathLike) -> Path:
    """Save an estimator to one file, without pickle.

    The file is a zip archive holding each Keras model in Keras's native ``.keras`` format and the
    estimator's class, parameters and fitted state (classes, feature names, target encoding,
    history...) as JSON and ``.npy`` arrays, plus the versions of skkeras, Keras and
    scikit-learn. The write is atomic: the data goes to a temporary file in the same folder,
    which is flushed to disk and then renamed over ``path``, so a crash or a full disk leaves any
    previous file intact. The new file keeps the permission bits of the file it replaces (a new
    file gets ``0o666 & ~umask``, as with ``open``). If ``path`` is a symbolic link, the file it
    points to is replaced (atomically, in that file's folder) and the link is kept.

    Parameters
    ----------
    estimator : estimator
        A skkeras estimator (fitted or not), a ``sklearn.pipeline.Pipeline`` of skkeras
        estimators and scikit-learn transformers, or a list or dict of these.
    path : str or path-like
        Destination file; ``.skkeras`` is the conventional suffix.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        If a parameter or fitted attribute cannot be stored safely (a lambda builder, a callback
        instance...); the message names it. Nothing is written then.
    ValueError
        If ``path`` is empty.
    IsADirectoryError, FileNotFoundError
        If ``path`` is a folder, or its folder does not exist; nothing is written then.
    OSError
        If writing fails (a full disk, in ``path``'s folder or in the temporary folder where
        networks are written first); a file already at ``path`` is left as it was.

    Notes
    -----
    Classes and functions given as parameters (for example the ``model`` builder of
    :class:`KerasClassifier`) are stored by import path only; see :func:`load` for when they
    are imported again.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import load_iris
    >>> import skkeras
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = skkeras.KerasMLPClassifier((8,), epochs=2, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "iris.skkeras")
    >>> _ = skkeras.save(clf, path)
    >>> (skkeras.load(path).predict(X) == clf.predict(X)).all()
    np.True_
    """
    path = destination_path(path, "save")
    _check_destination(Path(os.path.realpath(path)) if path.is_symlink() else path)
    with tempfile.TemporaryDirectory(prefix="skkeras-save-") as workdir:
        encoder = Encoder(workdir)
        root = encoder.encode(estimator, type(estimator).__name__)
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "versions": library_versions(),
            "estimator": root,
        }
        members = {MANIFEST: json.dumps(manifest, indent=1).encode(), **encoder.members}
    atomic_write(path, lambda file: _write_archive(file, members))
    return path


def load(
    path: str | os.PathLike,
    *,
    safe_mode: bool = True,
    trusted: Iterable[str | Callable] | None = None,
) -> Any:
    """Load an estimator written by :func:`save`, without unpickling anything.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`skkeras.save`.
    safe_mode : bool, default=True
        Passed to Keras's loader: a model whose layers hold Python code (a ``Lambda`` layer) is
        refused. Pass ``False`` only for files you trust.
    trusted : list of str or callables, default=None
        Classes and functions (``"mymodule.build_model"`` or the object itself) that may be
        imported to restore parameters, and extra types skops may create for scikit-learn
        steps. skkeras classes and Keras's optimizers, losses, metrics, layers, regularizers,
        initializers and activations are always trusted.

    Returns
    -------
    estimator : estimator
        The estimator, predicting exactly as when it was saved.

    Raises
    ------
    ValueError
        If the file is truncated, corrupted or not an skkeras file, if a model needs
        ``safe_mode=False``, or if a scikit-learn step uses untrusted types.
    OSError
        If the file cannot be read.

    Warns
    -----
    UserWarning
        When the file was written with other versions of skkeras, Keras or scikit-learn (both
        versions are named), when an untrusted class or function parameter was replaced by
        ``None`` (the estimator still predicts; pass ``trusted`` to restore it for refitting),
        and when Keras loads a network without its training configuration (a custom loss or
        metric function that is not registered with Keras). Such a network predicts and scores
        normally; continued training (``warm_start=True`` or ``partial_fit``) compiles it again
        from the estimator's ``optimizer``, ``loss`` and ``metrics`` parameters, as a fresh fit
        does, or, if the network's model builder compiled it, builds it again with the builder
        (called as a fresh fit calls it; trust the builder and the functions it is given) and
        gives it the loaded weights. Either way it trains on from the loaded weights with a
        fresh optimizer: the optimizer's state is lost. Register the custom functions with
        ``keras.saving.register_keras_serializable`` to keep it.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import load_diabetes
    >>> import skkeras
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = skkeras.KerasMLPRegressor((8,), epochs=2, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "diabetes.skkeras")
    >>> _ = skkeras.save(reg, path)
    >>> loaded = skkeras.load(path)
    >>> bool(abs(loaded.predict(X) - reg.predict(X)).max() == 0)
    True
    """
    path = checked_path(path, "load")
    trusted_names = frozenset(_trusted_names(trusted))
    with _open_archive(path) as archive:
        manifest = _read_manifest(archive, path)
        _check_versions(manifest, path)
        with tempfile.TemporaryDirectory(prefix="skkeras-load-") as workdir:
            decoder = Decoder(
                lambda name: _read_member(archive, name, path),
                lambda name: _load_keras_model(archive, name, path, workdir, safe_mode),
                trusted=trusted_names,
                safe_mode=safe_mode,
            )
            try:
                estimator = decoder.decode(manifest["estimator"], "estimator")
            except RecursionError as error:
                raise ValueError(
                    f"{path}: the skkeras file is corrupted (its estimator entry is nested too "
                    "deeply)."
                ) from error
            except (KeyError, TypeError, AttributeError, zipfile.BadZipFile) as error:
                raise ValueError(f"{path}: the skkeras file is corrupted ({error!r}).") from error
            except ValueError as error:
                if str(error).startswith(str(path)):
                    raise
                raise ValueError(f"{path}: {error}") from error
    if decoder.dropped:
        _warn_dropped(decoder.dropped, path)
    return estimator


def library_versions() -> dict[str, str]:
    """Versions of the libraries that determine what a saved estimator predicts."""
    import numpy
    import sklearn

    from ._version import __version__

    keras = import_keras()
    return {
        "skkeras": __version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
    }


# ---------------------------------------------------------------------------- writing
def checked_path(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path; anything but a str or an ``os.PathLike`` (None, a number) is refused
    with a TypeError naming ``what``'s ``path`` parameter."""
    if isinstance(path, str | os.PathLike):
        return Path(path)
    example = "'exported/1'" if what == "export" else "'model.skkeras'"
    raise TypeError(
        f"The 'path' parameter of {what} must be a str or an os.PathLike (such as {example} "
        f"or a pathlib.Path); got {path!r} ({type(path).__name__})."
    )


def destination_path(path: str | os.PathLike, what: str = "save") -> Path:
    """``path`` as a Path, refusing an empty path before anything is written."""
    checked = checked_path(path, what)
    if os.fspath(path) == "":
        raise ValueError(f"{what}: the path is empty; give a file path such as 'model.skkeras'.")
    return checked


def atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it over ``path``.

    The temporary file is flushed and fsynced before the rename, and removed if anything fails,
    so ``path`` holds either its previous content or the complete new one. The new file keeps
    the permission bits of the file it replaces, else gets ``0o666 & ~umask`` like a file made
    by ``open``. A symbolic link is written through: its target is replaced (atomically, in the
    target's folder) and the link stays.
    """
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    _check_destination(path)
    folder = path.parent if str(path.parent) else Path(".")
    mode = _file_mode(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            _set_mode(file.fileno(), temporary, mode)
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    _fsync_folder(folder)


def _check_destination(path: Path) -> None:
    """Errors that name the user's path, not the temporary file, raised before writing."""
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, f"cannot write to {path}: it is a folder; give a file path inside it",
            str(path),
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(
            errno.ENOENT,
            f"cannot write to {path}: the folder {folder} does not exist; create it first",
            str(path),
        )


def _file_mode(path: Path) -> int:
    """The permission bits of the file being replaced, else ``0o666 & ~umask``."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where the platform allows."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _set_mode(descriptor: int, name: str, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, mode)
    else:  # Windows
        os.chmod(name, mode)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _write_archive(file, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(file, "w") as archive:
        for name, data in members.items():
            # Everything but .npy arrays is deflated: .keras and .skops members are zip archives
            # themselves, and stored raw their directories would make a truncated file look
            # like a (foreign) zip archive.
            compress = zipfile.ZIP_STORED if name.endswith(".npy") else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=compress)


# ---------------------------------------------------------------------------- reading
@contextlib.contextmanager
def _open_archive(path: Path):
    try:
        archive = zipfile.ZipFile(path, "r")
    except zipfile.BadZipFile as error:
        raise ValueError(
            f"{path} is not an skkeras file: it is not a zip archive, or it is truncated or "
            f"corrupted ({error})."
        ) from error
    with archive:
        yield archive


def _read_member(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    try:
        return archive.read(name)
    except KeyError as error:
        raise ValueError(f"{path}: the skkeras file is missing its member {name!r}.") from error
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as error:
        raise ValueError(
            f"{path}: the member {name!r} is corrupted or truncated ({error})."
        ) from error


def _read_manifest(archive: zipfile.ZipFile, path: Path) -> dict:
    if MANIFEST not in archive.namelist():
        hint = ""
        if "config.json" in archive.namelist():
            hint = " It looks like a Keras model file: load it with keras.saving.load_model."
        raise ValueError(
            f"{path} is a zip archive but not an skkeras file (no {MANIFEST}), or it is "
            f"truncated.{hint}"
        )
    try:
        manifest = json.loads(_read_member(archive, MANIFEST, path).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: {MANIFEST} is not valid JSON ({error}).") from error
    except RecursionError as error:
        raise ValueError(
            f"{path}: {MANIFEST} is nested too deeply to be an skkeras file."
        ) from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not an skkeras estimator file.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} uses skkeras file format version {version!r}; this skkeras reads versions "
            f"up to {FORMAT_VERSION}. Upgrade skkeras to load it."
        )
    if "estimator" not in manifest:
        raise ValueError(f"{path}: the skkeras file is corrupted (no estimator entry).")
    return manifest


def _load_keras_model(archive, name: str, path: Path, workdir: str, safe_mode: bool):
    keras = import_keras()
    model_path = os.path.join(workdir, f"model{len(os.listdir(workdir))}.keras")
    with open(model_path, "wb") as file:
        file.write(_read_member(archive, name, path))
    try:
        return keras.saving.load_model(model_path, safe_mode=safe_mode)
    except Exception as error:
        if "safe_mode" in str(error):
            raise ValueError(
                f"{path}: the Keras model {name!r} contains Python code (such as a Lambda "
                "layer), which would run when loaded; it was refused because safe_mode=True. "
                "If you trust this file, load it with safe_mode=False."
            ) from error
        compile_error = error
    # The network may load without its training configuration (a custom loss or metric that is
    # not registered with Keras): it then predicts normally, and continued training compiles it
    # again (BaseKerasEstimator._check_loaded_uncompiled).
    try:
        model = keras.saving.load_model(model_path, safe_mode=safe_mode, compile=False)
    except Exception as error:
        raise ValueError(
            f"{path}: could not load the Keras model {name!r}: {compile_error}. Custom layers, "
            "losses and metrics must be registered with keras.saving.register_keras_serializable "
            "and imported before loading."
        ) from error
    warn_at_caller(
        f"{path}: the Keras model {name!r} was loaded without its training configuration "
        f"({compile_error}). It predicts normally. Continued training of the estimator "
        "(warm_start=True or partial_fit) compiles it again from the estimator's parameters "
        "(or builds it again with its model builder, if the builder compiled it, and gives it "
        "the loaded weights), with a fresh optimizer: the optimizer's state (moments, step "
        "count) is lost. To keep it, register the custom loss or metric with "
        "keras.saving.register_keras_serializable and import it before loading.",
    )
    return model


def _check_versions(manifest: dict, path: Path) -> None:
    saved = manifest.get("versions")
    if not isinstance(saved, dict):
        return
    current = library_versions()
    mismatches = [
        f"{name} {saved[name]} (installed: {current[name]})"
        for name in ("skkeras", "keras", "keras_backend", "scikit-learn")
        if name in saved and saved[name] != current[name]
    ]
    if mismatches:
        warn_at_caller(
            f"{path} was saved with {', '.join(mismatches)}. Predictions may differ; check them "
            "and save the estimator again with the installed versions.",
        )


def _trusted_names(trusted) -> list[str]:
    if trusted is None:
        return []
    if isinstance(trusted, str):
        trusted = [trusted]
    if not isinstance(trusted, Iterable):
        raise TypeError(
            "The 'trusted' parameter of load must be None, an import path such as "
            "'mymodule.build_model', or a list of import paths and classes or functions; got "
            f"{trusted!r} ({type(trusted).__name__})."
        )
    names = []
    for item in trusted:
        if isinstance(item, str):
            names.append(item)
            continue
        if not callable(item):
            raise TypeError(
                "The 'trusted' parameter of load must hold import paths (str) and classes or "
                f"functions; it holds {item!r} ({type(item).__name__})."
            )
        path = public_path(item)
        if path is None:
            raise ValueError(f"trusted: {item!r} cannot be imported by name.")
        names.append(dotted(path))
    return names


def _warn_dropped(dropped: list[tuple[str, str]], path: Path) -> None:
    listing = ", ".join(f"{where} ({name})" for where, name in dropped)
    names = sorted({name for _, name in dropped})
    warn_at_caller(
        f"{path}: these parameters refer to code that is not trusted and were set to None: "
        f"{listing}. The estimator predicts normally; to refit it, restore them with "
        f"skkeras.load(..., trusted={names!r}) if you trust the file.",
    )
