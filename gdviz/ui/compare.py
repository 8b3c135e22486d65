"""The Compare menu: pinned runs (P), and the window's other ways of comparing runs.

Kept out of main_window.py: the window builds a `Comparison` and adds its menu; the pins
themselves live in the model (`RunModel.pin_board`) and are drawn by the plots' ghosts.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from gdviz.core.pins import MAX_PINS
from gdviz.ui.run_model import RunModel
from gdviz.ui.widgets import named


class Comparison(QObject):
    """Owns the Compare menu and its actions."""

    def __init__(self, window: QMainWindow, model: RunModel) -> None:
        # No Python reference to the window (it is the Qt parent): a window <-> Comparison
        # cycle leaves a dropped window to the garbage collector, which may run in any
        # thread and crash Qt; without it the window goes when its last reference does.
        super().__init__(window)
        self.model = model
        self.action_pin = self._action(window, "actionPinRun", "Pin this run", Qt.Key.Key_P,
                                       model.pin_run,
                                       f"Keep this run drawn, faded, while you change settings "
                                       f"(up to {MAX_PINS})")
        self.action_clear_pins = self._action(window, "actionClearPins", "Clear pinned runs",
                                              QKeySequence("Shift+P"), model.clear_pins,
                                              "Remove every pinned run")
        self.menu = named(QMenu("&Compare", window), "compareMenu")
        self.menu.setToolTipsVisible(True)
        self.menu.addAction(self.action_pin)
        self.unpin_menu = named(self.menu.addMenu("Unpin"), "unpinMenu")
        self.menu.addAction(self.action_clear_pins)
        model.pins_changed.connect(self._on_model_pins_changed)
        model.run_reset.connect(self._on_model_pins_changed)  # labels name what differs now
        self._on_model_pins_changed()

    @staticmethod
    def _action(window: QMainWindow, name: str, text: str, shortcut: Qt.Key | QKeySequence,
                slot: object, tip: str) -> QAction:
        action = named(QAction(text, window), name)
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({action.shortcut().toString()})")
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        window.addAction(action)  # the shortcut works wherever the focus is
        return action

    @Slot()
    def _on_model_pins_changed(self) -> None:
        pins = self.model.pins
        config = self.model.config
        self.unpin_menu.clear()
        for index, pin in enumerate(pins):
            shown = pin.comparable_with(config)
            text = f"{pin.label(config)} ({pin.config.spec.title}, {pin.epochs} epochs)"
            if not shown:
                text += " — hidden: other parameters or data"
            action = self.unpin_menu.addAction(text)
            action.setData(index)
            action.triggered.connect(self._on_unpin_triggered)
        self.unpin_menu.setEnabled(bool(pins))
        self.action_clear_pins.setEnabled(bool(pins))

    @Slot()
    def _on_unpin_triggered(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.model.unpin(int(action.data()))
