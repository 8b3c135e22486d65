"""The main window: controls on the left, four live plots in the middle, the step written out
and the notebook's log on the right, transport controls and a timeline on top."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QGridLayout,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.config import ConfigError, RunConfig, build_config, describe_change
from gdviz.core.resources import resource_path
from gdviz.ui.controls import DEFAULT_SPEED_INDEX, SPEEDS, ControlsPanel
from gdviz.ui.data_editor import DatasetEditor
from gdviz.ui.formatting import number
from gdviz.ui.log_panel import LogPanel
from gdviz.ui.plots import FitPlot, LossPlot, SurfacePlot, WeightsPlot
from gdviz.ui.run_model import RunModel
from gdviz.ui.screen import epoch_texts, fit_to_screen, fix_width_for
from gdviz.ui.step_panel import StepPanel
from gdviz.ui.style import bold, configure_pyqtgraph
from gdviz.ui.widgets import named

STEP_PANEL_PLAYING_S = 0.2
PAINT_SETTLE_MS = 6  # longer than Qt's 5 ms update-request interval
STATE_TEXT = {"loading": "loading…", "ready": "ready", "playing": "playing", "paused": "paused",
              "finished": "finished", "diverged": "diverged", "failed": "failed"}


def icon(name: str) -> QIcon:
    return QIcon(str(resource_path("icons", f"{name}.svg")))


class MainWindow(QMainWindow):
    def __init__(self, config: RunConfig | None = None) -> None:
        super().__init__()
        configure_pyqtgraph()
        config = config or build_config("numpy")
        self.model = RunModel(config, self)
        self.setWindowIcon(icon("gdviz"))
        fit_to_screen(self)  # within the screen it opens on, e.g. a 1280×720 projector

        self._make_actions()
        self._make_toolbar()
        self._make_side_panels(config)
        self._make_central()
        self._make_status_bar()
        self._make_menus()

        self._step_panel_time = 0.0
        self.model.view_reports_paint = True  # see event()
        self._frame_pending = False
        self._paint_settled_timer = QTimer(self, singleShot=True, interval=PAINT_SETTLE_MS)
        self._paint_settled_timer.timeout.connect(self._on_paint_settled_timer_timeout)
        self.model.run_reset.connect(self._on_model_run_reset)
        self.model.updated.connect(self._on_model_updated)
        self.model.state_changed.connect(self._on_model_state_changed)
        self.model.message.connect(self._on_model_message)
        self._on_model_run_reset()
        self._on_model_state_changed(self.model.state)
        self._on_model_message(self.model.session.message)  # said before we listened
        self._return_focus_after_editing()

    # --- construction ----------------------------------------------------------------------------

    def _action(self, name: str, text: str, icon_name: str | None,
                shortcut: str | QKeySequence | QKeySequence.StandardKey | Qt.Key,
                slot: object, tip: str) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if icon_name:
            action.setIcon(icon(icon_name))
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})")
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work wherever the focus is in the window
        return action

    def _make_actions(self) -> None:
        model = self.model
        self.action_play = self._action("actionPlay", "Play", "play", Qt.Key.Key_Space,
                                        self._on_play_triggered, "Play / pause")
        self.action_play.setCheckable(True)
        self.action_step = self._action("actionStep", "Step", "step", Qt.Key.Key_Right,
                                        model.step, "One epoch forward")
        self.action_step_back = self._action("actionStepBack", "Step back", "step-back",
                                             Qt.Key.Key_Left, model.step_back, "One epoch back")
        self.action_reset = self._action("actionReset", "Reset", "reset", Qt.Key.Key_Home,
                                         model.reset, "Back to epoch 0")
        self.action_run_to_end = self._action("actionRunToEnd", "Run to end", "run-to-end",
                                              Qt.Key.Key_End, model.run_to_end,
                                              "Train to the epoch limit")
        self.action_quit = self._action("actionQuit", "Quit", None, QKeySequence.StandardKey.Quit,
                                        self.close, "Quit")
        self.action_quit.setShortcut(QKeySequence("Ctrl+Q"))
        self.action_import = named(QAction("Import CSV…", self), "actionImportCsv")

    def _make_toolbar(self) -> None:
        bar = self.addToolBar("Transport")
        bar.setObjectName("transportToolBar")
        bar.setMovable(False)
        bar.setIconSize(bar.iconSize() * 1.6)
        for action in (self.action_reset, self.action_step_back, self.action_play,
                       self.action_step, self.action_run_to_end):
            bar.addAction(action)
        bar.addSeparator()
        self.speed_combo = named(QComboBox(), "speedCombo")
        for text, speed in SPEEDS:
            self.speed_combo.addItem(text, speed)
        self.speed_combo.setCurrentIndex(DEFAULT_SPEED_INDEX)
        self.speed_combo.setToolTip("Playing speed")
        self.speed_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed_combo.currentIndexChanged.connect(self._on_speed_combo_changed)
        self.model.set_speed(self.speed_combo.currentData())
        bar.addWidget(self.speed_combo)
        bar.addSeparator()
        self.timeline_slider = named(QSlider(Qt.Orientation.Horizontal), "timelineSlider")
        self.timeline_slider.setMinimumWidth(160)
        self.timeline_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrows belong to stepping
        # It spans the whole run (0 … epochs), so 3 of 10 looks like 3 of 10; seeking beyond
        # the recorded epochs stops at the newest one (RunModel.seek clamps).
        self.timeline_slider.setToolTip("Move through the epochs trained so far")
        self.timeline_slider.valueChanged.connect(self._on_timeline_slider_changed)
        bar.addWidget(self.timeline_slider)
        self.epoch_label = named(QLabel(), "epochLabel")
        self.epoch_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.epoch_label.setFont(bold(16))
        bar.addWidget(self.epoch_label)
        self._epoch_label_limit = -1  # the epoch limit the label's fixed width was made for

    def _make_side_panels(self, config: RunConfig) -> None:
        self.controls = ControlsPanel(config)
        self.controls.config_edited.connect(self._on_controls_config_edited)
        self.controls.invalid.connect(self._on_model_message)
        self.data_editor = DatasetEditor()
        self.data_editor.data_edited.connect(self._on_data_editor_data_edited)
        self.data_editor.preset_chosen.connect(self.apply_preset)
        self.data_editor.invalid.connect(self._on_model_message)
        self.data_editor.notice.connect(self._on_model_message)
        self.action_import.triggered.connect(self.data_editor.import_button.click)
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.addWidget(self.controls)
        layout.addWidget(self.data_editor, stretch=1)
        scroll = QScrollArea()
        scroll.setWidget(column)
        scroll.setWidgetResizable(True)
        # As wide as the settings need, so they never scroll sideways (the widest row decides).
        scroll.setMinimumWidth(column.minimumSizeHint().width()
                               + scroll.verticalScrollBar().sizeHint().width() + 4)
        dock = named(QDockWidget("Settings", self), "settingsDock")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        dock.setWidget(scroll)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.settings_dock = dock

    def _make_central(self) -> None:
        model = self.model
        self.surface_plot = SurfacePlot(model)
        self.loss_plot = LossPlot(model)
        self.weights_plot = WeightsPlot(model)
        self.fit_plot = FitPlot(model)
        plots = named(QWidget(), "plotsArea")
        grid = QGridLayout(plots)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.addWidget(self.surface_plot, 0, 0)
        grid.addWidget(self.loss_plot, 0, 1)
        grid.addWidget(self.weights_plot, 1, 0)
        grid.addWidget(self.fit_plot, 1, 1)
        for plot in (self.surface_plot, self.loss_plot, self.weights_plot, self.fit_plot):
            plot.setMinimumSize(160, 170)  # small enough for a 1024×768 screen, settings shown
        plots.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.plots_area = plots

        self.step_panel = StepPanel(model)
        self.log_panel = LogPanel(model)
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.step_panel)
        side.addWidget(self.log_panel)
        side.setSizes([560, 300])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(plots)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        # The step and log lines are about 40 characters: give them that where there is room.
        room = self.width() - self.settings_dock.sizeHint().width()
        side_width = min(460, max(300, room // 3))
        splitter.setSizes([max(400, room - side_width), side_width])
        self.setCentralWidget(splitter)

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        # No trainer label: the title and the trainer box say it, and a 1280 px status bar
        # needs the room for its messages.
        self.status_labels = {name: named(QLabel(), f"status{name.title()}Label")
                              for name in ("epoch", "loss", "params", "state")}
        for label in self.status_labels.values():
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)
        self.status_labels["state"].setFont(bold(QApplication.font().pointSize()))

    def _size_status_labels(self, param_names: tuple[str, ...]) -> None:
        """Room for the widest numbers a run can show, so a growing number is never clipped
        (a diverging w = −3.355e+07 once read as −3.355e+0 until the next relayout)."""
        labels = self.status_labels
        metrics = labels["loss"].fontMetrics()
        margins = 20
        labels["loss"].setMinimumWidth(metrics.horizontalAdvance("loss −8.88888e+308") + margins)
        widest = "  ".join(f"{name} = −8.888e+308" for name in param_names)
        labels["params"].setMinimumWidth(metrics.horizontalAdvance(widest) + margins)

    def _make_menus(self) -> None:
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.action_import)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        run_menu = menus.addMenu("&Run")
        for action in (self.action_play, self.action_step, self.action_step_back,
                       self.action_reset, self.action_run_to_end):
            run_menu.addAction(action)
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.settings_dock.toggleViewAction())
        log_action = named(QAction("Log-scale loss", self, checkable=True), "actionLogScale")
        log_action.toggled.connect(self.loss_plot.log_check.setChecked)
        self.loss_plot.log_check.toggled.connect(log_action.setChecked)
        view_menu.addAction(log_action)

    # --- user actions ----------------------------------------------------------------------------

    def _return_focus_after_editing(self) -> None:
        """Enter or Esc in a field hands the keys back to the run (Space, arrows, End)."""
        for spin in self.findChildren(QAbstractSpinBox):
            spin.installEventFilter(self)
        for combo in (self.controls.trainer_combo, self.controls.gradient_combo):
            combo.activated.connect(self._on_field_done)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if event.type() == QEvent.Type.KeyPress and isinstance(watched, QAbstractSpinBox):
            key = event.key()  # type: ignore[attr-defined]
            if key == Qt.Key.Key_Escape:
                watched.setValue(watched.value())  # type: ignore[attr-defined]  # drop the typing
                self._on_field_done()
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                QTimer.singleShot(0, self._on_field_done)  # after the field has applied it
        return super().eventFilter(watched, event)

    @Slot()
    def _on_field_done(self) -> None:
        self.plots_area.setFocus()

    def showEvent(self, event) -> None:  # Qt override
        super().showEvent(event)
        self.plots_area.setFocus()  # so Space and the arrows drive the run from the start
        # After the first paint; the model as context cancels it if the window is dropped.
        QTimer.singleShot(0, self.model, self.model.start_preload_watch)

    def event(self, event: QEvent) -> bool:  # Qt override
        handled = super().event(event)
        # UpdateRequest is where Qt paints every dirty widget of the window: once it is done,
        # the training thread may take the GIL again without slowing the paint.
        if event.type() == QEvent.Type.UpdateRequest and self._frame_pending:
            # pyqtgraph views repaint in several passes a few ms apart (scene updates, then
            # downsampling for the new range): the frame is done once painting has gone quiet.
            self._paint_settled_timer.start()
        return handled

    @Slot()
    def _on_paint_settled_timer_timeout(self) -> None:
        self._frame_pending = False
        self.model.frame_painted()

    @Slot()
    def _on_play_triggered(self) -> None:
        self.model.toggle_play()
        self._on_model_state_changed(str(self.model.state))

    @Slot(int)
    def _on_speed_combo_changed(self, _index: int) -> None:
        self.model.set_speed(self.speed_combo.currentData())

    @Slot(int)
    def _on_timeline_slider_changed(self, value: int) -> None:
        if value != self.model.cursor:
            self.model.seek(value)

    @Slot(object)
    def _on_controls_config_edited(self, config: RunConfig) -> None:
        self.model.set_config(config, describe_change(self.model.config, config))

    @Slot(tuple, tuple)
    def _on_data_editor_data_edited(self, x: tuple[float, ...], y: tuple[float, ...]) -> None:
        try:
            config = self.model.config.replace(x=x, y=y)
        except ConfigError as error:
            self._on_model_message(f"{error.ui_text}; the run keeps the last valid data")
            return
        self.model.set_config(config, describe_change(self.model.config, config))

    @Slot(str)
    def apply_preset(self, name: str) -> None:
        try:
            config = build_config(preset_name=name)
        except ConfigError as error:
            self._on_model_message(error.ui_text)
            return
        self.model.set_config(config, f"preset {name}")

    # --- from the model --------------------------------------------------------------------------

    @Slot()
    def _on_model_run_reset(self) -> None:
        config = self.model.config
        self.setWindowTitle(f"gdviz — {config.spec.title}")
        self.controls.set_config(config, self.model.critical_lr(), self.model.session.contraction())
        self.data_editor.set_min_points(config.spec.min_points)
        self.data_editor.set_points(config.x, config.y)
        self._size_status_labels(config.param_names)
        self.surface_plot.rebuild()
        self.loss_plot.rebuild()
        self.weights_plot.rebuild()
        self.fit_plot.rebuild()
        self.log_panel.rebuild()
        self._on_model_updated()

    @Slot()
    def _on_model_updated(self) -> None:
        model = self.model
        self.surface_plot.refresh()
        self.loss_plot.refresh()
        self.weights_plot.refresh()
        self.fit_plot.refresh()
        # While training plays, the step panel (text laid out to fit, ~4 ms) is written a few
        # times a second: no one reads it at 60 frames a second, and those milliseconds are
        # the window's share of the GIL. Any other update, the last one of a run included,
        # writes it at once.
        now = time.perf_counter()
        if model.state != "playing" or now - self._step_panel_time >= STEP_PANEL_PLAYING_S:
            self._step_panel_time = now
            self.step_panel.refresh()
        self.log_panel.refresh()
        limit = model.config.epochs
        slider = self.timeline_slider
        slider.blockSignals(True)
        slider.setRange(0, limit)
        slider.setValue(model.cursor)
        slider.blockSignals(False)
        if limit != self._epoch_label_limit:  # a fixed width: the slider must not jump
            self._epoch_label_limit = limit
            fix_width_for(self.epoch_label, *epoch_texts(limit))
        self.epoch_label.setText(f"Epoch {model.cursor} / {limit}")
        self._update_status()
        if self.isVisible() and not self.isMinimized():
            self._frame_pending = True  # acknowledged in event() once painted
        else:
            model.frame_painted()  # nothing will be painted: do not hold training back

    @Slot(str)
    def _on_model_state_changed(self, state: str) -> None:
        playing = self.model.session.is_playing  # also a play waiting for the trainer
        self.action_play.blockSignals(True)
        self.action_play.setChecked(playing)
        self.action_play.setIcon(icon("pause" if playing else "play"))
        self.action_play.setText("Pause" if playing else "Play")
        self.action_play.blockSignals(False)
        self._update_status()

    @Slot(str)
    def _on_model_message(self, text: str) -> None:
        if text:
            lasting = any(word in text for word in ("iverge", "failed", "Loading"))
            self.statusBar().showMessage(text, 0 if lasting else 8000)
            self.statusBar().setToolTip(text)  # the whole message, where the bar cuts it
        else:
            self.statusBar().clearMessage()

    def _update_status(self) -> None:
        model = self.model
        labels = self.status_labels
        labels["epoch"].setText(f"epoch {model.cursor} / {model.config.epochs}")
        history = model.history
        # The plots' convention: epoch k is the state after k updates, so is its loss.
        loss = model.session.loss_after(model.cursor)
        labels["loss"].setText(f"loss {loss:.6g}" if math.isfinite(loss) else "loss –")
        labels["loss"].setToolTip("the loss at the parameters shown, after this epoch's update")
        if history is not None:
            params = history.params_at(model.cursor)
            labels["params"].setText("  ".join(
                f"{name} = {number(value)}"
                for name, value in zip(history.param_names, params, strict=True)))
        pending = model.session.pending
        waiting = f" (then {pending.describe()})" if pending is not None else ""
        labels["state"].setText(STATE_TEXT[str(model.state)] + waiting)
        color = {"diverged": "#D55E00", "failed": "#D55E00", "playing": "#009E73",
                 "finished": "#0072B2"}
        labels["state"].setStyleSheet(f"color: {color.get(str(model.state), '#222222')}")

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        self.model.shutdown()
        super().closeEvent(event)
