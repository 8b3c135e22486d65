"""The live plots. Each builds its items once per run and then only moves data into them."""

from __future__ import annotations

from gdviz.ui.plots.common import symlog
from gdviz.ui.plots.epoch_plots import EpochPlot, LossPlot, SymLogAxis, WeightsPlot
from gdviz.ui.plots.fit import FitPlot
from gdviz.ui.plots.labels import scene_points
from gdviz.ui.plots.surface import SurfacePlot

__all__ = ["EpochPlot", "FitPlot", "LossPlot", "SurfacePlot", "SymLogAxis", "WeightsPlot",
           "scene_points", "symlog"]
