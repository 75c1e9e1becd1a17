"""A model in the repository as a plugin: one class per model, built from its manifest.

The server's loader and each worker process build the same class from the same place: the
plugin's origin is ``app.models.plugin:models.TOKEN``, where the token encodes the model
directory, the model's name and its session sizing, so a spawned worker (or a Ray actor)
rebuilds the class with the loader's own import-by-path, no extra channel needed.

In a worker, the plugin loads the default version at startup and then watches the
repository: when the default changes, the new version is loaded and warmed on a
background thread while calls keep using the old one, and only then do calls move to it.
A swap therefore fails no call and makes none wait for a load. A call that pins a version
(``version: 2``) gets that version, loaded on first use.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel

from app.inference.decoders import Postprocess
from app.inference.errors import ModelMismatch
from app.models.manifest import Manifest, Task
from app.models.outline import polygon
from app.models.runtime import Decoded, LoadedModel, smoke_image
from app.models.schemas import OUTPUTS, input_model, labels_text
from app.models.store import ModelStore, open_model_store
from app.plugins.base import Batching, InvalidInput, Plugin, PluginUnavailable, ToolContext, tool
from app.plugins.builtin.pixels import to_rgb
from app.plugins.images import load_image
from app.plugins.vocabulary import box_from_corners

log = logging.getLogger("visor.models")

#: How often a worker looks for a new default version.
WATCH_INTERVAL_S = 0.2
#: Versions one worker keeps loaded: the default and the most recently pinned others.
MAX_LOADED_VERSIONS = 3
#: Concurrent calls of a model gathered into one session run (docs/models.md, Batching).
BATCHING = Batching(max_size=8, max_delay_ms=5.0, handler="serve_batch")


@dataclass(frozen=True)
class ModelPluginConfig:
    """What a worker needs to serve a model; travels inside the plugin's origin."""

    root: str
    name: str
    threads: int
    providers: tuple[str, ...]
    blob_url: str = ""  # VISOR_BLOB_URL: where the repository is (empty: the directory root)

    def store(self) -> ModelStore:
        return open_model_store(Path(self.root), self.blob_url)

    def token(self) -> str:
        raw = json.dumps(asdict(self), separators=(",", ":")).encode()
        return base64.b32encode(raw).decode().rstrip("=").lower()

    @classmethod
    def from_token(cls, token: str) -> ModelPluginConfig:
        padded = token.upper() + "=" * (-len(token) % 8)
        data = json.loads(base64.b32decode(padded))
        return cls(
            data["root"],
            data["name"],
            int(data["threads"]),
            tuple(data["providers"]),
            data.get("blob_url", ""),
        )

    def origin(self) -> str:
        return f"{__name__}:models.{self.token()}"


class ModelOutputError(RuntimeError):
    """A model answered a call with outputs its decoder cannot read (a tool_error)."""


class _Models:
    """``models.TOKEN`` is the plugin class for that token (import-by-path in workers)."""

    def __getattr__(self, token: str) -> type[Plugin]:
        if token.startswith("_"):
            raise AttributeError(token)
        return plugin_class(ModelPluginConfig.from_token(token))


models = _Models()


