--[[
tables.lua -- column widths of tables from their content; table footnotes.

Declared in the qmd's `filters:`, so Quarto runs it as well as the pandoc
fallback of analysis/render.py.

1. Column widths.

A pipe table with a line longer than 72 characters gets relative column widths
from the dashes of its separator line. Those ignore cell padding and bold
headers: a narrow column overflows into the next ("ParticipantDose level").
Left to itself, typst's automatic layout squeezes the widest text column
to a sliver instead. So, measured in characters:

  * HTML: no widths at all; the browser's automatic table layout does it best;
  * PDF (typst): a table whose cells fit on one line at their natural width
    keeps automatic widths (compact; the columns under a spanner get their
    natural widths, which share out the width the spanner needs); a wider
    table spans the line, every
    column gets at least its longest word (plus padding) and the remaining room
    goes to the columns in proportion to how much longer their longest cell is
    than that minimum (the CSS automatic-table algorithm);
  * DOCX: always such widths (Word and LibreOffice lay out tables without
    widths poorly), a table that fits spreads its columns to its natural widths.

2. Spanning column headers (grid tables with a two-row header): centred; typst
   styling of the header rows (see `spanners` below).

3. Footnotes. A table's notes are written (analysis/tables.py) after its caption
   line as a div:  ::: {.table-footnotes} ... :::
   HTML keeps the class (report.css styles it), DOCX gets the paragraph style
   "Table Footnote" (reference.docx), typst a small-print block.
]]

local fmt = FORMAT or ""
local is_html = fmt:match("html") ~= nil
local is_docx = fmt:match("docx") ~= nil
-- characters of 9 pt table text on a line of an A4 page (typst / Word fonts)
local LINE = is_docx and 95 or 110
local PAD = 3      -- characters of cell padding per column
local HEADER = 1.1 -- bold header text is wider

local stringify = pandoc.utils.stringify

