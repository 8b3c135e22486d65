"""The live plots. Each builds its items once per run and then only moves data into them.

Lecture mode: every plot reads `model.phase` and shows the sub-step (see `phase.py`); with no
phase they look exactly as before. Each has `set_font_scale` for presenter mode.
"""

from __future__ import annotations

from gdviz.ui.plots.common import PRESENTER_SCALE, symlog
from gdviz.ui.plots.contributions import ContributionsPlot
from gdviz.ui.plots.epoch_plots import EpochPlot, LossPlot, SymLogAxis, WeightsPlot
from gdviz.ui.plots.fit import FitPlot
from gdviz.ui.plots.labels import scene_points
from gdviz.ui.plots.surface import SurfacePlot

__all__ = ["PRESENTER_SCALE", "ContributionsPlot", "EpochPlot", "FitPlot", "LossPlot",
           "SurfacePlot", "SymLogAxis", "WeightsPlot", "scene_points", "symlog"]
