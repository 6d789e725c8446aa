"""Saving figures: PNG (150 dpi) and SVG, written atomically and deterministically
(no dates, a constant SVG hash salt), one figure at a time (matplotlib is not
thread-safe, and local jobs may run in threads of one process: analysis/inprocess.py).

Cost (demo export, measured with cProfile): plotnine's `draw` is about half of a
figure; the rest is matplotlib rendering, mostly text. `fig.savefig` lays a plotnine
figure out again for every file (a full draw without output, then the real draw), so
saving PNG and SVG with two `savefig` calls drew the figure four times. `save_plot`
lays it out once: it renders the Agg canvas (the layout engine runs in that draw),
writes those pixels as the PNG, then writes the SVG from the same layout. The PNG is
byte-identical to what `savefig(dpi=150)` writes.

No figure of the project draws minor ticks or minor grid lines, so the figure
functions give their continuous position scales `minor_breaks=[]`: otherwise
matplotlib builds and styles an invisible tick object per minor break (many on log
scales and facets), for the same pixels.

Text stays paths in the SVG (`svg.fonttype: path`): it then looks the same wherever
it is opened; `none` would save about a quarter of the SVG time but leave the fonts
to the viewer."""
from __future__ import annotations

from pathlib import Path

from analysis.atomic import atomic_path
from analysis.inprocess import figures_lock

SVG_HASHSALT = "nct07021534"
DPI = 150


def save_plot(plot, png: Path | str, svg: Path | str, width: float | None = None,
              height: float | None = None) -> None:
    """Draw a plotnine plot once, lay it out once and write it as PNG and SVG."""
    with figures_lock:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.image import imsave

        if width is not None and height is not None:
            from plotnine import theme
            plot = plot + theme(figure_size=(width, height))
        with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT}):
            fig = plot.draw()
            try:
                fig.set_dpi(DPI)
                canvas = FigureCanvasAgg(fig)
                canvas.draw()                      # plotnine's layout engine runs here, once
                with atomic_path(png) as tmp:
                    imsave(tmp, canvas.buffer_rgba(), format="png", origin="upper", dpi=DPI,
                           metadata={"Software": None})
                fig.set_layout_engine("none")      # the SVG keeps this layout
                with atomic_path(svg) as tmp:
                    fig.savefig(tmp, format="svg", metadata={"Date": None})
            finally:
                plt.close(fig)
