"""What the lecture views (code panel, graph view) read of the window's model.

RunModel has it all; a test may hand a view a SimpleNamespace with the same attributes.
"""

from __future__ import annotations

from typing import Protocol

from gdviz.core.config import RunConfig
from gdviz.core.history import History
from gdviz.core.phases import Phase


class LectureSession(Protocol):
    @property
    def lesson_error(self) -> str | None: ...


class LectureModel(Protocol):
    @property
    def config(self) -> RunConfig: ...
    @property
    def history(self) -> History | None: ...
    @property
    def cursor(self) -> int: ...
    @property
    def phase(self) -> Phase | None: ...
    @property
    def session(self) -> LectureSession: ...