local function ulen(s)
  local _, joiners = s:gsub("\u{2060}", "")   -- word joiners take no room
  return (utf8.len(s) or #s) - joiners
end

local function measure(cell, factor, nat, word, j)
  local text = stringify(cell.contents)
  local n = ulen(text) * factor
  if n > (nat[j] or 0) then nat[j] = n end
  for w in text:gmatch("%S+") do
    local m = ulen(w) * factor
    if m > (word[j] or 0) then word[j] = m end
  end
end

-- Cells of `rows` with the column each starts in (1-based): a cell spanning rows
-- above (row_span) takes its columns in the rows below it.
local function placed(rows, factor, out)
  local busy = {}
  for _, row in ipairs(rows) do
    local j = 1
    for _, cell in ipairs(row.cells) do
      while (busy[j] or 0) > 0 do j = j + 1 end
      table.insert(out, { cell, j, factor })
      for k = j, j + (cell.col_span or 1) - 1 do busy[k] = cell.row_span or 1 end
      j = j + (cell.col_span or 1)
    end
    for k, v in pairs(busy) do busy[k] = v - 1 end
  end
end

local function cells_of(tbl)
  local out = {}
  placed(tbl.head.rows, HEADER, out)
  for _, body in ipairs(tbl.bodies) do
    placed(body.head, HEADER, out)
    placed(body.body, 1, out)
  end
  placed(tbl.foot.rows, 1, out)
  return out
end

-- Spanning column headers (a pandoc grid table's header cell over several columns,
-- analysis/tables.py): centred over their columns, in every format. Typst: every
-- header row bold (the template makes the first one bold), a rule under each spanner
-- that stops short of its neighbours' (the cell inset), a header cell spanning the
-- header rows set at their foot. Word: analysis/render.py (finish_docx) does that part.
local function spanners(tbl)
  local nrows = #tbl.head.rows
  if nrows < 2 then return end
  for _, row in ipairs(tbl.head.rows) do
    for _, cell in ipairs(row.cells) do
      local spans = (cell.col_span or 1) > 1
      if spans then cell.alignment = "AlignCenter" end
      if fmt:match("typst") then
        local inl = pandoc.utils.blocks_to_inlines(cell.contents)
        local open = nil
        if spans then
          open = "#block(width: 100%, stroke: (bottom: 0.6pt), inset: (bottom: 3pt))["
        elseif (cell.row_span or 1) > 1 then
          open = "#align(bottom)["
        end
        if open then
          cell.contents = pandoc.Blocks({ pandoc.RawBlock("typst", open),
            pandoc.Plain({ pandoc.Strong(inl) }), pandoc.RawBlock("typst", "]") })
        else
          cell.contents = pandoc.Blocks({ pandoc.Plain({ pandoc.Strong(inl) }) })
        end
      end
    end
  end
end

function Table(tbl)
  if is_html then
    spanners(tbl)
    local specs = pandoc.List()
    for _, spec in ipairs(tbl.colspecs) do specs:insert({ spec[1], nil }) end
    tbl.colspecs = specs
    return tbl
  end
  local ncol = #tbl.colspecs
  local nat, word = {}, {}
  local spans = {}
  for _, entry in ipairs(cells_of(tbl)) do
    local cell, j, factor = entry[1], entry[2], entry[3]
    local cs = cell.col_span or 1
    if cs == 1 and j <= ncol then
      measure(cell, factor, nat, word, j)
    elseif cs > 1 and j + cs - 1 <= ncol then
      local n, w = {}, {}
      measure(cell, factor, n, w, 1)
      table.insert(spans, { j, cs, n[1] or 0, w[1] or 0 })
    end
  end

  local minw, natw = {}, {}
  for j = 1, ncol do
    minw[j] = (word[j] or 0) + PAD
    natw[j] = math.max((nat[j] or 0) + PAD, minw[j])
  end
  -- a spanner wider than its columns widens them, evenly
  for _, sp in ipairs(spans) do
    local j, cs, n, w = sp[1], sp[2], sp[3], sp[4]
    local have_nat, have_min = 0, 0
    for k = j, j + cs - 1 do
      have_nat = have_nat + natw[k]
      have_min = have_min + minw[k]
    end
    for k = j, j + cs - 1 do
      if n + PAD > have_nat then natw[k] = natw[k] + (n + PAD - have_nat) / cs end
      if w + PAD > have_min then minw[k] = minw[k] + (w + PAD - have_min) / cs end
      natw[k] = math.max(natw[k], minw[k])
    end
  end
  local sum_min, sum_nat = 0, 0
  for j = 1, ncol do
    sum_min = sum_min + minw[j]
    sum_nat = sum_nat + natw[j]
  end

  local widths = {}
  if sum_nat <= LINE and is_docx then
    for j = 1, ncol do widths[j] = natw[j] / sum_nat end
  elseif sum_nat <= LINE and #spans > 0 then
    -- typst's automatic layout gives all the width a spanner needs to its last
    -- column: the spanned columns get their (shared-out) natural widths, the
    -- others stay automatic
    local spanned = {}
    for _, sp in ipairs(spans) do
      for k = sp[1], sp[1] + sp[2] - 1 do spanned[k] = true end
    end
    for j = 1, ncol do widths[j] = spanned[j] and natw[j] / LINE or nil end
  elseif sum_nat <= LINE then
    widths = nil                      -- automatic
  elseif sum_min >= LINE then
    for j = 1, ncol do widths[j] = minw[j] / sum_min end
  else
    local extra, flex = LINE - sum_min, sum_nat - sum_min
    for j = 1, ncol do
      widths[j] = (minw[j] + extra * (natw[j] - minw[j]) / flex) / LINE
    end
  end

  local specs = pandoc.List()
  for j, spec in ipairs(tbl.colspecs) do
    specs:insert({ spec[1], widths and widths[j] or nil })
  end
  tbl.colspecs = specs
  spanners(tbl)                       -- after measuring: it wraps cell contents
  return tbl
end

function Div(div)
  if not div.classes:includes("table-footnotes") then return nil end
  if is_docx then
    div.attributes["custom-style"] = "Table Footnote"
    return div
  end
  if fmt:match("typst") then
    local out = pandoc.Blocks({
      pandoc.RawBlock("typst", "#block(above: 0.5em, below: 1.2em)[#set text(size: 8.5pt)\n#set par(justify: false, spacing: 0.45em)"),
    })
    out:extend(div.content)
    out:insert(pandoc.RawBlock("typst", "]"))
    return out
  end
  return nil
end
