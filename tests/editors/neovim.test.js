#!/usr/bin/env node
// neovim.test.js — the documented Neovim setup (editors/vim/lua/nnx/lsp.lua with Neovim's
// built-in LSP client) against the real `nnxrun lsp`: a headless Neovim loads an init.lua
// like the one in editors/README.md, opens a .nnx file with an error, and must get the
// diagnostic (code, line, column), a hover with the member's declaration, and formatting edits.
// Prints `N passed, M failed`.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT, check, assert, finish } = require('./lib');

const NNXRUN = process.env.NNXRUN || path.join(ROOT, 'build/bin/nnxrun');

/// The Lua a test runs in Neovim once the file is open: results into `out`, one per line.
const PROBE = `
local out = {}
vim.wait(15000, function() return #vim.diagnostic.get(0) > 0 end, 50)
for _, d in ipairs(vim.diagnostic.get(0)) do
  local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code) or '?'
  table.insert(out, string.format('diagnostic %d:%d %s %s', d.lnum, d.col, code, (d.message:gsub('\\n.*', ''))))
end
local uri = vim.uri_from_bufnr(0)
local hover = vim.lsp.buf_request_sync(0, 'textDocument/hover',
  { textDocument = { uri = uri }, position = { line = 4, character = 3 } }, 5000)
for _, r in pairs(hover or {}) do
  if r.result then table.insert(out, 'hover ' .. (r.result.contents.value:gsub('\\n', ' | '))) end
end
local edits = vim.lsp.buf_request_sync(0, 'textDocument/formatting',
  { textDocument = { uri = uri }, options = { tabSize = 2, insertSpaces = true } }, 5000)
for _, r in pairs(edits or {}) do
  table.insert(out, 'formatting ' .. #(r.result or {}) .. ' edit(s)')
end
vim.fn.writefile(out, OUT)
vim.cmd('qall!')
`;

(async () => {
  const nvim = spawnSync('nvim', ['--version']);
  await check('Neovim is installed (scripts/install-deps.sh brings it)', () => {
    assert(nvim.status === 0, 'nvim not found');
  });
  if (nvim.status !== 0)
    return finish();

  await check('require("nnx.lsp").setup() gives diagnostics, hover and formatting', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nnx-nvim-'));
    const model = fs.readFileSync(path.join(ROOT, 'tests/lsp/model.nnx'), 'utf8')
      .replace('h = relu(hidden(x))', 'h = reluu( hidden(x) )');
    fs.writeFileSync(path.join(dir, 'model.nnx'), model);
    // The init.lua of editors/README.md.
    fs.writeFileSync(path.join(dir, 'init.lua'), [
      `vim.opt.runtimepath:append(${JSON.stringify(path.join(ROOT, 'editors/vim'))})`,
      "vim.cmd('filetype plugin indent on')",
      `require('nnx.lsp').setup({ cmd = { ${JSON.stringify(NNXRUN)}, 'lsp' } })`,
    ].join('\n') + '\n');
    const out = path.join(dir, 'result.txt');
    fs.writeFileSync(path.join(dir, 'probe.lua'), `local OUT = ${JSON.stringify(out)}\n${PROBE}`);
    const run = spawnSync('nvim', ['--headless', '-u', 'init.lua', 'model.nnx', '-c', 'luafile probe.lua'],
      { cwd: dir, timeout: 60000, env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache'),
        XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data') } });
    assert(fs.existsSync(out), `Neovim wrote nothing (exit ${run.status}): ${run.stderr}`);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    const line = model.split('\n').findIndex((l) => l.includes('reluu'));
    const column = model.split('\n')[line].indexOf('reluu');
    assert(lines[0] === `diagnostic ${line}:${column} E0201 unknown name \`reluu\``, lines.join('\n'));
    assert(lines.some((l) => l.startsWith('hover ') && l.includes('hidden = Linear(din, dmid)')),
      lines.join('\n'));
    assert(lines.includes('formatting 1 edit(s)'), lines.join('\n'));
  });

  finish();
})();
