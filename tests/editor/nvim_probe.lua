-- Headless Neovim as a real LSP client of `ml-engineer serve`.
-- Opens $ML_PROBE_FILE, waits for diagnostics, hovers the first fixable one, requests code
-- actions there, applies the quick fix and checks that the diagnostic disappears.
-- Exit code: 0 success, 1 a check failed, 3 watchdog timeout.

local function fail(message)
  io.stderr:write("nvim probe: " .. message .. "\n")
  vim.cmd("cquit 1")
end

vim.defer_fn(function()
  io.stderr:write("nvim probe: watchdog timeout\n")
  vim.cmd("cquit 3")
end, 60000)

local file = os.getenv("ML_PROBE_FILE")
local python = os.getenv("ML_PROBE_PYTHON") or "python3"
vim.cmd("edit " .. vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
vim.bo[buf].filetype = "python"

local client_id = vim.lsp.start({
  name = "ml-engineer",
  cmd = { python, "-m", "ml_engineer", "serve" },
  root_dir = vim.fs.dirname(file),
  init_options = { mlEngineer = { debounceMs = 0 } },
  flags = { debounce_text_changes = 0 },
}, { bufnr = buf })
if not client_id then
  return fail("vim.lsp.start failed")
end

local function ours()
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if d.source == "ml-engineer" then
      table.insert(out, d)
    end
  end
  return out
end

if not vim.wait(30000, function() return #ours() > 0 end, 20) then
  return fail("no diagnostics after 30 s")
end

local target
for _, d in ipairs(ours()) do
  local lsp = d.user_data and d.user_data.lsp
  if lsp and lsp.data and lsp.data.fix then
    target = lsp
    break
  end
end
if not target then
  return fail("no diagnostic with a fix among " .. #ours())
end
io.stdout:write(string.format("diagnostics: %d; fixing %s at line %d\n", #ours(), target.code, target.range.start.line + 1))

local position_params = {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  position = target.range.start,
}
local hover = vim.lsp.buf_request_sync(buf, "textDocument/hover", position_params, 10000)
local hover_text = ""
for _, response in pairs(hover or {}) do
  if response.result and response.result.contents then
    hover_text = response.result.contents.value or ""
  end
end
if not hover_text:find(target.code, 1, true) then
  return fail("hover does not mention " .. target.code .. ": " .. hover_text)
end

local actions = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  range = target.range,
  context = { diagnostics = { target }, only = { "quickfix" } },
}, 10000)
local fix
local titles = {}
for _, response in pairs(actions or {}) do
  for _, action in ipairs(response.result or {}) do
    table.insert(titles, action.title)
    if not fix and action.edit and action.title:find(target.data.fix.title, 1, true) == 1 then
      fix = action
    end
  end
end
for _, wanted in ipairs({ "Ignore " .. target.code .. " on this line", "Explain " .. target.code }) do
  if not vim.tbl_contains(titles, wanted) then
    return fail("missing code action " .. wanted .. " among " .. table.concat(titles, " | "))
  end
end
if not fix then
  return fail("no quick fix titled " .. target.data.fix.title)
end
vim.lsp.util.apply_workspace_edit(fix.edit, "utf-16")

local line = target.range.start.line
local gone = vim.wait(30000, function()
  for _, d in ipairs(ours()) do
    if d.code == target.code and d.lnum == line then
      return false
    end
  end
  return true
end, 20)
if not gone then
  return fail(target.code .. " is still reported after applying the fix")
end
io.stdout:write("fixed; diagnostics now: " .. #ours() .. "\n")
vim.cmd("qall!")
