"""analysis.figures.save_plot: one layout for both files, a PNG identical to what
matplotlib's savefig writes at 150 dpi, deterministic PNG and SVG."""
from __future__ import annotations

import io

import pandas as pd
from PIL import Image
from plotnine import aes, geom_line, geom_point, ggplot, labs, scale_y_log10, theme, theme_bw

from analysis.figures import DPI, save_plot


def _plot():
    d = pd.DataFrame({"t": [0, 1, 3, 7, 14] * 2, "v": [1, 30, 120, 40, 5, 2, 9, 60, 20, 3],
                      "g": ["DL1"] * 5 + ["DL2"] * 5})
    return (ggplot(d, aes("t", "v", color="g")) + geom_line() + geom_point()
            + scale_y_log10(minor_breaks=[]) + labs(x="Days", y="Copies/µg (log scale)", title="Kinetics")
            + theme_bw())


def test_png_is_what_savefig_writes_and_svg_is_dated_nowhere(tmp_path):
    save_plot(_plot(), tmp_path / "a.png", tmp_path / "a.svg", 6, 4)
    fig = (_plot() + theme(figure_size=(6, 4))).draw()
    ref = io.BytesIO()
    fig.savefig(ref, format="png", dpi=DPI, metadata={"Software": None})
    png = (tmp_path / "a.png").read_bytes()
    assert png == ref.getvalue()
    with Image.open(tmp_path / "a.png") as im:
        assert im.size == (6 * DPI, 4 * DPI) and round(im.info["dpi"][0]) == DPI
    svg = (tmp_path / "a.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<dc:date>" not in svg and "<text" not in svg  # text as paths


def test_two_saves_are_byte_identical(tmp_path):
    for sub in ("x", "y"):
        save_plot(_plot(), tmp_path / sub / "a.png", tmp_path / sub / "a.svg", 6, 4)
    for ext in ("png", "svg"):
        assert (tmp_path / "x" / f"a.{ext}").read_bytes() == (tmp_path / "y" / f"a.{ext}").read_bytes()