class ModelPlugin(Plugin):
    """Serves one model of the repository (subclassed per model by :func:`plugin_class`)."""

    config: ClassVar[ModelPluginConfig]
    task: ClassVar[Task]
    timeout_s = 60.0

    def __init__(self) -> None:
        self._store = self.config.store()
        self._lock = threading.Lock()
        self._loaded: dict[int, LoadedModel] = {}
        self._current: LoadedModel | None = None
        self._stop = threading.Event()

    # -- lifecycle --------------------------------------------------------------------------

    def startup(self) -> None:
        version = self._store.default(self.name)
        if version is None:
            raise PluginUnavailable(f"model {self.name!r} has no versions in the repository")
        try:
            self._current = self._load(version)
        except ModelMismatch as exc:  # stored without a check, or edited: no retry helps
            raise PluginUnavailable(
                f"model {self.name!r} version {version} does not fit its manifest: {exc.message}"
            ) from None
        threading.Thread(target=self._watch, name="visor-model-watch", daemon=True).start()

    def shutdown(self) -> None:
        self._stop.set()

    def health_check(self) -> bool:
        return self._current is not None

    def _load(self, version: int) -> LoadedModel:
        """Load one version and run it once, so its first real call is not its slowest."""
        with self._lock:
            cached = self._loaded.pop(version, None)
            if cached is not None:
                self._loaded[version] = cached  # most recently used last
        if cached is not None:
            return cached
        loaded = LoadedModel(
            self._store.manifest(self.name, version),
            self._store.model_bytes(self.name, version),  # bytes: no external data resolves
            threads=self.config.threads,
            providers=self.config.providers,
            version=version,
        )
        loaded.infer(smoke_image())
        with self._lock:
            kept = self._loaded.setdefault(version, loaded)
            current = self._current.version if self._current is not None else version
            while len(self._loaded) > MAX_LOADED_VERSIONS:  # pinned old versions: LRU
                oldest = next(v for v in self._loaded if v not in (current, version))
                del self._loaded[oldest]
            return kept

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_INTERVAL_S):
            try:
                self._follow_default()
            except Exception as exc:  # e.g. a version removed meanwhile: try again next round
                log.warning("model %s: cannot load the new default yet: %s", self.name, exc)

    def _follow_default(self) -> None:
        version = self._store.default(self.name)
        current = self._current
        if version is not None and (current is None or version != current.version):
            loaded = self._load(version)  # load and warm first ...
            self._current = loaded  # ... then move traffic (one reference swap)
            log.info("model %s: now serving version %d", self.name, version)
        on_disk = set(self._store.versions(self.name))
        with self._lock:
            for gone in [v for v in self._loaded if v not in on_disk]:
                if self._current is None or gone != self._current.version:
                    del self._loaded[gone]

    def _model_for(self, version: int | None) -> LoadedModel:
        current = self._current
        if current is None:
            raise PluginUnavailable(f"model {self.name!r} is not loaded")
        if version is None or version == current.version:
            return current
        if version not in self._store.versions(self.name):
            known = ", ".join(str(v) for v in self._store.versions(self.name))
            raise InvalidInput(
                f"model {self.name!r} has no version {version}; versions: {known}",
                details={"field": "version", "versions": self._store.versions(self.name)},
            )
        return self._load(version)

    # -- the tool ---------------------------------------------------------------------------

    def serve(self, args: Any, ctx: ToolContext) -> dict[str, Any]:
        call = self._prepare(args)
        ctx.progress(0.2, "decoded")
        try:
            decoded = call.model.infer(call.rgb, call.post)
        except ModelMismatch as exc:  # the model's fault (outputs that vary), not the caller's
            raise self._output_error(call.model, exc) from None
        return call.result(self.name, decoded)

    def serve_batch(self, batch: list[Any], ctxs: list[ToolContext]) -> list[Any]:
        """The tool for a batch of calls (dynamic batching): each call's inputs are checked
        and decoded on their own, the calls of one model version run through the session
        together, and each gets the result, or the error, it would get alone."""
        answers: list[Any] = [None] * len(batch)
        groups: dict[int, list[tuple[int, _Call]]] = {}
        for index, args in enumerate(batch):
            try:
                call = self._prepare(args)
            except Exception as exc:  # this call's own error; the others go on
                answers[index] = exc
                continue
            groups.setdefault(id(call.model), []).append((index, call))
        for members in groups.values():
            model = members[0][1].model
            try:
                decoded = model.infer_many(
                    [call.rgb for _, call in members], [call.post for _, call in members]
                )
            except ModelMismatch as exc:
                error = self._output_error(model, exc)
                for index, _ in members:
                    answers[index] = error
                continue
            for (index, call), found in zip(members, decoded, strict=True):
                answers[index] = call.result(self.name, found)
        return answers

    def _output_error(self, model: LoadedModel, exc: ModelMismatch) -> ModelOutputError:
        return ModelOutputError(f"model {self.name!r} v{model.version}: {exc.message}")

    def _prepare(self, args: Any) -> _Call:
        """One call's model version, options and decoded pixels; raises for a bad input."""
        model = self._model_for(args.version)
        manifest = model.manifest
        wanted = set(args.classes or ())
        unknown = sorted(wanted - set(manifest.labels))
        if unknown:
            raise InvalidInput(
                f"unknown classes {unknown}; model {self.name!r} knows "
                + labels_text(manifest.labels),
                details={"field": "classes", "unknown": unknown},
            )
        rgb = to_rgb(load_image(args))
        given = args.model_fields_set  # unset options follow this version's manifest
        defaults = manifest.thresholds
        limit = args.max_detections if "max_detections" in given else defaults.max_detections
        post = Postprocess(
            score_threshold=args.score_threshold
            if "score_threshold" in given
            else defaults.score_threshold,
            iou=args.iou if "iou" in given else defaults.iou,
            max_detections=10_000 if wanted else limit,
            class_agnostic=defaults.class_agnostic,
        )
        return _Call(model, rgb, post, wanted, limit)


