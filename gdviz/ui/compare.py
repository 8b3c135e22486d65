"""The Compare menu: pinned runs (P), a race of optimizers or learning rates (R), the
learning-rate sweep (L).

Kept out of main_window.py: the window builds a `Comparison` and adds its menu; the pins
themselves live in the model (`RunModel.pin_board`) and are drawn by the plots' ghosts.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSize, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

from gdviz.core.config import ConfigError
from gdviz.core.pins import MAX_PINS
from gdviz.core.race import ENTRY_TITLES, OPTIMIZER_RACE, lane_specs, lead_label
from gdviz.ui.run_model import RunModel
from gdviz.ui.sweep_panel import SweepPanel
from gdviz.ui.widgets import named

SWEEP_ROOM = QSize(900, 720)  # the sweep's plots need about this much to be read


class Comparison(QObject):
    """Owns the Compare menu and its actions."""

    def __init__(self, window: QMainWindow, model: RunModel, sweep_dock: QDockWidget,
                 sweep_panel: SweepPanel) -> None:
        # No Python reference to the window (it is the Qt parent): a window <-> Comparison
        # cycle leaves a dropped window to the garbage collector, which may run in any
        # thread and crash Qt; without it the window goes when its last reference does.
        super().__init__(window)
        self.model = model
        self.sweep_dock = sweep_dock
        self.sweep_panel = sweep_panel
        sweep_panel.lr_chosen.connect(self._on_sweep_panel_lr_chosen)
        self.action_pin = self._action(window, "actionPinRun", "Pin this run", Qt.Key.Key_P,
                                       model.pin_run,
                                       f"Keep this run drawn, faded, while you change settings "
                                       f"(up to {MAX_PINS})")
        self.action_clear_pins = self._action(window, "actionClearPins", "Clear pinned runs",
                                              QKeySequence("Shift+P"), model.clear_pins,
                                              "Remove every pinned run")
        self.action_race = self._action(window, "actionRace", "Race", Qt.Key.Key_R,
                                        self._on_race_triggered,
                                        "Train the checked optimizers (or learning rates) "
                                        "beside this run, from the same start")
        self.action_race.setCheckable(True)
        self.action_sweep = self._action(window, "actionSweep", "Learning-rate sweep",
                                         Qt.Key.Key_L, self._on_sweep_triggered,
                                         "Final loss against the learning rate, the cliff "
                                         "where runs diverge marked; click a point to use it")
        self.menu = named(QMenu("&Compare", window), "compareMenu")
        self.menu.setToolTipsVisible(True)
        self.menu.addAction(self.action_pin)
        self.unpin_menu = named(self.menu.addMenu("Unpin"), "unpinMenu")
        self.menu.addAction(self.action_clear_pins)
        self.menu.addSeparator()
        self.menu.addAction(self.action_race)
        self.race_menu = named(self.menu.addMenu("Race entries"), "raceMenu")
        self.race_menu.setToolTipsVisible(True)
        self.race_entry_actions: dict[str, QAction] = {}
        for entry, title in ENTRY_TITLES.items():
            if entry == "lr×0.25":
                self.race_menu.addSeparator()
            entry_action = self.race_menu.addAction(title)
            entry_action.setCheckable(True)
            entry_action.setChecked(entry in OPTIMIZER_RACE)
            entry_action.setData(entry)
            entry_action.toggled.connect(self._on_race_entry_toggled)
            self.race_entry_actions[entry] = entry_action
        self.menu.addSeparator()
        self.menu.addAction(self.action_sweep)
        model.pins_changed.connect(self._on_model_pins_changed)
        model.run_reset.connect(self._on_model_pins_changed)  # labels name what differs now
        model.run_reset.connect(self._on_model_run_reset)
        self._on_model_pins_changed()
        self._on_model_run_reset()

    # --- race ------------------------------------------------------------------------------------

    def race_entries(self) -> tuple[str, ...]:
        return tuple(entry for entry, entry_action in self.race_entry_actions.items()
                     if entry_action.isChecked())

    @Slot()
    def _on_race_triggered(self) -> None:
        config = self.model.config
        if config.race:
            self.model.set_config(config.replace(race=()), "race ended")
            return
        entries = self.race_entries()
        if not entries:
            self.model.message.emit("Nothing to race: check some entries in Compare → Race "
                                    "entries")
            self._on_model_run_reset()
            return
        self._race(entries)

    @Slot()
    def _on_race_entry_toggled(self) -> None:
        if self.model.config.race:  # racing: the new set of lanes starts again
            entries = self.race_entries()
            if entries:
                self._race(entries)
            else:
                self.model.set_config(self.model.config.replace(race=()), "race ended")

    def _race(self, entries: tuple[str, ...]) -> None:
        try:
            config = self.model.config.replace(race=entries)
        except ConfigError as error:
            self.model.message.emit(f"No race: {error.ui_text}")
            self._on_model_run_reset()
            return
        lanes = lane_specs(config)
        if not lanes:
            self.model.message.emit("No race: every checked entry trains exactly as this run")
            self._on_model_run_reset()
            return
        names = ", ".join([lead_label(config), *(lane.label for lane in lanes)])
        self.model.set_config(config, f"race of {names}")

    @Slot()
    def _on_model_run_reset(self) -> None:
        racing = bool(self.model.config.race)
        self.action_race.blockSignals(True)
        self.action_race.setChecked(racing)  # checked while racing; R again ends it
        self.action_race.blockSignals(False)

    # --- sweep -----------------------------------------------------------------------------------

    @Slot()
    def _on_sweep_triggered(self) -> None:
        dock = self.sweep_dock
        dock.show()
        if not dock.isFloating():
            dock.raise_()  # its tab in front
            if dock.height() < SWEEP_ROOM.height():
                # Two plots and their controls want room: in a window of their own then (the
                # user may dock it back).
                dock.setFloating(True)
                _center_on_screen(dock, SWEEP_ROOM)
        if not self.sweep_panel.has_current_result() and not self.sweep_panel.is_running():
            self.sweep_panel.start()

    @Slot(float)
    def _on_sweep_panel_lr_chosen(self, lr: float) -> None:
        lr = float(f"{lr:.3g}")  # a point on a log axis: 0.0195, not 0.0195157
        config = self.model.config
        try:
            new = config.replace(lr=lr)
        except ConfigError as error:
            self.model.message.emit(f"Learning rate not set: {error.ui_text}")
            return
        self.model.set_config(new, f"learning rate {lr:g} chosen on the sweep")

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


def _center_on_screen(window: QWidget, size: QSize) -> None:
    """`window` at `size` (or what its screen holds), in the middle of its screen."""
    screen = window.screen()
    if screen is None:
        window.resize(size)
        return
    room = screen.availableGeometry()
    width, height = min(size.width(), room.width()), min(size.height(), room.height())
    window.setGeometry(room.x() + (room.width() - width) // 2,
                       room.y() + (room.height() - height) // 2, width, height)
