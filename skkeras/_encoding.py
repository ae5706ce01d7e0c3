"""Turning estimators into JSON plus binary members, and back, without pickle.

The mechanism is generic: an estimator is stored as its class (by public import path), its
``get_params(deep=False)`` and its fitted attributes; every value is encoded by type:

- JSON values (None, bool, int, float incl. nan/inf, str), lists, tuples and dicts;
- NumPy arrays (``.npy`` members read with ``allow_pickle=False``; object arrays of strings and
  numbers as JSON lists), NumPy scalars and dtypes;
- ``keras.Model`` objects (native ``.keras`` members, loaded with Keras's ``safe_mode``), and
  built-in Keras optimizers, losses, metrics, regularizers and initializers (their Keras config);
- skkeras estimators and scikit-learn ``Pipeline`` objects (recursively, so lists of fitted
  estimators such as an ensemble's ``estimators_`` work), and dataclasses from skkeras modules
  (the target encoders);
- classes and functions by import path (restored only when trusted: by default skkeras classes
  and Keras classes of a few modules, and Keras activation/loss/metric functions; anything else
  only when the user lists it in ``trusted``);
- other scikit-learn estimators (transformers), CV splitters and NumPy random states through
  ``skops``, whose loader refuses types that are not trusted.

Anything else is refused when saving, with the location of the value in the error message.
Private attributes (``_name``) are not stored unless a class lists them in
``_persisted_private_attributes``; they are caches that estimators rebuild on demand.

One of those is special: the build record (``_built_with``, what continued training compares
the current parameters with). Each of its entries is stored as a mark when it equals the
estimator's parameter (and is loaded as that parameter), else encoded as above, with classes
and functions kept by import path only (the record is compared with, never called), or marked
unsaved when it cannot be encoded (its parameter was set, before saving, to a value that can).
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import math
import os
import zipfile

import numpy as np

from ._continued import SavedReference, UnsavedValue, _same, _snapshot
from ._keras import import_keras
from ._references import (
    IDENTIFIER,
    NATIVE_SKLEARN_CLASSES,
    SKOPS_EXTRA_TRUSTED,
    dotted,
    is_skkeras_class,
    is_state_name,
    is_stored_as_estimator,
    is_trusted_function,
    is_trusted_reference,
    public_path,
    resolve_path,
)

TYPE_KEY = "__type__"
#: The private attribute holding the parameters a network was built and compiled with.
BUILD_RECORD = "_built_with"


# ---------------------------------------------------------------------------- encoding
class Encoder:
    """Encodes values to JSON; arrays, Keras models and skops blobs become archive members."""

    def __init__(self, workdir: str):
        self.members: dict[str, bytes] = {}
        self._workdir = workdir

    def _add(self, folder: str, suffix: str, data: bytes) -> str:
        name = f"{folder}/{len(self.members)}{suffix}"
        self.members[name] = data
        return name

    def encode(self, value, where: str):
        """JSON-compatible description of ``value``; ``where`` locates it in error messages."""
        for kind, method in self._dispatch():
            if kind(value):
                return method(value, where)
        return self._encode_other(value, where)

    def _dispatch(self):
        keras = import_keras()
        return (
            (lambda v: v is None or (isinstance(v, bool | str) and not isinstance(v, np.generic)),
             lambda v, w: v),
            (lambda v: isinstance(v, int) and not isinstance(v, bool | np.generic),
             lambda v, w: v),
            (lambda v: isinstance(v, float) and not isinstance(v, np.generic), self._float),
            (lambda v: isinstance(v, list), self._list),
            (lambda v: isinstance(v, tuple), self._tuple),
            (lambda v: isinstance(v, dict), self._dict),
            (lambda v: isinstance(v, np.ndarray), self._array),
            (lambda v: isinstance(v, np.generic), self._scalar),
            (lambda v: isinstance(v, np.dtype), self._dtype),
            (lambda v: isinstance(v, keras.Model), self._keras_model),
            (_is_keras_config_object, self._keras_object),
            (is_stored_as_estimator, self._estimator),
            (_is_skkeras_dataclass, self._dataclass),
            (lambda v: inspect.isclass(v) or inspect.isfunction(v) or inspect.isbuiltin(v),
             self._reference),
            # a build record's reference loaded without importing it: saved again by its path
            (lambda v: isinstance(v, SavedReference),
             lambda v, w: {TYPE_KEY: "reference", "path": v.path}),
            (lambda v: isinstance(v, keras.callbacks.Callback), self._callback),
        )

    def _float(self, value: float, where: str):
        if math.isfinite(value):
            return value
        return {TYPE_KEY: "float", "value": repr(value)}

    def _list(self, value: list, where: str):
        return [self.encode(item, f"{where}[{i}]") for i, item in enumerate(value)]

    def _tuple(self, value: tuple, where: str):
        return {TYPE_KEY: "tuple", "items": self._list(list(value), where)}

    def _dict(self, value: dict, where: str):
        if all(isinstance(key, str) for key in value) and TYPE_KEY not in value:
            return {
                TYPE_KEY: "dict",
                "value": {
                    key: self.encode(item, f"{where}[{key!r}]") for key, item in value.items()
                },
            }
        items = [
            [self.encode(key, f"{where} key {key!r}"), self.encode(item, f"{where}[{key!r}]")]
            for key, item in value.items()
        ]
        return {TYPE_KEY: "dict", "items": items}

    def _array(self, value: np.ndarray, where: str):
        if value.dtype == object:
            items = [_plain_item(item, where) for item in value.ravel(order="C").tolist()]
            return {TYPE_KEY: "ndarray", "dtype": "object", "shape": list(value.shape),
                    "items": items}
        if value.dtype.hasobject:
            raise TypeError(f"{where}: arrays of dtype {value.dtype} cannot be saved safely.")
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {TYPE_KEY: "ndarray", "file": self._add("arrays", ".npy", buffer.getvalue())}

    def _scalar(self, value: np.generic, where: str):
        if value.dtype.hasobject:
            raise TypeError(f"{where}: a NumPy object scalar cannot be saved safely.")
        item = self.encode(value.item(), where)
        return {TYPE_KEY: "scalar", "dtype": value.dtype.str, "value": item}

    def _dtype(self, value: np.dtype, where: str):
        if value.fields is not None:
            raise TypeError(f"{where}: structured dtype {value} cannot be saved.")
        return {TYPE_KEY: "dtype", "value": value.str}

    def _keras_model(self, model, where: str):
        path = os.path.join(self._workdir, f"model{len(self.members)}.keras")
        try:
            model.save(path)
        except OSError as error:  # the temporary folder's disk or permissions, not the model
            if error.errno is None:
                raise
            raise OSError(
                error.errno,
                f"{where}: could not write the network to the temporary folder "
                f"{self._workdir}: {error.strerror or error}",
            ) from error
        except Exception as error:
            raise TypeError(f"{where}: Keras could not save this model: {error}") from error
        with open(path, "rb") as file:
            data = file.read()
        os.remove(path)
        return {TYPE_KEY: "keras_model", "file": self._add("models", ".keras", data)}

    def _keras_object(self, value, where: str):
        keras = import_keras()
        config = keras.saving.serialize_keras_object(value)
        if not str(config.get("module", "")).startswith("keras"):
            raise TypeError(
                f"{where}: {type(value).__name__} is a custom Keras object; only built-in Keras "
                "optimizers, losses, metrics, regularizers and initializers can be stored. Pass "
                "its class (module-level) with routed arguments instead."
            )
        return {TYPE_KEY: "keras_object", "config": self.encode(config, where)}

    def _estimator(self, value, where: str):
        name = type(value).__name__
        path = public_path(type(value))
        if path is None:
            raise TypeError(f"{where}: the class {name} cannot be imported by name.")
        ensure_model = getattr(value, "_ensure_model", None)
        if ensure_model is not None:
            ensure_model()  # a network trained without a Keras model gets one to be saved
        params = value.get_params(deep=False)
        state = {
            key: item
            for key, item in vars(value).items()
            if key not in params and is_state_name(type(value), key)
        }
        # parameters first: a value that cannot be saved is reported as the parameter it is
        encoded_params = {
            key: self.encode(item, f"{where}.{key}") for key, item in params.items()
        }
        encoded_state = {
            key: self._build_record(item, params, f"{where}.{key}") if key == BUILD_RECORD
            else self.encode(item, f"{where}.{key}")
            for key, item in state.items()
        }
        return {
            TYPE_KEY: "estimator",
            "class": path,
            "params": encoded_params,
            "state": encoded_state,
        }

    def _build_record(self, record: dict, params: dict, where: str):
        """The build record: ``{group: {key: entry}}``, each entry ``{"same": true}`` (equal
        to the parameter ``key``), ``{"value": node}`` or ``{"unsaved": type name}``."""
        groups = {}
        for group, values in record.items():
            groups[group] = {
                key: {"same": True} if key in params and _same(recorded, params[key])
                else self._recorded_value(recorded, f"{where}[{key!r}]")
                for key, recorded in values.items()
            }
        return {TYPE_KEY: "build_record", "groups": groups}

    def _recorded_value(self, value, where: str) -> dict:
        """An entry of the build record that differs from its parameter: its value, with the
        recorded references (:class:`SavedReference`, at any depth) kept by import path, or
        marked unsaved when it holds something that cannot be saved (a lambda, a nested
        function, an :class:`UnsavedValue`), whether on its own or inside a list, tuple or
        dict: an unsaved entry equals nothing, so it counts as changed after loading."""
        if isinstance(value, UnsavedValue):
            return {"unsaved": value.kind}
        members = list(self.members)
        try:
            return {"value": self.encode(value, where)}
        except TypeError:
            for name in set(self.members) - set(members):  # parts of it already added
                del self.members[name]
            return {"unsaved": type(value).__qualname__}

    def _dataclass(self, value, where: str):
        fields = {
            field.name: self.encode(getattr(value, field.name), f"{where}.{field.name}")
            for field in dataclasses.fields(value)
        }
        return {TYPE_KEY: "dataclass", "class": public_path(type(value)), "fields": fields}

    def _reference(self, value, where: str):
        path = public_path(value)
        if path is None:
            raise TypeError(
                f"{where}: {value!r} cannot be saved because it cannot be imported by name "
                "(a lambda, a nested function or a class defined inside a function). Define it "
                "at module level, or set the parameter to None before saving: a fitted "
                "estimator predicts without it."
            )
        return {TYPE_KEY: "reference", "path": path}

    def _callback(self, value, where: str):
        """A trusted callback class plus its constructor arguments, read back from attributes."""
        path = public_path(type(value))
        if path is None or not is_trusted_reference(path, frozenset()):
            raise TypeError(
                f"{where}: the callback {type(value).__name__} cannot be stored as an instance "
                "(only skkeras callbacks and Keras's EarlyStopping, ReduceLROnPlateau and "
                "TerminateOnNaN can). Pass its class with routed arguments instead "
                "(callbacks=[Class], callbacks__name=value)."
            )
        kwargs = {}
        for name, parameter in inspect.signature(type(value)).parameters.items():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            if not hasattr(value, name):
                raise TypeError(
                    f"{where}: the callback {type(value).__name__} does not keep its argument "
                    f"{name!r} as an attribute, so it cannot be stored; pass its class with "
                    "routed arguments instead."
                )
            kwargs[name] = self.encode(getattr(value, name), f"{where}.{name}")
        return {TYPE_KEY: "callback", "class": path, "kwargs": kwargs}

    def _encode_other(self, value, where: str):
        if _is_skops_type(value):
            if _holds_networks(value):
                raise TypeError(
                    f"{where}: {type(value).__name__} holds skkeras estimators or Keras models; "
                    "skkeras stores those directly, in lists and dicts, or inside a Pipeline, "
                    "but not inside other scikit-learn objects. Save the fitted estimator or "
                    "pipeline itself (for a search, its best_estimator_)."
                )
            sio = import_skops()

            try:
                data = sio.dumps(value)
            except Exception as error:
                raise TypeError(f"{where}: skops could not store {value!r}: {error}") from error
            return {TYPE_KEY: "skops", "file": self._add("skops", ".skops", data)}
        raise TypeError(
            f"{where}: values of type {type(value).__module__}.{type(value).__qualname__} cannot "
            "be saved safely. Supported: JSON values, lists, tuples, dicts, NumPy arrays, "
            "keras.Model, built-in Keras optimizers/losses/metrics, skkeras estimators, "
            "scikit-learn Pipelines and transformers, and module-level classes or functions. "
            "Keras callback instances: pass the class with routed arguments "
            "(callbacks=[Class], callbacks__name=value)."
        )


def import_skops():
    """``skops.io``, needed for scikit-learn steps other than the few stored natively."""
    try:
        import skops.io as sio
    except ImportError as error:  # pragma: no cover - skops is installed in the test setup
        raise ImportError(
            "Saving or loading this scikit-learn step needs skops: pip install skops "
            f"(or pip install skkeras[persistence]). Stored natively: "
            f"{sorted(NATIVE_SKLEARN_CLASSES)}."
        ) from error
    return sio


def _plain_item(item, where: str):
    if item is None or isinstance(item, bool | int | str):
        return item
    if isinstance(item, float):
        return item if math.isfinite(item) else {TYPE_KEY: "float", "value": repr(item)}
    raise TypeError(
        f"{where}: object arrays may hold only strings, numbers, booleans and None; found "
        f"{type(item).__name__}."
    )


def _holds_networks(value, depth: int = 0) -> bool:
    """Whether a scikit-learn object contains skkeras estimators or Keras models."""
    from sklearn.base import BaseEstimator

    if depth > 8:
        return False
    if isinstance(value, BaseEstimator) and is_skkeras_class(type(value)):
        return True
    if isinstance(value, import_keras().Model):
        return True
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list | tuple):
        children = list(value)
    elif isinstance(value, BaseEstimator):
        children = list(vars(value).values())
    else:
        return False
    return any(_holds_networks(child, depth + 1) for child in children)


def _keras_config_kinds() -> tuple[type, ...]:
    """The Keras classes whose instances are stored as their Keras config."""
    keras = import_keras()
    return (
        keras.optimizers.Optimizer,
        keras.optimizers.schedules.LearningRateSchedule,
        keras.losses.Loss,
        keras.metrics.Metric,
        keras.regularizers.Regularizer,
        keras.initializers.Initializer,
    )


def _is_keras_config_object(value) -> bool:
    return isinstance(value, _keras_config_kinds())


def _is_skkeras_dataclass(value) -> bool:
    return (
        dataclasses.is_dataclass(value)
        and not isinstance(value, type)
        and is_skkeras_class(type(value))
    )


def _is_skops_type(value) -> bool:
    from sklearn.base import BaseEstimator
    from sklearn.model_selection import BaseCrossValidator
    from sklearn.model_selection._split import BaseShuffleSplit

    return isinstance(
        value,
        BaseEstimator | BaseCrossValidator | BaseShuffleSplit | np.random.RandomState
        | np.random.Generator,
    )


# ---------------------------------------------------------------------------- decoding
class Decoder:
    """Rebuilds values from their JSON description and the archive's members."""

    def __init__(self, read_member, load_keras_model, *, trusted: frozenset[str], safe_mode: bool):
        self._read = read_member
        self._load_keras_model = load_keras_model
        self.trusted = trusted
        self.safe_mode = safe_mode
        #: References that were not trusted and were replaced by None.
        self.dropped: list[tuple[str, str]] = []
        #: Whether references are decoded as :class:`SavedReference` (nothing imported).
        self._references_by_path = False

    def decode(self, node, where: str):
        if isinstance(node, list):
            return [self.decode(item, f"{where}[{i}]") for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        kind = node.get(TYPE_KEY)
        method = getattr(self, f"_decode_{kind}", None) if isinstance(kind, str) else None
        if method is None:
            raise ValueError(f"{where}: unknown entry type {kind!r}.")
        return method(node, where)

    def _decode_float(self, node, where):
        if node["value"] not in ("nan", "inf", "-inf"):
            raise ValueError(f"{where}: bad float {node['value']!r}.")
        return float(node["value"])

    def _decode_tuple(self, node, where):
        return tuple(self.decode(node["items"], where))

    def _decode_dict(self, node, where):
        if "value" in node:
            items = node["value"].items()
            return {key: self.decode(item, f"{where}[{key!r}]") for key, item in items}
        return {
            _hashable(self.decode(key, where)): self.decode(item, where)
            for key, item in node["items"]
        }

    def _decode_ndarray(self, node, where):
        if "file" in node:
            return np.load(io.BytesIO(self._read(node["file"])), allow_pickle=False)
        items = [self._decode_plain(item, where) for item in node["items"]]
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape(node["shape"])

    def _decode_plain(self, item, where):
        if item is None or isinstance(item, bool | int | float | str):
            return item
        if isinstance(item, dict) and item.get(TYPE_KEY) == "float":
            return self._decode_float(item, where)
        raise ValueError(f"{where}: object arrays may hold only strings, numbers and None.")

    def _decode_scalar(self, node, where):
        return np.dtype(node["dtype"]).type(self.decode(node["value"], where))

    def _decode_dtype(self, node, where):
        return np.dtype(node["value"])

    def _decode_keras_model(self, node, where):
        return self._load_keras_model(node["file"])

    def _decode_keras_object(self, node, where):
        keras = import_keras()
        config = self.decode(node["config"], where)
        if not isinstance(config, dict) or config.get("class_name") == "function":
            raise ValueError(f"{where}: only built-in Keras objects can be loaded.")
        self._check_keras_config(config, where)
        return keras.saving.deserialize_keras_object(config, safe_mode=self.safe_mode)

    def _check_keras_config(self, config, where: str) -> None:
        """Refuse a Keras config that would make Keras import anything but the stored kinds.

        Keras resolves every nested ``{"module", "class_name"}`` entry by import, so each one is
        checked: classes must be built-in optimizers, schedules, losses, metrics, regularizers,
        initializers or dtype policies; functions only the trusted ones (Keras's activation,
        loss and metric functions by default, as for references).
        """
        if isinstance(config, list):
            for item in config:
                self._check_keras_config(item, where)
            return
        if not isinstance(config, dict):
            return
        if "class_name" in config:
            self._check_keras_entry(config, where)
        for value in config.values():
            self._check_keras_config(value, where)

    def _check_keras_entry(self, entry: dict, where: str) -> None:
        module, name = str(entry.get("module", "")), entry.get("class_name")
        registered = entry.get("registered_name")
        if name == "function":
            function = entry.get("config")
            path = f"{'keras.losses' if module == 'builtins' else module}:{function}"
            allowed = (
                isinstance(function, str)
                and registered in (None, "function", function)
                and (module == "builtins" or module.startswith("keras"))
                and is_trusted_function(path, self.trusted)
            )
        else:
            allowed = (
                isinstance(name, str)
                and registered in (None, name)
                and (module == "keras" or module.startswith("keras."))
                and self._is_keras_config_class(f"{module}:{name}")
            )
        if not allowed:
            raise ValueError(
                f"{where}: the stored Keras config refers to {module}.{name} "
                f"({entry.get('config')!r}), which skkeras does not load: only built-in "
                "optimizers, schedules, losses, metrics, regularizers, initializers and "
                "Keras's activation, loss and metric functions."
            )

    @staticmethod
    def _is_keras_config_class(path: str) -> bool:
        keras = import_keras()
        try:
            cls = resolve_path(path, allow_private=True)
        except (ImportError, AttributeError, ValueError):
            return False
        kinds = (*_keras_config_kinds(), keras.DTypePolicy)
        return inspect.isclass(cls) and issubclass(cls, kinds)

    def _decode_estimator(self, node, where):
        cls = self._allowed_class(node["class"], where)
        declared = set(cls._get_param_names())
        for key in node["params"]:
            if key not in declared and (not IDENTIFIER.match(key) or hasattr(cls, key)):
                raise ValueError(f"{where}: {key!r} is not a parameter name {cls.__name__} takes.")
        for key in node["state"]:
            if not is_state_name(cls, key) or key in declared:
                raise ValueError(f"{where}: {key!r} is not a fitted attribute name.")
        params, dropped = {}, set()
        for key, item in node["params"].items():
            count = len(self.dropped)
            params[key] = self.decode(item, f"{where}.{key}")
            if len(self.dropped) > count:
                dropped.add(key)
        estimator = cls(**params)
        state = {
            key: self._decode_build_record(item, f"{where}.{key}", params, node["params"], dropped)
            if key == BUILD_RECORD else self.decode(item, f"{where}.{key}")
            for key, item in node["state"].items()
        }
        vars(estimator).update(state)
        return estimator

    def _decode_build_record(self, node, where, params, param_nodes, dropped) -> dict:
        """The build record (see :meth:`Encoder._build_record`); an entry marked as equal to
        a parameter that was not trusted (loaded as None) keeps its import path instead."""
        kind, groups = (node.get(TYPE_KEY), node.get("groups")) if isinstance(node, dict) else (
            None, None)
        if kind != "build_record" or not isinstance(groups, dict) or set(groups) != {
            "network", "compile"
        }:
            raise ValueError(f"{where}: the build record is corrupted.")
        record = {}
        for group, entries in groups.items():
            record[group] = {}
            for key, entry in entries.items():
                at = f"{where}[{key!r}]"
                if not isinstance(entry, dict):
                    raise ValueError(f"{at}: the build record entry is corrupted.")
                if entry.get("same") is True and key in params:
                    value = (self._recorded(param_nodes[key], at) if key in dropped
                             else _snapshot(params[key]))
                elif "value" in entry:
                    value = self._recorded(entry["value"], at)
                elif isinstance(entry.get("unsaved"), str):
                    value = UnsavedValue(entry["unsaved"])
                else:
                    raise ValueError(f"{at}: the build record entry is corrupted.")
                record[group][key] = value
        return record

    def _recorded(self, node, where: str):
        """A recorded value, its classes and functions kept by import path (never imported)."""
        self._references_by_path = True
        try:
            return self.decode(node, where)
        finally:
            self._references_by_path = False

    def _allowed_class(self, path: str, where: str):
        from sklearn.base import BaseEstimator

        module_name = path.partition(":")[0]
        native = path in NATIVE_SKLEARN_CLASSES
        allowed = module_name.split(".")[0] == "skkeras" or native
        cls = resolve_path(path, allow_private=True) if allowed else None
        if cls is None or not (
            inspect.isclass(cls) and issubclass(cls, BaseEstimator)
            and (is_skkeras_class(cls) or native)
        ):
            raise ValueError(
                f"{where}: the estimator class {path!r} is not one skkeras loads (skkeras "
                f"estimators and {sorted(NATIVE_SKLEARN_CLASSES)})."
            )
        return cls

    def _decode_dataclass(self, node, where):
        path = node["class"]
        in_skkeras = path.partition(":")[0].split(".")[0] == "skkeras"
        cls = resolve_path(path, allow_private=True) if in_skkeras else None
        if cls is None or not (inspect.isclass(cls) and dataclasses.is_dataclass(cls)):
            raise ValueError(f"{where}: {path!r} is not a skkeras data class.")
        obj = cls.__new__(cls)
        vars(obj).update(
            {key: self.decode(item, f"{where}.{key}") for key, item in node["fields"].items()}
        )
        return obj

    def _decode_reference(self, node, where):
        path = node["path"]
        if self._references_by_path:
            return SavedReference(path)
        if not is_trusted_reference(path, self.trusted):
            self.dropped.append((where, dotted(path)))
            return None
        try:
            obj = resolve_path(path, allow_private=dotted(path) in self.trusted)
        except (ImportError, AttributeError, ValueError) as error:
            raise ValueError(f"{where}: could not import {dotted(path)!r}: {error}") from error
        if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)):
            raise ValueError(f"{where}: {dotted(path)!r} is not a class or a function.")
        if not inspect.isclass(obj) and not is_trusted_function(path, self.trusted):
            # Default trust covers classes; a function (skkeras.load, say) could be called
            # with parameters chosen by the file's author when the estimator is refitted.
            self.dropped.append((where, dotted(path)))
            return None
        return obj

    def _decode_callback(self, node, where):
        cls = self._decode_reference({"path": node["class"]}, where)
        keras = import_keras()
        if cls is None:
            return None
        if not (inspect.isclass(cls) and issubclass(cls, keras.callbacks.Callback)):
            raise ValueError(f"{where}: {node['class']!r} is not a Keras callback class.")
        kwargs = {key: self.decode(item, f"{where}.{key}") for key, item in node["kwargs"].items()}
        return cls(**kwargs)

    def _decode_skops(self, node, where):
        sio = import_skops()

        data = self._read(node["file"])
        trusted = [*SKOPS_EXTRA_TRUSTED, *self.trusted]
        try:
            untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(trusted))
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(
                f"{where}: the member {node['file']!r} is not a valid skops file ({error})."
            ) from error
        if untrusted:
            raise ValueError(
                f"{where}: the stored scikit-learn object uses types that are not trusted: "
                f"{untrusted}. If you trust this file, pass trusted={untrusted!r} to load."
            )
        return sio.loads(data, trusted=trusted)


def _hashable(key):
    return tuple(_hashable(item) for item in key) if isinstance(key, list) else key
