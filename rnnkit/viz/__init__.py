"""Diagnostics and plots: gradient flow through time (matplotlib is imported only to plot)."""

from rnnkit.viz.gradients import gradient_norms, plot_gradient_flow

__all__ = ["gradient_norms", "plot_gradient_flow"]
