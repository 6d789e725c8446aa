"""Render a report (``reports/*.qmd``) to HTML, PDF or DOCX.

Two engines render the SAME sources:

* ``quarto`` -- used when a ``quarto`` binary is on PATH (``engine="auto"``):
  ``quarto render <doc>.qmd --to html|typst|docx`` in the private work folder.
* ``pandoc`` -- the fallback for machines without Quarto (air-gapped sites, CI):
  the tools Quarto is built on, from PyPI wheels. pandoc (``pypandoc_binary``)
  and typst (``typst``, Python bindings). This module does what Quarto would do
  first: it expands the shortcodes, drops the Quarto-only front-matter keys and
  numbers tables/figures (``reports/_templates/crossref.lua``); then
  HTML  -> pandoc, standalone, every resource embedded (no network request at all),
  DOCX  -> pandoc with ``_templates/reference.docx``,
  PDF   -> pandoc ``-t typst`` with ``_templates/pandoc-typst.template`` (which
           shares the partials ``typst-template.typ``/``typst-show.typ`` with the
           Quarto path), then ``typst.compile``.

Generated-content conventions (what the pipeline writes per data cut and the qmd
includes through ``_generated/``, a link to ``results/<cut>/``):

``tables/<ID>.md``
    one pandoc *pipe table* (``DataFrame.to_markdown(index=False)`` writes one) or,
    for a table with spanning column headers, a *grid table* with a two-row header
    (``analysis.tables.to_markdown``), a blank line, then its caption line
    ``: <Caption text> {#tbl-<name>}``, where ``<name>`` is the table ID without its
    ``T-`` and in lower case (``T-SETS`` -> ``{#tbl-sets}``). Footnotes may follow as
    ordinary paragraphs. Referenced in the text as ``@tbl-sets`` ("Table 1"). Notes
    follow the caption line in a ``::: {.table-footnotes}`` div (small print in every
    format). Column widths come from the content (``_templates/tables.lua``), not
    from the dashes of the separator line.
``figures/<ID>.png``
    included by the qmd as ``![Caption](_generated/figures/F-ESC.png){#fig-esc}``
    (label: ID without ``F-``, lower case), referenced as ``@fig-esc`` ("Figure 1").
``text/<name>.md``
    generated paragraphs (pandoc markdown, no front matter).
``metadata.yml``
    title-page values, read through ``metadata-files``: ``data_cut`` (ISO date,
    required by the report: subtitle, header and title page), ``trial_id`` (or
    ``study_id``), ``study_title``, ``report_version``, and optionally
    ``report_date``, ``protocol``, ``sponsor``, ``confidentiality`` (default
    "Confidential"). Write them as quoted strings; other keys are allowed and
    available to ``{{< meta KEY >}}``.

Shortcodes expanded by the pandoc engine: ``{{< include PATH >}}`` (recursive, PATH
relative to the including file, a missing file is an error naming it),
``{{< meta KEY >}}`` (dotted keys; front matter + metadata files; an unknown key
is an error), ``{{< pagebreak >}}``; ``{{{< ... >}}}`` is the escaped, literal form.

DOCX: :func:`finish_docx` fills the running header, fills the table of contents that
pandoc leaves to Word (one entry per heading, linked to its bookmark; the field stays
for Word to refresh with page numbers) and styles the multi-row headers of tables with
spanners (the reference document's table style knows only one header row).

Output is deterministic: ``SOURCE_DATE_EPOCH`` (argument, else environment, else
1980-01-01) fixes pandoc's DOCX timestamps and the PDF's date, and typst uses only
its embedded fonts (plus ``_templates/fonts/`` if present), not the machine's.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import functools
import io
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape as _xml_escape

import yaml

log = logging.getLogger(__name__)

Fmt = Literal["html", "pdf", "docx"]
Engine = Literal["auto", "quarto", "pandoc"]

FORMATS = ("html", "pdf", "docx")
EXTENSIONS = {"html": "html", "pdf": "pdf", "docx": "docx"}
QUARTO_TO = {"html": "html", "pdf": "typst", "docx": "docx"}
#: key of the qmd's ``format:`` map holding each output's options
FORMAT_KEY = {"html": "html", "pdf": "typst", "docx": "docx"}

GENERATED = "_generated"
TEMPLATES = "_templates"
WORKDIR_MARKER = ".render-workdir"

#: 1980-01-01T00:00:00Z, the earliest time a ZIP (DOCX) entry can carry.
DEFAULT_SOURCE_DATE_EPOCH = 315532800

# Front-matter keys that are Quarto options, not document metadata. The ones the
# pandoc engine understands are translated into pandoc options; all are dropped
# from the metadata handed to pandoc.
_OPTION_KEYS = {
    "toc", "toc-depth", "number-sections", "css", "reference-doc", "embed-resources",
    "self-contained", "section-numbering", "filters",
}
_QUARTO_ONLY_KEYS = {
    "format", "metadata-files", "execute", "engine", "jupyter", "knitr", "crossref",
    "editor", "project", "quarto-required", "template-partials",
    "keep-typ", "keep-md", "keep-tex", "theme", "code-fold", "code-tools",
    "output-file", "output-ext", "fig-cap-location", "tbl-cap-location", "brand",
    "lightbox", "mainfont-fallback", "html-math-method", "page-layout", "grid",
    "smooth-scroll", "anchor-sections", "citations-hover", "footnotes-hover",
}

# Pandoc warnings that mean a figure or another resource is missing: fatal here.
_PANDOC_FATAL = re.compile(r"Could not (fetch|find|load)\b", re.I)


class RenderError(RuntimeError):
    """A report could not be rendered; the message says why (tool stderr included)."""


# --------------------------------------------------------------------------------------
# YAML: keep "1.10" and "2026-10-31" as strings (Quarto's readers would turn them into
# a float and a date; the report must print exactly what the pipeline wrote).
class _MetaLoader(yaml.SafeLoader):
    pass


_MetaLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_yaml(text: str, where: str) -> dict:
    try:
        data = yaml.load(text, Loader=_MetaLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise RenderError(f"invalid YAML in {where}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RenderError(f"YAML in {where} is not a mapping")
    return data


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)


def split_front_matter(text: str, where: str = "document") -> tuple[dict, str]:
    """Return (front matter, body) of a qmd/markdown text."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    return _load_yaml(m.group(1), f"front matter of {where}"), text[m.end():]


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def load_metadata(front: dict, doc_dir: Path, where: str = "document") -> dict:
    """Front matter merged over its ``metadata-files`` (the document's own values win)."""
    files = front.get("metadata-files") or []
    if isinstance(files, str):
        files = [files]
    merged: dict = {}
    for f in files:
        p = doc_dir / f
        if not p.is_file():
            raise RenderError(f"metadata file not found: {f} (looked for {p}), declared in {where}")
        merged = _deep_merge(merged, _load_yaml(p.read_text(encoding="utf-8"), str(f)))
    return _deep_merge(merged, front)


