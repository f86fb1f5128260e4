"""Diagnostics and plots: gradient flow through time, attention heatmaps (matplotlib is
imported only to plot)."""

from rnnkit.viz.attention import plot_attention
from rnnkit.viz.gradients import gradient_norms, plot_gradient_flow

__all__ = ["gradient_norms", "plot_attention", "plot_gradient_flow"]
