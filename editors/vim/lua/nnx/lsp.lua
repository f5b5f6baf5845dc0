-- lua/nnx/lsp.lua — `nnxrun lsp` for Neovim's built-in LSP client (Neovim 0.7 and later).
--
-- With editors/vim on 'runtimepath' (see editors/README.md), in init.lua:
--
--   require('nnx.lsp').setup({ cmd = { '/path/to/nnx/build/bin/nnxrun', 'lsp' } })
--
-- Every buffer of filetype nnx then gets the server: diagnostics, hover (K with
-- vim.lsp.buf.hover), go to definition, references, completion (omnifunc), the outline and
-- formatting (vim.lsp.buf.format, or vim.lsp.buf.formatting on 0.7). One server per directory
-- of files is started and shared.
local M = {}

--- Starts (or reuses) the nnx server for buffer `bufnr` with `opts.cmd`.
local function attach(bufnr, opts)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local root = vim.fn.fnamemodify(name, ':p:h')
  local config = {
    name = 'nnx',
    cmd = opts.cmd,
    root_dir = root,
    -- The modules hover traces where the file's tests do not (nnx.instances in VS Code).
    init_options = { instances = opts.instances or {} },
    on_attach = function(client, buf)
      vim.api.nvim_buf_set_option(buf, 'omnifunc', 'v:lua.vim.lsp.omnifunc')
      if opts.on_attach then
        opts.on_attach(client, buf)
      end
    end,
  }
  if vim.lsp.start then -- Neovim 0.8 and later: reuses a client with the same name and root
    vim.lsp.start(config, { bufnr = bufnr })
    return
  end
  M.clients = M.clients or {}
  local id = M.clients[root]
  if not id or vim.lsp.get_client_by_id(id) == nil then
    id = vim.lsp.start_client(config)
    M.clients[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

--- Registers the server for filetype nnx. `opts.cmd`: the command (default {'nnxrun', 'lsp'});
--- `opts.instances`: module expressions hover traces with ({ 'Model(784, 256, 10)' });
--- `opts.on_attach(client, bufnr)`: called for each buffer, e.g. to map keys.
function M.setup(opts)
  opts = vim.tbl_extend('force', { cmd = { 'nnxrun', 'lsp' } }, opts or {})
  if vim.fn.executable(opts.cmd[1]) ~= 1 then
    vim.notify('nnx: ' .. opts.cmd[1] .. ' is not executable; set cmd in require("nnx.lsp").setup()',
      vim.log.levels.WARN)
    return
  end
  local group = vim.api.nvim_create_augroup('nnx_lsp', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'nnx',
    callback = function(args)
      attach(args.buf, opts)
    end,
  })
end

return M
