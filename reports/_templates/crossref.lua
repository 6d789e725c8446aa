--[[
crossref.lua -- Quarto-style cross-references for the pandoc fallback of
analysis/render.py (Quarto does this itself and never sees this filter).

  * A table whose caption ends in {#tbl-NAME} and a figure written as
    ![Caption](file.png){#fig-NAME} are numbered in document order,
    tables and figures separately.
  * @tbl-NAME / @fig-NAME (pandoc parses them as citations) become
    "Table N" / "Figure N", linked to the target.
  * HTML / DOCX: the caption is prefixed with "Table N: " / "Figure N: ".
    Typst numbers its figures itself: captions are left alone there and a
    reference becomes the typst reference @NAME (same label, same number).
  * An unknown tbl-/fig- reference is written "?@NAME" (as Quarto does) and
    reported on stderr.
]]

local KINDS = { tbl = "Table", fig = "Figure" }
local is_typst = FORMAT:match("typst") ~= nil

local labels = {}
local counters = { tbl = 0, fig = 0 }

local function kind_of(id)
  if id == nil or id == "" then return nil end
  local prefix = id:match("^(%a+)%-")
  if prefix and KINDS[prefix] then return prefix end
  return nil
end

local function register(id)
  local prefix = kind_of(id)
  if not prefix then return nil end
  if labels[id] then
    io.stderr:write("[crossref] WARNING duplicate label " .. id .. "\n")
    return labels[id]
  end
  counters[prefix] = counters[prefix] + 1
  labels[id] = { name = KINDS[prefix], number = counters[prefix] }
  return labels[id]
end

local function prefix_caption(caption, label)
  local head = pandoc.Inlines({
    pandoc.Str(label.name), pandoc.Space(),
    pandoc.Str(tostring(label.number) .. ":"), pandoc.Space(),
  })
  local long = caption.long
  if #long == 0 then
    long:insert(pandoc.Plain(head))
  else
    local first = long[1]
    if first.t == "Plain" or first.t == "Para" then
      first.content = head .. first.content
    else
      long:insert(1, pandoc.Plain(head))
    end
  end
  caption.long = long
  return caption
end

-- pass 1: number the targets, in document order
local function number_targets(doc)
  local function visit(el)
    local label = register(el.identifier)
    if label and not is_typst then
      el.caption = prefix_caption(el.caption, label)
      return el
    end
  end
  -- walk_block order is document order for siblings; tables and figures have
  -- separate counters, so nesting order does not change any number.
  doc.blocks = doc.blocks:walk({ Table = visit, Figure = visit })
  return doc
end

-- pass 2: resolve the references
local function resolve_refs(doc)
  local function cite(el)
    local all_xref = true
    for _, c in ipairs(el.citations) do
      if not kind_of(c.id) then all_xref = false end
    end
    if not all_xref then return nil end
    local out = pandoc.Inlines({})
    for i, c in ipairs(el.citations) do
      if i > 1 then out:extend({ pandoc.Str(","), pandoc.Space() }) end
      local label = labels[c.id]
      if label == nil then
        io.stderr:write("[crossref] WARNING unresolved reference @" .. c.id .. "\n")
        out:insert(pandoc.Strong({ pandoc.Str("?@" .. c.id) }))
      elseif is_typst then
        out:insert(pandoc.RawInline("typst", "@" .. c.id))
      else
        out:insert(pandoc.Link(
          { pandoc.Str(label.name), pandoc.Space(), pandoc.Str(tostring(label.number)) },
          "#" .. c.id))
      end
    end
    return out
  end
  doc.blocks = doc.blocks:walk({ Cite = cite })
  return doc
end

function Pandoc(doc)
  doc = number_targets(doc)
  doc = resolve_refs(doc)
  return doc
end
