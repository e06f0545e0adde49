from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MaskMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MASK_DEFAULT: _ClassVar[MaskMode]
    MASK_ON: _ClassVar[MaskMode]
    MASK_OFF: _ClassVar[MaskMode]

class ReseedMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESEED_DEFAULT: _ClassVar[ReseedMode]
    RESEED_ON: _ClassVar[ReseedMode]
    RESEED_OFF: _ClassVar[ReseedMode]
MASK_DEFAULT: MaskMode
MASK_ON: MaskMode
MASK_OFF: MaskMode
RESEED_DEFAULT: ReseedMode
RESEED_ON: ReseedMode
RESEED_OFF: ReseedMode

class SketchRequest(_message.Message):
    __slots__ = ("photo", "strokes", "iterations", "seeds", "seed", "mask", "stroke_width", "stroke_color", "preview_every", "request_id", "start", "schedule", "init", "line", "one_line", "reseed")
    PHOTO_FIELD_NUMBER: _ClassVar[int]
    STROKES_FIELD_NUMBER: _ClassVar[int]
    ITERATIONS_FIELD_NUMBER: _ClassVar[int]
    SEEDS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    MASK_FIELD_NUMBER: _ClassVar[int]
    STROKE_WIDTH_FIELD_NUMBER: _ClassVar[int]
    STROKE_COLOR_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_EVERY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    INIT_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    ONE_LINE_FIELD_NUMBER: _ClassVar[int]
    RESEED_FIELD_NUMBER: _ClassVar[int]
    photo: bytes
    strokes: _containers.RepeatedScalarFieldContainer[int]
    iterations: int
    seeds: int
    seed: int
    mask: MaskMode
    stroke_width: float
    stroke_color: str
    preview_every: int
    request_id: str
    start: _containers.RepeatedCompositeFieldContainer[StartStroke]
    schedule: str
    init: str
    line: str
    one_line: bool
    reseed: ReseedMode
    def __init__(self, photo: _Optional[bytes] = ..., strokes: _Optional[_Iterable[int]] = ..., iterations: _Optional[int] = ..., seeds: _Optional[int] = ..., seed: _Optional[int] = ..., mask: _Optional[_Union[MaskMode, str]] = ..., stroke_width: _Optional[float] = ..., stroke_color: _Optional[str] = ..., preview_every: _Optional[int] = ..., request_id: _Optional[str] = ..., start: _Optional[_Iterable[_Union[StartStroke, _Mapping]]] = ..., schedule: _Optional[str] = ..., init: _Optional[str] = ..., line: _Optional[str] = ..., one_line: _Optional[bool] = ..., reseed: _Optional[_Union[ReseedMode, str]] = ...) -> None: ...

class StartStroke(_message.Message):
    __slots__ = ("points", "width", "color", "opacity", "locked")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    OPACITY_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedScalarFieldContainer[float]
    width: float
    color: str
    opacity: float
    locked: bool
    def __init__(self, points: _Optional[_Iterable[float]] = ..., width: _Optional[float] = ..., color: _Optional[str] = ..., opacity: _Optional[float] = ..., locked: _Optional[bool] = ...) -> None: ...

