"""The main window: four live plots in the middle; around them, in docks the user can move,
the settings, the notebook's code, the step written out, the autograd graph, the per-sample
contributions, the gradient check and the log; transport controls and a timeline on top.
Lecture mode: Down/PageDown and Up/PageUp walk one phase of an epoch; F5 presents."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QGridLayout,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.config import ConfigError, RunConfig, build_config, describe_change
from gdviz.core.explain import run_title
from gdviz.core.phases import Phase, phase_title
from gdviz.core.resources import resource_path
from gdviz.ui import preferences
from gdviz.ui.code_panel import CodePanel
from gdviz.ui.compare import Comparison
from gdviz.ui.controls import DEFAULT_SPEED_INDEX, SPEEDS, ControlsPanel
from gdviz.ui.data_editor import DatasetEditor
from gdviz.ui.export_menu import ExportActions
from gdviz.ui.files import SessionFiles
from gdviz.ui.formatting import number
from gdviz.ui.garbage import collect_in_gui_thread
from gdviz.ui.gradcheck_panel import GradCheckPanel
from gdviz.ui.graph_view import GraphView
from gdviz.ui.held_note import HeldNote
from gdviz.ui.layout import (
    Docks,
    SavedLayout,
    arrange,
    arrange_presenter,
    is_compact,
    make_dock,
    whole_tab_titles,
)
from gdviz.ui.log_panel import LogPanel
from gdviz.ui.plots import ContributionsPlot, FitPlot, LossPlot, SurfacePlot, WeightsPlot
from gdviz.ui.run_model import RunModel
from gdviz.ui.screen import epoch_texts, fit_to_screen, fix_size_for
from gdviz.ui.step_panel import StepPanel
from gdviz.ui.style import bold, configure_pyqtgraph, flatten_scroll_bars, flatten_slider
from gdviz.ui.surface3d import Surface3DView
from gdviz.ui.sweep_panel import SweepPanel
from gdviz.ui.widgets import named

STEP_PANEL_PLAYING_S = 0.2
# Keys a focused settings field keeps for itself rather than the run's shortcuts. Not PageUp /
# PageDown: a presentation clicker sends them, and in a field they changed the learning rate
# ten steps at a time, restarting the lecture's run.
FIELD_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down)
PAINT_SETTLE_MS = 6  # longer than Qt's 5 ms update-request interval
STATE_TEXT = {"loading": "loading…", "ready": "ready", "playing": "playing", "paused": "paused",
              "finished": "finished", "diverged": "diverged", "failed": "failed"}


def phase_text(phase: Phase | None, gradient_word: str) -> str:
    """The toolbar's word for what is shown: a phase, or whole epochs."""
    if phase is None:
        return "whole epochs (↓ sub-steps)"
    return f"▶ {phase_title(phase, gradient_word)}"


def scrolled(panel: QWidget) -> QScrollArea:
    """`panel` in a scroll area: a dock of two plots and their controls would otherwise hold
    the window taller than a 1024×768 screen."""
    scroll = QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    return scroll


def icon(name: str) -> QIcon:
    return QIcon(str(resource_path("icons", f"{name}.svg")))


