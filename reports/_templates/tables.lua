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
    keeps automatic widths (compact); a wider table spans the line, every
    column gets at least its longest word (plus padding) and the remaining room
    goes to the columns in proportion to how much longer their longest cell is
    than that minimum (the CSS automatic-table algorithm);
  * DOCX: always such widths (Word and LibreOffice lay out tables without
    widths poorly), a table that fits spreads its columns to its natural widths.

2. Footnotes. A table's notes are written (analysis/tables.py) after its caption
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
  return utf8.len(s) or #s
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

local function rows_of(tbl)
  local out = {}
  for _, row in ipairs(tbl.head.rows) do table.insert(out, { row, HEADER }) end
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.head) do table.insert(out, { row, HEADER }) end
    for _, row in ipairs(body.body) do table.insert(out, { row, 1 }) end
  end
  for _, row in ipairs(tbl.foot.rows) do table.insert(out, { row, 1 }) end
  return out
end

function Table(tbl)
  if is_html then
    local specs = pandoc.List()
    for _, spec in ipairs(tbl.colspecs) do specs:insert({ spec[1], nil }) end
    tbl.colspecs = specs
    return tbl
  end
  local ncol = #tbl.colspecs
  local nat, word = {}, {}
  for _, entry in ipairs(rows_of(tbl)) do
    local row, factor = entry[1], entry[2]
    local j = 1
    for _, cell in ipairs(row.cells) do
      if (cell.col_span or 1) == 1 and j <= ncol then
        measure(cell, factor, nat, word, j)
      end
      j = j + (cell.col_span or 1)
    end
  end

  local minw, natw = {}, {}
  local sum_min, sum_nat = 0, 0
  for j = 1, ncol do
    minw[j] = (word[j] or 0) + PAD
    natw[j] = math.max((nat[j] or 0) + PAD, minw[j])
    sum_min = sum_min + minw[j]
    sum_nat = sum_nat + natw[j]
  end

  local widths = {}
  if sum_nat <= LINE and is_docx then
    for j = 1, ncol do widths[j] = natw[j] / sum_nat end
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