class SketchEvent(_message.Message):
    __slots__ = ("request_id", "queued", "started", "progress", "result", "done")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    queued: Queued
    started: Started
    progress: Progress
    result: Result
    done: Done
    def __init__(self, request_id: _Optional[str] = ..., queued: _Optional[_Union[Queued, _Mapping]] = ..., started: _Optional[_Union[Started, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., result: _Optional[_Union[Result, _Mapping]] = ..., done: _Optional[_Union[Done, _Mapping]] = ...) -> None: ...

class Queued(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class Started(_message.Message):
    __slots__ = ("device", "backbone", "saliency", "mask_used", "notes")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    BACKBONE_FIELD_NUMBER: _ClassVar[int]
    SALIENCY_FIELD_NUMBER: _ClassVar[int]
    MASK_USED_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    device: str
    backbone: str
    saliency: str
    mask_used: bool
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, device: _Optional[str] = ..., backbone: _Optional[str] = ..., saliency: _Optional[str] = ..., mask_used: _Optional[bool] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("strokes", "iteration", "iterations", "geometric_loss", "semantic_loss", "loss", "best_loss", "preview")
    STROKES_FIELD_NUMBER: _ClassVar[int]
    ITERATION_FIELD_NUMBER: _ClassVar[int]
    ITERATIONS_FIELD_NUMBER: _ClassVar[int]
    GEOMETRIC_LOSS_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_LOSS_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    BEST_LOSS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    strokes: int
    iteration: int
    iterations: int
    geometric_loss: float
    semantic_loss: float
    loss: float
    best_loss: float
    preview: _containers.RepeatedCompositeFieldContainer[Path]
    def __init__(self, strokes: _Optional[int] = ..., iteration: _Optional[int] = ..., iterations: _Optional[int] = ..., geometric_loss: _Optional[float] = ..., semantic_loss: _Optional[float] = ..., loss: _Optional[float] = ..., best_loss: _Optional[float] = ..., preview: _Optional[_Iterable[_Union[Path, _Mapping]]] = ...) -> None: ...

class Path(_message.Message):
    __slots__ = ("d", "width", "color", "opacity", "taper", "outline")
    D_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    OPACITY_FIELD_NUMBER: _ClassVar[int]
    TAPER_FIELD_NUMBER: _ClassVar[int]
    OUTLINE_FIELD_NUMBER: _ClassVar[int]
    d: str
    width: float
    color: str
    opacity: float
    taper: float
    outline: str
    def __init__(self, d: _Optional[str] = ..., width: _Optional[float] = ..., color: _Optional[str] = ..., opacity: _Optional[float] = ..., taper: _Optional[float] = ..., outline: _Optional[str] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("strokes", "svg", "paths", "photo_width", "photo_height", "loss", "seed", "schedule", "iterations_run")
    STROKES_FIELD_NUMBER: _ClassVar[int]
    SVG_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    PHOTO_WIDTH_FIELD_NUMBER: _ClassVar[int]
    PHOTO_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    ITERATIONS_RUN_FIELD_NUMBER: _ClassVar[int]
    strokes: int
    svg: str
    paths: _containers.RepeatedCompositeFieldContainer[Path]
    photo_width: int
    photo_height: int
    loss: float
    seed: int
    schedule: str
    iterations_run: int
    def __init__(self, strokes: _Optional[int] = ..., svg: _Optional[str] = ..., paths: _Optional[_Iterable[_Union[Path, _Mapping]]] = ..., photo_width: _Optional[int] = ..., photo_height: _Optional[int] = ..., loss: _Optional[float] = ..., seed: _Optional[int] = ..., schedule: _Optional[str] = ..., iterations_run: _Optional[int] = ...) -> None: ...

class Done(_message.Message):
    __slots__ = ("seconds", "cached", "finished_early")
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_EARLY_FIELD_NUMBER: _ClassVar[int]
    seconds: float
    cached: bool
    finished_early: bool
    def __init__(self, seconds: _Optional[float] = ..., cached: _Optional[bool] = ..., finished_early: _Optional[bool] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("found",)
    FOUND_FIELD_NUMBER: _ClassVar[int]
    found: bool
    def __init__(self, found: _Optional[bool] = ...) -> None: ...

class FinishRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class FinishResponse(_message.Message):
    __slots__ = ("found",)
    FOUND_FIELD_NUMBER: _ClassVar[int]
    found: bool
    def __init__(self, found: _Optional[bool] = ...) -> None: ...

class GetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("version", "device", "devices", "backbone", "clip_weights_available", "mask_available", "limits", "defaults", "schedules", "workers", "max_batch", "not_ready_reason")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    BACKBONE_FIELD_NUMBER: _ClassVar[int]
    CLIP_WEIGHTS_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    MASK_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    NOT_READY_REASON_FIELD_NUMBER: _ClassVar[int]
    version: str
    device: str
    devices: _containers.RepeatedScalarFieldContainer[str]
    backbone: str
    clip_weights_available: bool
    mask_available: bool
    limits: Limits
    defaults: Defaults
    schedules: _containers.RepeatedScalarFieldContainer[str]
    workers: int
    max_batch: int
    not_ready_reason: str
    def __init__(self, version: _Optional[str] = ..., device: _Optional[str] = ..., devices: _Optional[_Iterable[str]] = ..., backbone: _Optional[str] = ..., clip_weights_available: _Optional[bool] = ..., mask_available: _Optional[bool] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., defaults: _Optional[_Union[Defaults, _Mapping]] = ..., schedules: _Optional[_Iterable[str]] = ..., workers: _Optional[int] = ..., max_batch: _Optional[int] = ..., not_ready_reason: _Optional[str] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_photo_bytes", "max_photo_pixels", "max_strokes", "max_stroke_counts", "max_iterations", "max_seeds", "max_queue")
    MAX_PHOTO_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_PHOTO_PIXELS_FIELD_NUMBER: _ClassVar[int]
    MAX_STROKES_FIELD_NUMBER: _ClassVar[int]
    MAX_STROKE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ITERATIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_SEEDS_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUE_FIELD_NUMBER: _ClassVar[int]
    max_photo_bytes: int
    max_photo_pixels: int
    max_strokes: int
    max_stroke_counts: int
    max_iterations: int
    max_seeds: int
    max_queue: int
    def __init__(self, max_photo_bytes: _Optional[int] = ..., max_photo_pixels: _Optional[int] = ..., max_strokes: _Optional[int] = ..., max_stroke_counts: _Optional[int] = ..., max_iterations: _Optional[int] = ..., max_seeds: _Optional[int] = ..., max_queue: _Optional[int] = ...) -> None: ...

class Defaults(_message.Message):
    __slots__ = ("strokes", "iterations", "seeds", "schedule")
    STROKES_FIELD_NUMBER: _ClassVar[int]
    ITERATIONS_FIELD_NUMBER: _ClassVar[int]
    SEEDS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    strokes: _containers.RepeatedScalarFieldContainer[int]
    iterations: int
    seeds: int
    schedule: str
    def __init__(self, strokes: _Optional[_Iterable[int]] = ..., iterations: _Optional[int] = ..., seeds: _Optional[int] = ..., schedule: _Optional[str] = ...) -> None: ...
