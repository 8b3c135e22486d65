"""Small look-ups the window tests share: widgets by objectName, status and panel texts."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPlainTextEdit


def find(window, cls, name):
    child = window.findChild(cls, name)
    assert child is not None, f"no {cls.__name__} named {name!r}"
    return child


def action(window, name) -> QAction:
    return find(window, QAction, name)


def message(window) -> str:
    return window.statusBar().currentMessage()


def log_text(window) -> str:
    return find(window, QPlainTextEdit, "logPanel").toPlainText()