@dataclass(frozen=True)
class _Call:
    """One call, ready for its model: what :meth:`ModelPlugin._prepare` worked out."""

    model: LoadedModel
    rgb: np.ndarray
    post: Postprocess
    wanted: set[str]
    limit: int

    def result(self, name: str, decoded: Decoded) -> dict[str, Any]:
        height, width = self.rgb.shape[:2]
        return _result(name, self.model, decoded, self.wanted, self.limit, width, height)


def _result(
    name: str,
    model: LoadedModel,
    decoded: Decoded,
    wanted: set[str],
    limit: int,
    width: int,
    height: int,
) -> dict[str, Any]:
    ref = {"name": name, "version": model.version}
    manifest = model.manifest
    if manifest.task is Task.CLASSIFY:
        classes = [
            {"label": c.label, "class_id": c.class_id, "confidence": round(c.confidence, 4)}
            for c in decoded.classes
            if not wanted or c.label in wanted
        ][:limit]
        top = classes[0]["label"] if classes else None
        return {"classes": classes, "top": top, "width": width, "height": height, "model": ref}
    found = [d for d in decoded.detections if not wanted or d.label in wanted][:limit]
    boxes = decoded.geometry.boxes_to_image(np.array([d.box for d in found]).reshape(-1, 4))
    detections = []
    for item, box in zip(found, boxes, strict=True):
        entry: dict[str, Any] = {
            "box": list(box_from_corners(*box)),
            "label": item.label,
            "class_id": item.class_id,
            "confidence": round(min(1.0, max(0.0, item.confidence)), 4),
        }
        if manifest.task is Task.SEGMENT:
            mask = item.mask
            entry["polygon"] = (
                polygon(decoded.geometry.mask_to_image(mask)) if mask is not None else None
            )
        if manifest.task is Task.KEYPOINTS and item.keypoints is not None:
            points = decoded.geometry.points_to_image(item.keypoints[:, :2])
            names = _keypoint_names(manifest)
            entry["keypoints"] = [
                {"name": n, "point": [round(x), round(y)], "confidence": round(float(s), 4)}
                for n, (x, y), s in zip(names, points, item.keypoints[:, 2], strict=True)
            ]
        detections.append(entry)
    return {
        "detections": detections,
        "count": len(detections),
        "width": width,
        "height": height,
        "model": ref,
    }


def _keypoint_names(manifest: Manifest) -> list[str]:
    return list(getattr(manifest.decoder, "keypoint_names", []))


def plugin_class(config: ModelPluginConfig) -> type[Plugin]:
    """The plugin class for one model, with its tool's schemas from the default manifest."""
    store = config.store()
    version = store.default(config.name)
    if version is None:
        raise PluginUnavailable(f"model {config.name!r} has no versions in the repository")
    manifest = store.manifest(config.name, version)
    inputs = input_model(config.name, manifest)
    outputs: type[BaseModel] = OUTPUTS[manifest.task]

    def handler(self: ModelPlugin, args: Any, ctx: ToolContext) -> dict[str, Any]:
        return self.serve(args, ctx)

    handler.__annotations__ = {"args": inputs, "ctx": ToolContext, "return": outputs}
    handler.__name__ = handler.__qualname__ = manifest.task.value
    what = {
        Task.DETECT: "Detect objects",
        Task.CLASSIFY: "Classify the image",
        Task.KEYPOINTS: "Find instances and their keypoints",
        Task.SEGMENT: "Find instances and their outlines",
    }[manifest.task]
    description = (
        f"{what} with the ONNX model {config.name!r} from the model repository. "
        f"Labels: {labels_text(manifest.labels)}."
    )
    marked = tool(
        name=manifest.task.value,
        description=description,
        default=True,
        batch=BATCHING,
        pixels=True,
    )(handler)
    namespace = {
        "name": config.name,
        "version": str(version),
        "description": manifest.description or description,
        "config": config,
        "task": manifest.task,
        manifest.task.value: marked,
        "__module__": __name__,
    }
    return type(f"Model_{config.name.replace('-', '_')}", (ModelPlugin,), namespace)
