"""Small helpers shared by the window's views."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QComboBox

Q = TypeVar("Q", bound=QObject)


def named(item: Q, name: str) -> Q:
    """`item` with an objectName: tests and scripts find widgets and actions by that name.

    Passing `objectName=` to the constructor works at run time, but PySide6's type hints list
    only a class's own properties as keywords, so mypy rejects it; this says the same plainly.
    """
    item.setObjectName(name)
    return item


def shrinkable(combo: QComboBox, characters: int = 8) -> QComboBox:
    """A combo box that may be narrower than its longest item (shown elided), so the settings
    column fits a 1024-pixel screen instead of pushing the plots out of it."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
    return combo