# --------------------------------------------------------------------------------------
# Shortcodes
_SHORTCODE = re.compile(r"\{\{\{<[ \t]*(?P<esc>[^\n]*?)[ \t]*>\}\}\}|\{\{<[ \t]*(?P<sc>[^\n]*?)[ \t]*>\}\}")


def _pagebreak(fmt: str) -> str:
    if fmt == "pdf":
        return "\n```{=typst}\n#pagebreak(weak: true)\n```\n"
    if fmt == "docx":
        return '\n```{=openxml}\n<w:p><w:r><w:br w:type="page"/></w:r></w:p>\n```\n'
    return '\n```{=html}\n<div style="page-break-after: always;"></div>\n```\n'


def _meta_value(meta: dict, key: str, where: str) -> str:
    node: Any = meta
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise RenderError(
                f"unknown metadata key {key!r} in {{{{< meta {key} >}}}} at {where} "
                "(not in the front matter nor in its metadata-files)")
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, (list, tuple)):
        return ", ".join(str(x) for x in node)
    if isinstance(node, dict):
        raise RenderError(f"metadata key {key!r} at {where} is a mapping, not a value")
    if node is None:
        return ""
    return str(node)


def expand_shortcodes(text: str, path: Path, meta: dict, fmt: str, *,
                      root: Path | None = None, _stack: tuple[Path, ...] = ()) -> str:
    """Expand Quarto's include/meta/pagebreak shortcodes of ``text`` read from ``path``."""
    root = root or path.parent

    def rel(p: Path) -> str:
        try:
            return str(p.relative_to(root))
        except ValueError:
            return str(p)

    def replace(m: re.Match) -> str:
        if m.group("esc") is not None:
            return "{{< " + m.group("esc") + " >}}"
        where = f"{rel(path)}:{text.count(chr(10), 0, m.start()) + 1}"
        try:
            args = shlex.split(m.group("sc"))
        except ValueError as exc:
            raise RenderError(f"malformed shortcode {m.group(0)!r} at {where}: {exc}") from exc
        if not args:
            raise RenderError(f"empty shortcode at {where}")
        name, rest = args[0], args[1:]
        if name == "include":
            if len(rest) != 1:
                raise RenderError(f"include needs exactly one path at {where}: {m.group(0)!r}")
            target = path.parent / rest[0]
            if not target.is_file():
                raise RenderError(
                    f"include file not found: {rest[0]} (looked for {target}), included from {where}")
            key = Path(os.path.abspath(target))
            if key in _stack:
                raise RenderError(f"circular include of {rest[0]} at {where}")
            body = target.read_text(encoding="utf-8")
            if body.startswith("\ufeff"):
                body = body[1:]
            body = expand_shortcodes(body, target, meta, fmt, root=root, _stack=_stack + (key,))
            return body[:-1] if body.endswith("\n") else body
        if name == "meta":
            if len(rest) != 1:
                raise RenderError(f"meta needs exactly one key at {where}: {m.group(0)!r}")
            return _meta_value(meta, rest[0], where)
        if name == "pagebreak":
            return _pagebreak(fmt)
        raise RenderError(
            f"shortcode {name!r} at {where} is not supported by the pandoc engine "
            "(supported: include, meta, pagebreak)")

    return _SHORTCODE.sub(replace, text)


def _expand_in_values(node: Any, path: Path, meta: dict, fmt: str) -> Any:
    if isinstance(node, str):
        return expand_shortcodes(node, path, meta, fmt)
    if isinstance(node, dict):
        return {k: _expand_in_values(v, path, meta, fmt) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_in_values(v, path, meta, fmt) for v in node]
    return node


# --------------------------------------------------------------------------------------
# Tools
@functools.lru_cache(maxsize=None)
def pandoc_path() -> str:
    try:
        import pypandoc
        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as exc:
        found = shutil.which("pandoc")
        if found:
            return found
        raise RenderError("pandoc not found: install the pypandoc_binary wheel") from exc


