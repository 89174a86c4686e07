-- Appended after the README/docs Neovim snippet: acts like a new user opening a training script.
-- Exit code: 0 success, 1 a check failed, 3 watchdog timeout.
local function fail(message)
  io.stderr:write("snippet probe: " .. message .. "\n")
  vim.cmd("cquit 1")
end
vim.defer_fn(function() io.stderr:write("snippet probe: watchdog timeout\n"); vim.cmd("cquit 3") end, 60000)

-- Run after start-up, as a user would: filetype detection is only enabled once init.lua is done.
vim.api.nvim_create_autocmd("VimEnter", { once = true, callback = function() vim.schedule(function()
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("ML_PROBE_FILE")))
  local buf = vim.api.nvim_get_current_buf()
  if not vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 20) then
    return fail("no diagnostics: is ml-engineer on PATH and the snippet right?")
  end
  io.stdout:write("diagnostics: " .. #vim.diagnostic.get(buf) .. "\n")

  if not vim.wait(15000, function()
    vim.lsp.codelens.refresh({ bufnr = buf })
    vim.wait(200)
    return #vim.lsp.codelens.get(buf) > 0
  end, 50) then
    return fail("no code lens")
  end
  local lens = vim.lsp.codelens.get(buf)[1]
  io.stdout:write("code lens: " .. lens.command.title .. "\n")

  -- Click the lens: the snippet's client-side mlEngineer.ask handler asks and opens the answer.
  vim.lsp.commands["mlEngineer.ask"](lens.command, { bufnr = buf })
  if not vim.wait(30000, function() return vim.bo.filetype == "markdown" and vim.api.nvim_buf_line_count(0) > 1 end, 20) then
    return fail("no answer buffer")
  end
  io.stdout:write("answer: " .. vim.api.nvim_buf_get_lines(0, 0, 1, false)[1] .. "\n")
  vim.cmd("qall!")
end) end })
