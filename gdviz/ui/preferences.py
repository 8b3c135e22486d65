"""What the window remembers between sessions (QSettings, organization and application "gdviz"):
its geometry and dock layout, the last configuration, the presenter type size, the speed, and
the recently opened session files.

Only `gdviz` itself (`run_app`) reads and writes them: a window built by a test or a script
starts from its arguments, so no test depends on what an earlier one left behind. Floats are
read with float(value): PySide6 6.11's `type=float` returns them at float32 precision.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from gdviz.core.config import RunConfig
from gdviz.core.session_file import SavedSession, SessionError, dumps_session, loads_session

ORGANIZATION = APPLICATION = "gdviz"
MAX_RECENT = 8
PRESENTER_SCALES = (1.3, 1.6, 2.0)
DEFAULT_PRESENTER_SCALE = 1.6


def settings() -> QSettings:
    """The user's settings, an INI file (tests point its folder at a temporary one)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION,
                     APPLICATION)


def save_window(geometry: QByteArray, state: QByteArray) -> None:
    store = settings()
    store.setValue("window/geometry", geometry)
    store.setValue("window/state", state)


def window_geometry() -> QByteArray | None:
    value = settings().value("window/geometry")
    return value if isinstance(value, QByteArray) and not value.isEmpty() else None


def window_state() -> QByteArray | None:
    value = settings().value("window/state")
    return value if isinstance(value, QByteArray) and not value.isEmpty() else None


def forget_layout() -> None:
    """View → Reset layout: the docks go back where gdviz puts them, next time too."""
    store = settings()
    store.remove("window/state")


def save_config(config: RunConfig) -> None:
    """The last configuration, in the session file's checked format (no epochs, no pins)."""
    try:
        text = dumps_session(SavedSession(config))
    except SessionError:
        return  # a configuration that would not read back is not worth remembering
    settings().setValue("run/config", text)


def last_config() -> tuple[RunConfig | None, str]:
    """The configuration of the last session, or None; and why it was not usable, if so."""
    text = settings().value("run/config")
    if not isinstance(text, str) or not text:
        return None, ""
    try:
        return loads_session(text, "the remembered settings").config, ""
    except SessionError as error:
        return None, f"{error}; starting from the notebook's cell instead"


def save_speed(index: int) -> None:
    settings().setValue("run/speed_index", index)


def speed_index(count: int, default: int) -> int:
    try:
        index = int(str(settings().value("run/speed_index", default)))
    except (TypeError, ValueError):
        return default
    return index if 0 <= index < count else default


def presenter_scale() -> float:
    try:
        scale = float(str(settings().value("view/presenter_scale", DEFAULT_PRESENTER_SCALE)))
    except (TypeError, ValueError):
        return DEFAULT_PRESENTER_SCALE
    return scale if 1.0 <= scale <= 3.0 else DEFAULT_PRESENTER_SCALE


def save_presenter_scale(scale: float) -> None:
    settings().setValue("view/presenter_scale", float(scale))


def recent_sessions() -> list[str]:
    value = settings().value("sessions/recent", [])
    if isinstance(value, str):  # QSettings gives a one-item list back as a string
        value = [value]
    if not isinstance(value, list):
        return []
    return [str(path) for path in value if isinstance(path, str) and path][:MAX_RECENT]


def add_recent_session(path: str | Path) -> list[str]:
    text = str(Path(path).resolve())
    recent = [text, *(p for p in recent_sessions() if p != text)][:MAX_RECENT]
    settings().setValue("sessions/recent", recent)
    return recent


def forget_recent_session(path: str) -> list[str]:
    recent = [p for p in recent_sessions() if p != path]
    settings().setValue("sessions/recent", recent)
    return recent