@functools.lru_cache(maxsize=None)
def pandoc_version() -> str:
    out = subprocess.run([pandoc_path(), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split("\n", 1)[0].split()[-1]


@functools.lru_cache(maxsize=None)
def typst_version() -> str:
    import typst
    try:
        got = typst.query(b"#metadata(str(sys.version)) <v>", "<v>", field="value",
                          ignore_system_fonts=True)
        return json.loads(got)[0]
    except Exception:  # noqa: BLE001 - only a version label
        return getattr(typst, "__version__", "unknown")


@functools.lru_cache(maxsize=None)
def quarto_version(quarto: str) -> str:
    out = subprocess.run([quarto, "--version"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def _source_date_epoch(value: int | None) -> int:
    if value is not None:
        return int(value)
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env and env.strip().isdigit():
        return int(env.strip())
    return DEFAULT_SOURCE_DATE_EPOCH


def _tool_env(epoch: int) -> dict:
    env = dict(os.environ)
    env["SOURCE_DATE_EPOCH"] = str(epoch)
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def _run(cmd: list[str], cwd: Path, env: dict, what: str) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    except OSError as exc:
        raise RenderError(f"{what} could not be started ({cmd[0]}): {exc}") from exc
    if proc.returncode != 0:
        raise RenderError(
            f"{what} failed (exit {proc.returncode}) in {cwd}\n"
            f"command: {' '.join(shlex.quote(c) for c in cmd)}\n"
            f"stderr:\n{proc.stderr.strip()}\n{proc.stdout.strip()}".rstrip())
    return proc


# --------------------------------------------------------------------------------------
# Work folder and output
def prepare_work_dir(source: Path, generated_dir: Path, work_dir: Path) -> Path:
    """Create the private work folder; return the path of the qmd copy inside it."""
    source = Path(source)
    generated_dir = Path(generated_dir)
    work_dir = Path(work_dir)
    if not source.is_file():
        raise RenderError(f"report source not found: {source}")
    if not generated_dir.is_dir():
        raise RenderError(f"generated content folder not found: {generated_dir}")
    if work_dir.exists():
        if not (work_dir / WORKDIR_MARKER).exists() and any(work_dir.iterdir()):
            raise RenderError(
                f"work_dir {work_dir} exists, is not empty and was not made by render: "
                "refusing to clear it")
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    (work_dir / WORKDIR_MARKER).write_text("private work folder of analysis.render\n")
    shutil.copy2(source, work_dir / source.name)
    # Templates and section files: every folder of reports/ whose name starts with "_".
    for sub in sorted(source.parent.glob("_*")):
        if sub.is_dir() and sub.name != GENERATED:
            shutil.copytree(sub, work_dir / sub.name, ignore=shutil.ignore_patterns("__pycache__"))
    link = work_dir / GENERATED
    try:
        link.symlink_to(generated_dir.resolve(), target_is_directory=True)
    except OSError:
        shutil.copytree(generated_dir, link)
    return work_dir / source.name


def _atomic_write(out_file: Path, data: bytes | None = None, src: Path | None = None) -> None:
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_file.name}.", suffix=".tmp", dir=out_file.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if data is not None:
                fh.write(data)
            else:
                with open(src, "rb") as s:
                    shutil.copyfileobj(s, fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_file)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------------------
# DOCX: the reference document's header holds fields whose shown (cached) text is a
# placeholder; it is replaced by the document's values so that Word and LibreOffice
# show them without updating fields; every zip entry is dated SOURCE_DATE_EPOCH.
DOCX_PLACEHOLDERS = {"{{title}}": ("title",), "{{data_cut}}": ("data_cut",),
                     "{{confidentiality}}": ("confidentiality",)}
_DOCX_DEFAULTS = {"{{confidentiality}}": "Confidential"}


def _plain(value: Any) -> str:
    text = "" if value is None else str(value)
    return re.sub(r"[*`]", "", text)  # drop inline markdown emphasis / code marks


def _zip_date_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    d = _dt.datetime.fromtimestamp(epoch, tz=_dt.timezone.utc)
    d = min(max(d, _dt.datetime(1980, 1, 1, tzinfo=_dt.timezone.utc)),
            _dt.datetime(2107, 12, 31, 23, 59, 58, tzinfo=_dt.timezone.utc))
    return (d.year, d.month, d.day, d.hour, d.minute, d.second - d.second % 2)


def rewrite_zip(path: Path, epoch: int, edit=None) -> None:
    """Rewrite a zip (DOCX) with every entry dated ``epoch``; ``edit(name, data)``
    may return new bytes for an entry. Entry order and compression are kept."""
    stamp = _zip_date_time(epoch)
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if edit is not None:
                data = edit(info.filename, data)
            new = zipfile.ZipInfo(info.filename, date_time=stamp)
            new.compress_type = info.compress_type
            new.external_attr = 0o644 << 16
            new.create_system = 3
            zout.writestr(new, data)
    Path(path).write_bytes(buf.getvalue())


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _w(tag: str) -> str:
    return f"{{{W_NS}}}{tag}"


def _w_el(tag: str, **attrs: str):
    from lxml import etree
    el = etree.Element(_w(tag))
    for k, v in attrs.items():
        el.set(_w(k), v)
    return el


# Schema order of the children of w:tcPr and w:rPr (CT_TcPr, CT_RPr): Word refuses a
# document whose elements are out of order.
_TCPR_ORDER = ["cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap",
               "tcMar", "textDirection", "tcFitText", "vAlign", "hideMark"]
_RPR_ORDER = ["rStyle", "rFonts", "b", "bCs", "i", "iCs"]


def _set_child(parent, el, order: list[str]) -> None:
    """Put ``el`` into ``parent`` in schema order, replacing a child of the same tag."""
    name = el.tag.split("}")[1]
    for old in parent.findall(el.tag):
        parent.remove(old)
    rank = order.index(name)
    pos = 0
    for i, child in enumerate(parent):
        cname = child.tag.split("}")[1] if isinstance(child.tag, str) else ""
        if cname in order and order.index(cname) < rank:
            pos = i + 1
    parent.insert(pos, el)


def _docx_header_rows(root) -> int:
    """Tables with spanning column headers (a header of several rows, analysis/tables.py):
    the reference document's table style makes only the first row bold and ruled. Every
    header row bold; a rule under each spanner and under the last header row; a header
    cell spanning the header rows (vMerge) set at their foot, not ruled halfway.
    Returns the number of tables changed."""
    changed = 0
    for tbl in root.iter(_w("tbl")):
        head = []
        for tr in tbl.findall(_w("tr")):
            trpr = tr.find(_w("trPr"))
            if trpr is None or trpr.find(_w("tblHeader")) is None:
                break
            head.append(tr)
        if len(head) < 2:
            continue
        changed += 1
        for r, tr in enumerate(head):
            last = r == len(head) - 1
            for tc in tr.findall(_w("tc")):
                tcpr = tc.find(_w("tcPr"))
                if tcpr is None:
                    tcpr = _w_el("tcPr")
                    tc.insert(0, tcpr)
                span = tcpr.find(_w("gridSpan"))
                spans = span is not None and int(span.get(_w("val"), "1")) > 1
                vmerge = tcpr.find(_w("vMerge"))
                starts_merge = vmerge is not None and vmerge.get(_w("val")) == "restart"
                borders = _w_el("tcBorders")
                if last:
                    borders.append(_w_el("bottom", val="single", sz="6", space="0", color="000000"))
                elif spans:
                    borders.append(_w_el("bottom", val="single", sz="4", space="0", color="000000"))
                else:
                    borders.append(_w_el("bottom", val="nil"))
                _set_child(tcpr, borders, _TCPR_ORDER)
                if starts_merge:
                    _set_child(tcpr, _w_el("vAlign", val="bottom"), _TCPR_ORDER)
                for run in tc.iter(_w("r")):
                    rpr = run.find(_w("rPr"))
                    if rpr is None:
                        rpr = _w_el("rPr")
                        run.insert(0, rpr)
                    if rpr.find(_w("b")) is None:
                        _set_child(rpr, _w_el("b"), _RPR_ORDER)
    return changed


_TOC_SWITCH = re.compile(r'\\o\s+"(\d+)-(\d+)"')


def _docx_fill_toc(root) -> int:
    """Fill pandoc's table-of-contents field (empty until Word updates fields) with one
    entry per heading of the levels it names (``TOC \\o "1-2"``): the heading's number
    and text, linked to the heading's bookmark, paragraph style "TOC <level>". The field
    stays (Word refreshes it, with page numbers); other viewers show these entries.
    Returns the number of entries."""
    instr = next((el for el in root.iter(_w("instrText")) if (el.text or "").strip().startswith("TOC")), None)
    if instr is None:
        return 0
    m = _TOC_SWITCH.search(instr.text or "")
    lo, hi = (int(m.group(1)), int(m.group(2))) if m else (1, 3)
    body = root.find(_w("body"))
    entries = []
    for p in body.iter(_w("p")):
        ppr = p.find(_w("pPr"))
        style = ppr.find(_w("pStyle")) if ppr is not None else None
        hm = re.fullmatch(r"Heading(\d)", style.get(_w("val"), "")) if style is not None else None
        if not hm or not lo <= int(hm.group(1)) <= hi:
            continue
        # pandoc: the section's bookmark starts right before its heading (or inside it)
        anchor = None
        prev = p.getprevious()
        while prev is not None and prev.tag == _w("bookmarkStart"):
            anchor = prev.get(_w("name"))
            prev = prev.getprevious()
        inner = p.find(_w("bookmarkStart"))
        if anchor is None and inner is not None:
            anchor = inner.get(_w("name"))
        parts = []                                 # ("t", text) / ("tab", "")
        for el in p.iter(_w("t"), _w("tab")):
            if el.tag == _w("tab"):
                if el.getparent().tag == _w("r"):
                    parts.append(("tab", ""))
            elif el.text:
                parts.append(("t", el.text))
        if anchor and parts:
            entries.append((int(hm.group(1)), anchor, parts))
    if not entries:
        return 0
    field_p = instr.getparent()
    while field_p is not None and field_p.tag != _w("p"):
        field_p = field_p.getparent()
    if field_p is None:
        return 0
    # The field's runs: begin, instruction, separate ... end (pandoc: one run, no result)
    chars = [el for el in field_p.iter(_w("fldChar"))]
    begin = next((c for c in chars if c.get(_w("fldCharType")) == "begin"), None)
    if begin is None or not any(c.get(_w("fldCharType")) == "end" for c in chars):
        return 0

    def run(*children):
        r = _w_el("r")
        for c in children:
            r.append(c)
        return r

    def instr_el():
        el = _w_el("instrText")
        el.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        el.text = instr.text
        return el

    new_ps = []
    for i, (level, anchor, parts) in enumerate(entries):
        p = _w_el("p")
        ppr = _w_el("pPr")
        ppr.append(_w_el("pStyle", val=f"TOC{level}"))
        p.append(ppr)
        if i == 0:
            b = _w_el("fldChar", fldCharType="begin")
            if begin.get(_w("dirty")):
                b.set(_w("dirty"), begin.get(_w("dirty")))
            p.append(run(b))
            p.append(run(instr_el()))
            p.append(run(_w_el("fldChar", fldCharType="separate")))
        link = _w_el("hyperlink", anchor=anchor, history="1")
        for kind, text in parts:
            if kind == "tab":
                link.append(run(_w_el("tab")))
            else:
                t = _w_el("t")
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
                t.text = text
                link.append(run(t))
        p.append(link)
        if i == len(entries) - 1:
            p.append(run(_w_el("fldChar", fldCharType="end")))
        new_ps.append(p)
    parent = field_p.getparent()
    pos = parent.index(field_p)
    parent.remove(field_p)
    for k, p in enumerate(new_ps):
        parent.insert(pos + k, p)
    return len(entries)


#: paragraph styles of the TOC entries ("toc 1".., Word's built-in names), added to
#: styles.xml when the reference document lacks them
_TOC_STYLES = "".join(
    f'<w:style xmlns:w="{W_NS}" w:type="paragraph" w:styleId="TOC{n}"><w:name w:val="toc {n}"/>'
    '<w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:uiPriority w:val="39"/><w:unhideWhenUsed/>'
    f'<w:pPr><w:tabs><w:tab w:val="left" w:pos="{440 * (n - 1) + 440 + 220 * (n - 1)}"/></w:tabs>'
    f'<w:spacing w:before="{80 if n == 1 else 0}" w:after="40"/><w:ind w:left="{440 * (n - 1)}"/></w:pPr>'
    + ('<w:rPr><w:b/></w:rPr>' if n == 1 else '') + '</w:style>'
    for n in (1, 2, 3))


def _docx_xml(data: bytes, change) -> bytes:
    from lxml import etree
    root = etree.fromstring(data)
    if not change(root):
        return data
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _docx_add_toc_styles(root) -> bool:
    from lxml import etree
    have = {s.get(_w("styleId")) for s in root.findall(_w("style"))}
    added = False
    for style in etree.fromstring(f'<w:styles xmlns:w="{W_NS}">{_TOC_STYLES}</w:styles>'):
        if style.get(_w("styleId")) not in have:
            root.append(style)
            added = True
    return added


def finish_docx(docx: Path, meta: dict, epoch: int) -> None:
    """Fill the header placeholders, fill the table of contents, style the header rows of
    tables with spanning column headers, and date every zip entry ``epoch``.

    (pandoc dates the parts it writes with SOURCE_DATE_EPOCH but keeps the dates of
    the parts it copies from the reference document.)"""
    values = {}
    for ph, keys in DOCX_PLACEHOLDERS.items():
        val = next((meta[k] for k in keys if meta.get(k) not in (None, "")), None)
        values[ph] = _xml_escape(_plain(val if val is not None else _DOCX_DEFAULTS.get(ph, "")))

    def edit(name: str, data: bytes) -> bytes:
        if re.fullmatch(r"word/(header|footer)\d*\.xml", name):
            text = data.decode("utf-8")
            for ph, val in values.items():
                text = text.replace(ph, val)
            return text.encode("utf-8")
        if name == "word/document.xml":
            return _docx_xml(data, lambda root: _docx_fill_toc(root) + _docx_header_rows(root))
        if name == "word/styles.xml":
            return _docx_xml(data, _docx_add_toc_styles)
        return data

    rewrite_zip(docx, epoch, edit)


# --------------------------------------------------------------------------------------
# pandoc engine
def _as_list(v: Any) -> list:
    if v is None or v is False:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _plainify(node: Any) -> Any:
    """YAML-dumpable copy (dates as ISO strings)."""
    if isinstance(node, dict):
        return {str(k): _plainify(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plainify(v) for v in node]
    if isinstance(node, (_dt.date, _dt.datetime)):
        return node.isoformat()
    return node


def build_pandoc_input(qmd: Path, fmt: str) -> tuple[str, dict, dict]:
    """Expanded pandoc markdown of ``qmd``; returns (markdown, options, metadata)."""
    text = qmd.read_text(encoding="utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    front, body = split_front_matter(text, qmd.name)
    meta = load_metadata(front, qmd.parent, qmd.name)

    fmt_opts = {}
    formats = front.get("format")
    if isinstance(formats, dict):
        fmt_opts = formats.get(FORMAT_KEY[fmt]) or {}
        if not isinstance(fmt_opts, dict):
            fmt_opts = {}
    opts = {k: v for k, v in meta.items() if k in _OPTION_KEYS}
    opts.update({k: v for k, v in fmt_opts.items() if k in _OPTION_KEYS})

    doc_meta = {k: v for k, v in meta.items() if k not in _OPTION_KEYS | _QUARTO_ONLY_KEYS}
    # format-specific metadata / variables (papersize, margin, toc-title, ...)
    doc_meta.update({k: v for k, v in fmt_opts.items() if k not in _OPTION_KEYS | _QUARTO_ONLY_KEYS})
    doc_meta = _plainify(doc_meta)
    # shortcodes inside metadata values, e.g. subtitle: "... {{< meta data_cut >}}"
    lookup = _plainify(meta)
    doc_meta = _expand_in_values(doc_meta, qmd, lookup, fmt)
    expanded = expand_shortcodes(body, qmd, lookup, fmt)
    header = yaml.safe_dump(doc_meta, allow_unicode=True, sort_keys=True, default_flow_style=False)
    markdown = f"---\n{header}---\n\n{expanded.lstrip()}"
    if not markdown.endswith("\n"):
        markdown += "\n"
    return markdown, opts, doc_meta


def _filter_args(filters: Any, work: Path) -> list[str]:
    """pandoc arguments for the qmd's ``filters:`` (Lua files or executables, relative to
    the qmd; Quarto's ``quarto`` position marker is skipped)."""
    args: list[str] = []
    for entry in _as_list(filters):
        path = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(path, str) or path == "quarto":
            continue
        if not (work / path).is_file():
            raise RenderError(f"filter not found: {path} (looked in {work})")
        args += ["--lua-filter" if path.endswith(".lua") else "--filter", path]
    return args


def _typst_datetime(epoch: int) -> str:
    d = _dt.datetime.fromtimestamp(epoch, tz=_dt.timezone.utc)
    return (f"datetime(year: {d.year}, month: {d.month}, day: {d.day}, "
            f"hour: {d.hour}, minute: {d.minute}, second: {d.second})")


def _check_pandoc_stderr(stderr: str, what: str) -> None:
    for line in stderr.splitlines():
        if not line.strip():
            continue
        if _PANDOC_FATAL.search(line):
            raise RenderError(f"{what}: {line.strip()}\nstderr:\n{stderr.strip()}")
        log.warning("%s: %s", what, line.strip())


def _render_pandoc(qmd: Path, fmt: str, epoch: int) -> tuple[Path, str, dict]:
    work = qmd.parent
    markdown, opts, meta = build_pandoc_input(qmd, fmt)
    stem = qmd.stem
    md_file = work / f"{stem}.{fmt}.md"
    md_file.write_text(markdown, encoding="utf-8")

    cmd = [pandoc_path(), md_file.name, "--from", "markdown", "--resource-path", "."]
    cmd += _filter_args(opts.get("filters"), work)
    lua = work / TEMPLATES / "crossref.lua"
    if lua.is_file():
        cmd += ["--lua-filter", str(lua.relative_to(work))]
    toc = bool(opts.get("toc"))
    toc_depth = int(opts.get("toc-depth") or 3)
    numbered = bool(opts.get("number-sections"))
    env = _tool_env(epoch)

    if fmt == "html":
        out = work / f"{stem}.html"
        cmd += ["--to", "html5", "--standalone", "--embed-resources", "--section-divs",
                "--output", out.name]
        for css in _as_list(opts.get("css")):
            cmd += ["--css", str(css)]
        if toc:
            cmd += ["--toc", f"--toc-depth={toc_depth}"]
        if numbered:
            cmd += ["--number-sections"]
        proc = _run(cmd, work, env, "pandoc (html)")
        _check_pandoc_stderr(proc.stderr, "pandoc (html)")
        return out, f"pandoc {pandoc_version()}", meta

    if fmt == "docx":
        out = work / f"{stem}.docx"
        cmd += ["--to", "docx", "--output", out.name]
        ref = opts.get("reference-doc")
        if ref:
            if not (work / ref).is_file():
                raise RenderError(f"reference-doc not found: {ref} (looked in {work})")
            cmd += ["--reference-doc", str(ref)]
        if toc:
            cmd += ["--toc", f"--toc-depth={toc_depth}"]
        if numbered:
            cmd += ["--number-sections"]
        proc = _run(cmd, work, env, "pandoc (docx)")
        _check_pandoc_stderr(proc.stderr, "pandoc (docx)")
        return out, f"pandoc {pandoc_version()}", meta

    # pdf: pandoc -> typst source -> typst.compile
    template = work / TEMPLATES / "pandoc-typst.template"
    if not template.is_file():
        raise RenderError(f"typst template not found: {template}")
    typ = work / f"{stem}.typ"
    cmd += ["--to", "typst", "--standalone", "--template", str(template.relative_to(work)),
            "--output", typ.name, "-V", f"pdf-date={_typst_datetime(epoch)}"]
    if toc:
        cmd += ["--toc", f"--toc-depth={toc_depth}"]
    if numbered:
        cmd += ["-V", f"section-numbering={opts.get('section-numbering') or '1.1.1'}"]
    proc = _run(cmd, work, env, "pandoc (typst)")
    _check_pandoc_stderr(proc.stderr, "pandoc (typst)")

    import typst
    fonts = [str(p) for p in [work / TEMPLATES / "fonts"] if p.is_dir()]
    out = work / f"{stem}.pdf"
    try:
        pdf, warnings = typst.compile_with_warnings(
            str(typ), root=str(work), font_paths=fonts, ignore_system_fonts=True,
            format="pdf", timestamp=epoch)
    except typst.TypstError as exc:
        detail = getattr(exc, "diagnostic", "") or getattr(exc, "message", "") or str(exc)
        hints = [h for h in (getattr(exc, "hints", None) or []) if h not in detail]
        raise RenderError(
            f"typst failed to compile {typ}:\n{detail.strip()}"
            + "".join(f"\nhint: {h}" for h in hints)) from exc
    except RuntimeError as exc:
        raise RenderError(f"typst failed to compile {typ}:\n{exc}") from exc
    for w in warnings or []:
        log.warning("typst: %s", getattr(w, "message", w))
    out.write_bytes(pdf)
    return out, f"pandoc {pandoc_version()} + typst {typst_version()}", meta


# --------------------------------------------------------------------------------------
# quarto engine
def _render_quarto(quarto: str, qmd: Path, fmt: str, epoch: int) -> tuple[Path, str, dict]:
    work = qmd.parent
    out = work / f"{qmd.stem}.{EXTENSIONS[fmt]}"
    # `quarto render FILE --to FORMAT --output NAME`: NAME is a file name, written
    # next to the input; format typst produces the PDF (the .typ is not kept).
    cmd = [quarto, "render", qmd.name, "--to", QUARTO_TO[fmt], "--output", out.name]
    proc = _run(cmd, work, _tool_env(epoch), f"quarto render --to {QUARTO_TO[fmt]}")
    if not out.is_file():
        raise RenderError(
            f"quarto render reported success but {out} was not written\n"
            f"stderr:\n{proc.stderr.strip()}")
    front, _ = split_front_matter(qmd.read_text(encoding="utf-8"), qmd.name)
    meta = _plainify(load_metadata(front, work, qmd.name))
    return out, f"quarto {quarto_version(quarto)}", meta


# --------------------------------------------------------------------------------------
def render_document(source: Path, generated_dir: Path, fmt: Fmt, out_file: Path,
                    work_dir: Path, engine: Engine = "auto", *,
                    source_date_epoch: int | None = None) -> dict:
    """Render ``source`` (a qmd) with the content of ``generated_dir`` to ``out_file``.

    ``work_dir`` is a folder private to this one render (cleared and recreated; it
    keeps the intermediates: expanded markdown, the .typ source, the tool output).
    Returns ``{"renderer": ..., "format": fmt, "file": str(out_file)}``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    if engine not in ("auto", "quarto", "pandoc"):
        raise ValueError(f"engine must be auto, quarto or pandoc, not {engine!r}")
    epoch = _source_date_epoch(source_date_epoch)
    quarto = shutil.which("quarto") if engine in ("auto", "quarto") else None
    if engine == "quarto" and not quarto:
        raise RenderError("engine 'quarto' requested but no quarto binary is on PATH")

    qmd = prepare_work_dir(Path(source), Path(generated_dir), Path(work_dir))
    if quarto:
        produced, renderer, meta = _render_quarto(quarto, qmd, fmt, epoch)
    else:
        produced, renderer, meta = _render_pandoc(qmd, fmt, epoch)
    if fmt == "docx":
        finish_docx(produced, meta, epoch)
    _atomic_write(Path(out_file), src=produced)
    return {"renderer": renderer, "format": fmt, "file": str(out_file)}


# --------------------------------------------------------------------------------------
# reference.docx (run once by a developer; the result is kept in reports/_templates)
def _field_runs(instr: str, shown: str) -> list:
    """w:r elements of a complex field ``instr`` whose cached result is ``shown``."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    def r(inner: str):
        return parse_xml(f"<w:r {nsdecls('w')}>{inner}</w:r>")

    return [r('<w:fldChar w:fldCharType="begin"/>'),
            r(f'<w:instrText xml:space="preserve"> {instr} </w:instrText>'),
            r('<w:fldChar w:fldCharType="separate"/>'),
            r(f'<w:t xml:space="preserve">{_xml_escape(shown)}</w:t>'),
            r('<w:fldChar w:fldCharType="end"/>')]


def build_reference_docx(dest: Path) -> Path:
    """Build ``_templates/reference.docx`` from pandoc's default reference document.

    Adds: A4 page, running header "<title> <tab> Data cut <data_cut> | Confidential"
    (fields TITLE / DOCPROPERTY whose shown text are the placeholders filled by
    :func:`finish_docx`), footer "Page X of Y", ruled table style.
    """
    from docx import Document
    from docx.enum.text import WD_TAB_ALIGNMENT
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls, qn
    from docx.shared import Cm, Pt, RGBColor

    raw = subprocess.run([pandoc_path(), "--print-default-data-file", "reference.docx"],
                         capture_output=True, check=True).stdout
    doc = Document(io.BytesIO(raw))
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin, section.bottom_margin = Cm(2.6), Cm(2.3)
    section.header_distance = section.footer_distance = Cm(1.1)
    usable = section.page_width - section.left_margin - section.right_margin

    def small(run, bold=False):
        run.font.size = Pt(8.5)
        run.font.bold = bold
        run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)

    header = section.header
    header.is_linked_to_previous = False
    p = header.paragraphs[0]
    p.text = ""
    p.paragraph_format.tab_stops.add_tab_stop(usable, WD_TAB_ALIGNMENT.RIGHT)
    for el in _field_runs("TITLE \\* MERGEFORMAT", "{{title}}"):
        p._p.append(el)
    small(p.add_run("\tData cut "))
    for el in _field_runs("DOCPROPERTY data_cut \\* MERGEFORMAT", "{{data_cut}}"):
        p._p.append(el)
    small(p.add_run("  |  "))
    conf = p.add_run("{{confidentiality}}")
    small(conf, bold=True)
    conf.font.color.rgb = RGBColor(0, 0, 0)
    for r in p._p.findall(qn("w:r")):  # style the field runs like the rest
        rpr = r.find(qn("w:rPr"))
        if rpr is None:
            r.insert(0, parse_xml(f'<w:rPr {nsdecls("w")}><w:color w:val="555555"/>'
                                  '<w:sz w:val="17"/></w:rPr>'))
    p._p.get_or_add_pPr().append(parse_xml(
        f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="4" w:space="4" '
        'w:color="888888"/></w:pBdr>'))

    footer = section.footer
    footer.is_linked_to_previous = False
    f = footer.paragraphs[0]
    f.text = ""
    f.alignment = 1  # centre
    small(f.add_run("Page "))
    for el in _field_runs("PAGE", "1"):
        f._p.append(el)
    small(f.add_run(" of "))
    for el in _field_runs("NUMPAGES", "1"):
        f._p.append(el)
    for r in f._p.findall(qn("w:r")):
        if r.find(qn("w:rPr")) is None:
            r.insert(0, parse_xml(f'<w:rPr {nsdecls("w")}><w:color w:val="555555"/>'
                                  '<w:sz w:val="17"/></w:rPr>'))

    # Body text 11 pt: set as the document default (not on Normal), so that the
    # 9 pt of the table style below still applies inside tables.
    defaults = doc.styles.element
    rpr_default = defaults.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr"))
    if rpr_default is not None:
        for tag in ("w:sz", "w:szCs"):
            el = rpr_default.find(qn(tag))
            if el is None:
                el = parse_xml(f'<{tag} {nsdecls("w")} w:val="22"/>')
                rpr_default.append(el)
            el.set(qn("w:val"), "22")

    # Paragraph style of table notes (the .table-footnotes div, see tables.lua)
    from docx.enum.style import WD_STYLE_TYPE
    if "Table Footnote" not in [s.name for s in doc.styles]:
        note = doc.styles.add_style("Table Footnote", WD_STYLE_TYPE.PARAGRAPH)
        note.base_style = doc.styles["Body Text"]
        note.font.size = Pt(8.5)
        note.paragraph_format.space_before = Pt(0)
        note.paragraph_format.space_after = Pt(2)
        note.quick_style = True

    if "Title" in [s.name for s in doc.styles]:
        doc.styles["Title"].font.size = Pt(22)
    if "Subtitle" in [s.name for s in doc.styles]:
        doc.styles["Subtitle"].font.size = Pt(13)

    # Table style used by pandoc ("Table"): 9 pt text, top/bottom rules, rule under
    # the header.
    styles = doc.styles
    if "Table" in [s.name for s in styles]:
        tbl = styles["Table"].element
        for old in tbl.findall(qn("w:tblPr")):
            tbl.remove(old)
        tbl.append(parse_xml(
            f'<w:tblPr {nsdecls("w")}><w:tblBorders>'
            '<w:top w:val="single" w:sz="8" w:space="0" w:color="000000"/>'
            '<w:bottom w:val="single" w:sz="8" w:space="0" w:color="000000"/>'
            '</w:tblBorders><w:tblCellMar><w:left w:w="90" w:type="dxa"/>'
            '<w:right w:w="90" w:type="dxa"/></w:tblCellMar></w:tblPr>'))
        for old in tbl.findall(qn("w:rPr")) + tbl.findall(qn("w:pPr")):
            tbl.remove(old)
        tbl.append(parse_xml(f'<w:pPr {nsdecls("w")}><w:spacing w:before="20" w:after="20"/></w:pPr>'))
        tbl.append(parse_xml(f'<w:rPr {nsdecls("w")}><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr>'))
        for old in tbl.findall(qn("w:tblStylePr")):
            tbl.remove(old)
        tbl.append(parse_xml(
            f'<w:tblStylePr {nsdecls("w")} w:type="firstRow"><w:rPr><w:b/></w:rPr>'
            '<w:tcPr><w:tcBorders><w:bottom w:val="single" w:sz="6" w:space="0" '
            'w:color="000000"/></w:tcBorders></w:tcPr></w:tblStylePr>'))
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(dest))
    rewrite_zip(dest, DEFAULT_SOURCE_DATE_EPOCH)  # no build time inside the file
    return dest


# --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m analysis.render",
        description="Render a Quarto report with Quarto, or pandoc + typst when Quarto is absent.")
    ap.add_argument("source", nargs="?", type=Path, help="the .qmd")
    ap.add_argument("generated_dir", nargs="?", type=Path, help="results/<cut> (tables/, figures/, ...)")
    ap.add_argument("format", nargs="?", choices=FORMATS)
    ap.add_argument("out_file", nargs="?", type=Path)
    ap.add_argument("work_dir", nargs="?", type=Path, help="private work folder (cleared)")
    ap.add_argument("--engine", choices=("auto", "quarto", "pandoc"), default="auto")
    ap.add_argument("--source-date-epoch", type=int, default=None)
    ap.add_argument("--build-reference-docx", type=Path, metavar="PATH",
                    help="build the DOCX reference document at PATH and exit")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.build_reference_docx:
        print(build_reference_docx(args.build_reference_docx))
        return 0
    missing = [n for n in ("source", "generated_dir", "format", "out_file", "work_dir")
               if getattr(args, n) is None]
    if missing:
        ap.error("missing arguments: " + " ".join(missing))
    try:
        result = render_document(args.source, args.generated_dir, args.format, args.out_file,
                                 args.work_dir, args.engine, source_date_epoch=args.source_date_epoch)
    except RenderError as exc:
        print(f"render failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