class MainWindow(QMainWindow):
    def __init__(self, config: RunConfig | None = None, remember: bool = False) -> None:
        """`remember`: restore and save what the user left (geometry, docks, speed, presenter
        type size, recent sessions; see preferences.py). Only `gdviz` itself asks for it."""
        super().__init__()
        collect_in_gui_thread()  # before the training thread runs: never in that thread
        self._remember = remember
        self._presenter_scale = (preferences.presenter_scale() if remember
                                 else preferences.DEFAULT_PRESENTER_SCALE)
        configure_pyqtgraph()
        config = config or build_config("numpy")
        self.model = RunModel(config, self)
        self.setWindowIcon(icon("gdviz"))
        fit_to_screen(self)  # within the screen it opens on, e.g. a 1280×720 projector

        self._make_actions()
        self._make_toolbar()
        self._make_side_panels(config)
        self._make_central()
        self._make_docks()
        self._make_status_bar()
        self.comparison = Comparison(self, self.model, self.docks.sweep, self.sweep_panel)
        self.files = SessionFiles(self, self.model, remember, self.loss_plot.log_check,
                                  self.data_editor)
        self.exports = ExportActions(self, self.model)
        self.setAcceptDrops(True)  # a session or a CSV dropped on the window opens
        self._make_menus()
        flatten_scroll_bars(self)
        flatten_slider(self.timeline_slider)
        if remember:
            self._restore_window()

        self._step_panel_time = 0.0
        self._presenting: SavedLayout | None = None
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
                slot: object, tip: str, *more_shortcuts: Qt.Key) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if icon_name:
            action.setIcon(icon(icon_name))
        keys = [QKeySequence(shortcut), *(QKeySequence(k) for k in more_shortcuts)]
        action.setShortcuts(keys)
        names = " or ".join(k.toString() for k in keys)
        action.setToolTip(f"{tip} ({names})")
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
                                         self._on_reset_triggered,
                                         "Back to epoch 0, lessons off")
        # Lecture mode: one phase of the epoch at a time; a presentation clicker sends
        # PageDown / PageUp.
        self.action_sub_step = self._action(
            "actionSubStep", "Sub-step", None, Qt.Key.Key_Down, model.sub_step,
            "One phase on: forward, loss, backward, update, zero_grad", Qt.Key.Key_PageDown)
        self.action_sub_step_back = self._action(
            "actionSubStepBack", "Sub-step back", None, Qt.Key.Key_Up, model.sub_step_back,
            "One phase back", Qt.Key.Key_PageUp)
        self.action_presenter = self._action("actionPresenter", "Presenter mode", None,
                                             Qt.Key.Key_F5, self._on_presenter_triggered,
                                             "Full screen, large type (Esc leaves)")
        self.action_presenter.setCheckable(True)
        self.action_leave_presenter = self._action(
            "actionLeavePresenter", "Leave presenter mode", None, Qt.Key.Key_Escape,
            self.leave_presenter, "Leave presenter mode")
        self.action_leave_presenter.setEnabled(False)
        self.action_forget_zero_grad = self._lesson_action(
            "actionForgetZeroGrad", "Forget zero_grad", "forget_zero_grad",
            "Leave out w.grad.zero_() / optimizer.zero_grad(): gradients accumulate")
        self.action_update_with_grad = self._lesson_action(
            "actionUpdateWithGrad", "Update without no_grad", "update_with_grad",
            "Update w outside torch.no_grad(): torch raises its RuntimeError")
        self.action_run_to_end = self._action("actionRunToEnd", "Run to end", "run-to-end",
                                              Qt.Key.Key_End, model.run_to_end,
                                              "Train to the epoch limit")
        self.action_quit = self._action("actionQuit", "Quit", None, QKeySequence.StandardKey.Quit,
                                        self.close, "Quit")
        self.action_quit.setShortcut(QKeySequence("Ctrl+Q"))
        self.action_import = named(QAction("Import CSV…", self), "actionImportCsv")

    def _lesson_action(self, name: str, text: str, lesson: str, tip: str) -> QAction:
        action = named(QAction(text, self, checkable=True), name)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setData(lesson)
        action.toggled.connect(self._on_lesson_toggled)
        return action

    def _make_toolbar(self) -> None:
        bar = self.addToolBar("Transport")
        bar.setObjectName("transportToolBar")
        bar.setMovable(False)
        bar.setIconSize(bar.iconSize() * 1.6)
        for action in (self.action_reset, self.action_step_back, self.action_play,
                       self.action_step, self.action_run_to_end):
            bar.addAction(action)
        bar.addSeparator()
        self.phase_label = named(QLabel(), "phaseLabel")
        self._phase_texts: list[str] = []
        self.phase_label.setToolTip("The phase of the epoch shown (↓ / ↑ walk the phases)")
        bar.addWidget(self.phase_label)
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
        self.settings_dock = make_dock(self, "Settings", "settingsDock", scroll)

    def _make_central(self) -> None:
        model = self.model
        self.surface_plot = SurfacePlot(model)
        self.loss_plot = LossPlot(model)
        self.weights_plot = WeightsPlot(model)
        self.fit_plot = FitPlot(model)
        plots = named(QWidget(), "plotsArea")
        grid = QGridLayout(plots)
        grid.setContentsMargins(2, 2, 2, 2)
        for plot in (self.surface_plot, self.loss_plot, self.weights_plot, self.fit_plot):
            plot.setMinimumSize(160, 170)  # small enough for a 1024×768 screen, settings shown
        plots.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.plots_area = plots

        self.plots_grid = grid
        self._place_plots(presenting=False)
        self.setCentralWidget(plots)

    def _make_docks(self) -> None:
        model = self.model
        self.step_panel = StepPanel(model)
        self.log_panel = LogPanel(model)
        self.code_panel = CodePanel(model)
        self.graph_view = GraphView(model)
        self.gradcheck_panel = GradCheckPanel(model)
        self.contributions_plot = ContributionsPlot(model)
        # While a run plays, the lecture views keep the epoch they showed: each says so.
        self.held_notes = [HeldNote(view) for view in (
            self.code_panel, self.graph_view, self.gradcheck_panel, self.contributions_plot)]
        self.surface3d_view = Surface3DView(model)
        self.sweep_panel = SweepPanel(model.config)
        self.docks = Docks(
            settings=self.settings_dock,
            code=make_dock(self, "Code", "codeDock", self.code_panel),
            step=make_dock(self, "Step", "stepDock", self.step_panel),
            gradcheck=make_dock(self, "Gradient check", "gradCheckDock", self.gradcheck_panel),
            log=make_dock(self, "Log", "logDock", self.log_panel),
            graph=make_dock(self, "Autograd graph", "graphDock", self.graph_view),
            contributions=make_dock(self, "Per-sample gradient", "contributionsDock",
                                    self.contributions_plot),
            surface3d=make_dock(self, "3-D surface", "surface3dDock", self.surface3d_view),
            sweep=make_dock(self, "Learning-rate sweep", "sweepDock", scrolled(self.sweep_panel)),
        )
        screen = self.screen()
        room = screen.availableGeometry().size() if screen is not None else self.size()
        arrange(self, self.docks, is_compact(room))

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
        fix_size_for(labels["loss"], "loss −8.88888e+308")
        fix_size_for(labels["params"], "  ".join(f"{name} = −8.888e+308" for name in param_names))
        fix_size_for(labels["epoch"], *(f"epoch {text[6:].lower()}"
                                         for text in epoch_texts(self.model.config.epochs)))
        fix_size_for(labels["state"], *(f"{text} (then run to the end)"
                                        for text in STATE_TEXT.values()))

    def _make_menus(self) -> None:
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.files.action_open)
        file_menu.addMenu(self.files.recent_menu)
        file_menu.addAction(self.files.action_save)
        file_menu.addSeparator()
        self.exports.add_to(file_menu)
        file_menu.addAction(self.files.action_export_trace)
        file_menu.addSeparator()
        file_menu.addAction(self.action_import)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        run_menu = menus.addMenu("&Run")
        for action in (self.action_play, self.action_step, self.action_step_back,
                       self.action_sub_step, self.action_sub_step_back, self.action_reset,
                       self.action_run_to_end):
            run_menu.addAction(action)
        lessons_menu = menus.addMenu("&Lessons")
        lessons_menu.setObjectName("lessonsMenu")
        lessons_menu.setToolTipsVisible(True)
        lessons_menu.addAction(self.action_forget_zero_grad)
        lessons_menu.addAction(self.action_update_with_grad)
        menus.addMenu(self.comparison.menu)
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.action_presenter)
        sizes = named(view_menu.addMenu("Presenter type size"), "presenterSizeMenu")
        for scale in preferences.PRESENTER_SCALES:
            size_action = sizes.addAction(f"{scale:g}×")
            size_action.setCheckable(True)
            size_action.setChecked(scale == self._presenter_scale)
            size_action.setData(scale)
            size_action.triggered.connect(self._on_presenter_size_triggered)
        self._presenter_sizes = sizes
        reset_layout = named(QAction("Reset layout", self), "actionResetLayout")
        reset_layout.setToolTip("Every panel back where gdviz puts it")
        reset_layout.triggered.connect(self._on_reset_layout_triggered)
        view_menu.addAction(reset_layout)
        view_menu.addSeparator()
        for dock in self.docks.all():
            view_menu.addAction(dock.toggleViewAction())
        log_action = named(QAction("Log-scale loss", self, checkable=True), "actionLogScale")
        log_action.toggled.connect(self.loss_plot.log_check.setChecked)
        self.loss_plot.log_check.toggled.connect(log_action.setChecked)
        view_menu.addAction(log_action)

    # --- user actions ----------------------------------------------------------------------------

    def _return_focus_after_editing(self) -> None:
        """Enter or Esc in a field hands the keys back to the run (Space, arrows, End)."""
        for spin in self.findChildren(QAbstractSpinBox):
            spin.installEventFilter(self)
        for combo in (self.controls.trainer_combo, self.controls.gradient_combo,
                      self.controls.optimizer_combo):
            combo.activated.connect(self._on_field_done)
        # Up/Down belong to a focused field (a spin box, the data table or its
        # cell editor, created later): watch whatever takes the focus in the settings.
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_app_focus_changed)

    @Slot(QWidget, QWidget)
    def _on_app_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and self.settings_dock.isAncestorOf(new):
            new.removeEventFilter(self)  # installed once, however often it takes the focus
            new.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if (event.type() == QEvent.Type.ShortcutOverride
                and event.key() in FIELD_KEYS  # type: ignore[attr-defined]
                and isinstance(watched, QWidget) and self.settings_dock.isAncestorOf(watched)):
            event.accept()  # the field moves or edits; the sub-step shortcuts stay quiet
            return True
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
    def _on_reset_triggered(self) -> None:
        """Home: back to epoch 0, and the lessons off (the notebook's own cell again)."""
        config = self.model.config
        if config.forget_zero_grad or config.update_with_grad:
            self.model.set_config(config.replace(forget_zero_grad=False, update_with_grad=False),
                                  "lessons off")
        else:
            self.model.reset()

    @Slot(bool)
    def _on_lesson_toggled(self, checked: bool) -> None:
        action = self.sender()
        if not isinstance(action, QAction):
            return
        lesson = str(action.data())
        config = self.model.config
        if getattr(config, lesson) == checked:
            return
        try:
            new = config.replace(**{lesson: checked})
        except ConfigError as error:
            self._on_model_message(error.ui_text)
            self._sync_lessons()
            return
        self.model.set_config(new, f"lesson {action.text()} {'on' if checked else 'off'}")

    def _sync_lessons(self) -> None:
        config = self.model.config
        for action in (self.action_forget_zero_grad, self.action_update_with_grad):
            lesson = str(action.data())
            action.blockSignals(True)
            action.setChecked(bool(getattr(config, lesson)))
            action.setEnabled(lesson in config.spec.lessons)
            action.blockSignals(False)

    @Slot()
    def _on_presenter_triggered(self) -> None:
        if self._presenting is None:
            self.enter_presenter()
        else:
            self.leave_presenter()

    def enter_presenter(self) -> None:
        """Full screen, large type; settings and log hidden. Esc (or F5) leaves."""
        if self._presenting is not None:
            return
        self._presenting = SavedLayout(self.saveState(), self.windowState())
        screen = self.screen()
        compact = screen is not None and is_compact(screen.size())
        self._place_plots(presenting=True, small=compact)
        self.showFullScreen()
        arrange_presenter(self, self.docks, compact)
        self._set_font_scale(self._presenter_scale)
        self._sync_presenter_actions()

    @Slot()
    def _on_presenter_size_triggered(self) -> None:
        action = self.sender()
        if not isinstance(action, QAction):
            return
        self._presenter_scale = float(action.data())
        for size_action in self._presenter_sizes.actions():
            size_action.setChecked(size_action is action)
        if self._presenting is not None:
            self._set_font_scale(self._presenter_scale)
        if self._remember:
            preferences.save_presenter_scale(self._presenter_scale)

    @Slot()
    def _on_reset_layout_triggered(self) -> None:
        if self._presenting is not None:
            self.leave_presenter()
        screen = self.screen()
        room = screen.availableGeometry().size() if screen is not None else self.size()
        arrange(self, self.docks, is_compact(room))
        if self._remember:
            preferences.forget_layout()

    def _restore_window(self) -> None:
        """Where the user left the window, its docks and its speed (not the presenter mode)."""
        geometry = preferences.window_geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
            fit_to_screen(self, self.size())  # the screen may be another, smaller one now
        state = preferences.window_state()
        if state is not None:
            self.restoreState(state)
            whole_tab_titles(self)
        index = preferences.speed_index(self.speed_combo.count(), DEFAULT_SPEED_INDEX)
        self.speed_combo.setCurrentIndex(index)

    def _save_window(self) -> None:
        if self._presenting is not None:
            self.leave_presenter()  # remember the working layout, not the lecture's
        preferences.save_window(self.saveGeometry(), self.saveState())
        preferences.save_config(self.model.config)
        preferences.save_speed(self.speed_combo.currentIndex())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # Qt override
        self.files.drag_enter(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # Qt override
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # Qt override
        self.files.drop(event)

    @Slot()
    def leave_presenter(self) -> None:
        saved = self._presenting
        if saved is None:
            return
        self._presenting = None
        self._set_font_scale(1.0)
        self._place_plots(presenting=False)
        self.setWindowState(saved.window_state)
        self.restoreState(saved.state)
        whole_tab_titles(self)  # restoreState makes new tab bars
        self._sync_presenter_actions()

    def _place_plots(self, presenting: bool, small: bool = False) -> None:
        """Four plots in a 2×2 grid; presenting, the surface and the fit side by side (on a
        small projector the surface alone: large type needs the room)."""
        grid = self.plots_grid
        for plot in (self.surface_plot, self.loss_plot, self.weights_plot, self.fit_plot):
            grid.removeWidget(plot)
        if presenting:
            grid.addWidget(self.surface_plot, 0, 0)
            grid.addWidget(self.fit_plot, 0, 1)
            self.loss_plot.hide()
            self.weights_plot.hide()
            self.fit_plot.setVisible(not small)
        else:
            grid.addWidget(self.surface_plot, 0, 0)
            grid.addWidget(self.loss_plot, 0, 1)
            grid.addWidget(self.weights_plot, 1, 0)
            grid.addWidget(self.fit_plot, 1, 1)
            for plot in (self.loss_plot, self.weights_plot, self.fit_plot):
                plot.show()

    @property
    def presenting(self) -> bool:
        return self._presenting is not None

    def _sync_presenter_actions(self) -> None:
        self.action_presenter.blockSignals(True)
        self.action_presenter.setChecked(self.presenting)
        self.action_presenter.blockSignals(False)
        self.action_leave_presenter.setEnabled(self.presenting)
        for dock in (self.docks.settings, self.docks.log):  # hidden while presenting
            dock.toggleViewAction().setEnabled(not self.presenting)

    def _set_font_scale(self, scale: float) -> None:
        font = QApplication.font()
        font.setPointSizeF(font.pointSizeF() * scale)
        self.setFont(font)  # toolbar, labels, dock titles, status bar
        self.epoch_label.setFont(bold(round(16 * scale)))
        self._epoch_label_limit = -1  # its fixed width is measured again
        self._phase_texts = []  # so is the phase label's size ("zero_grad" lost its "_")
        for view in (self.surface_plot, self.loss_plot, self.weights_plot, self.fit_plot,
                     self.contributions_plot, self.code_panel, self.graph_view,
                     self.step_panel, self.gradcheck_panel, self.surface3d_view,
                     self.sweep_panel):
            view.set_font_scale(scale)
        self._size_status_labels(self.model.config.param_names)
        self._on_model_updated()

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
        self.setWindowTitle(f"gdviz — {run_title(config)}")
        self.controls.set_config(config, self.model.critical_lr(), self.model.session.contraction())
        self.data_editor.set_min_points(config.spec.min_points)
        self.data_editor.set_points(config.x, config.y)
        self._size_status_labels(config.param_names)
        self.surface_plot.rebuild()
        self.loss_plot.rebuild()
        self.weights_plot.rebuild()
        self.fit_plot.rebuild()
        self.contributions_plot.rebuild()
        self.log_panel.rebuild()
        self.code_panel.rebuild()
        self.graph_view.rebuild()
        self.gradcheck_panel.rebuild()
        self.surface3d_view.rebuild()
        self.sweep_panel.set_config(config)
        self._sync_lessons()
        self._on_model_updated()

    @Slot()
    def _on_model_updated(self) -> None:
        model = self.model
        self.surface_plot.refresh()
        self.loss_plot.refresh()
        self.weights_plot.refresh()
        self.fit_plot.refresh()
        self.surface3d_view.refresh()  # nothing while its tab is hidden
        # While training plays, the step panel (laid out to fit, ~4 ms) is written a few times
        # a second: no one reads it at 60 frames a second, and those milliseconds are the
        # window's share of the GIL. The lecture views (code values, graph, per-sample bars,
        # gradient check) explain one epoch at rest: they wait until the run stops, so
        # lecture mode costs playing nothing. The last update of a run writes them all.
        now = time.perf_counter()
        playing = model.state == "playing"
        if not playing or now - self._step_panel_time >= STEP_PANEL_PLAYING_S:
            self._step_panel_time = now
            self.step_panel.refresh()
        if not playing:
            self.contributions_plot.refresh()
            self.code_panel.refresh()
            self.gradcheck_panel.refresh()
            self.graph_view.refresh()
        for note in self.held_notes:
            note.follow(playing, model.cursor)
        self._show_phase()
        self.log_panel.refresh()
        limit = model.config.epochs
        slider = self.timeline_slider
        slider.blockSignals(True)
        slider.setRange(0, limit)
        slider.setValue(model.cursor)
        slider.blockSignals(False)
        if limit != self._epoch_label_limit:  # a fixed width: the slider must not jump
            self._epoch_label_limit = limit
            fix_size_for(self.epoch_label, *epoch_texts(limit))
        self.epoch_label.setText(f"Epoch {model.cursor} / {limit}")
        self._update_status()
        if self.isVisible() and not self.isMinimized():
            self._frame_pending = True  # acknowledged in event() once painted
        else:
            model.frame_painted()  # nothing will be painted: do not hold training back

    def _show_phase(self) -> None:
        spec = self.model.config.spec
        texts = [phase_text(phase, spec.gradient_word) for phase in (None, *spec.phases)]
        if texts != self._phase_texts:  # a fixed width: the toolbar is not laid out anew
            self._phase_texts = texts  # (and its timeline repainted) at every sub-step
            fix_size_for(self.phase_label, *texts)
        self.phase_label.setText(phase_text(self.model.phase, spec.gradient_word))

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
        # While sub-stepping, the parameters the views show: θ_{k−1} until the update.
        shown = model.session.shown_params_epoch
        loss = model.session.loss_after(shown)
        labels["loss"].setText(f"loss {loss:.6g}" if math.isfinite(loss) else "loss –")
        labels["loss"].setToolTip("the loss at the parameters shown, after this epoch's update")
        if history is not None:
            params = history.params_at(shown)
            labels["params"].setText("  ".join(
                f"{name} = {number(value)}"
                for name, value in zip(history.param_names, params, strict=True)))
        pending = model.session.pending
        waiting = f" (then {pending.describe()})" if pending is not None else ""
        labels["state"].setText(STATE_TEXT[str(model.state)] + waiting)
        color = {"diverged": "#D55E00", "failed": "#D55E00", "playing": "#009E73",
                 "finished": "#0072B2"}
        style = f"color: {color.get(str(model.state), '#222222')}"
        if labels["state"].styleSheet() != style:  # a new style sheet re-polishes the label
            labels["state"].setStyleSheet(style)

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        if self._remember:
            self._save_window()
        self.sweep_panel.teardown()
        self.files.teardown()
        self.model.shutdown()
        super().closeEvent(event)
