"""Saving figures: PNG (150 dpi) and SVG, written atomically and deterministically
(no dates, a constant SVG hash salt), one figure at a time (matplotlib is not
thread-safe, and local jobs run in threads of one process: analysis/inprocess.py)."""
from __future__ import annotations

from pathlib import Path

from analysis.atomic import atomic_path
from analysis.inprocess import figures_lock

SVG_HASHSALT = "nct07021534"


def save_plot(plot, png: Path | str, svg: Path | str, width: float | None = None,
              height: float | None = None) -> None:
    """Draw a plotnine plot once and write it as PNG and SVG."""
    with figures_lock:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        matplotlib.rcParams["svg.hashsalt"] = SVG_HASHSALT
        if width is not None and height is not None:
            from plotnine import theme
            plot = plot + theme(figure_size=(width, height))
        fig = plot.draw()
        try:
            with atomic_path(png) as tmp:
                fig.savefig(tmp, format="png", dpi=150, metadata={"Software": None})
            with atomic_path(svg) as tmp:
                fig.savefig(tmp, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
