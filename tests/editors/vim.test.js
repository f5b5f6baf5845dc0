#!/usr/bin/env node
// vim.test.js — the Vim plugin (editors/vim) in headless Vim: the highlight group under every
// token of sample.nnx against golden/sample.vim.txt, the tricky cases one by one, what ftdetect,
// ftplugin and indent set, and re-indenting sample.nnx leaves it unchanged. Prints
// `N passed, M failed`; UPDATE_GOLDEN=1 rewrites the golden file.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { SAMPLE, check, assert, assertAll, finish, golden, runVim, runVimWithVimrc, vimTokens, VIM_SCRIPTS } = require('./lib');

async function main() {
  let sample;
  await check('vim loads the nnx syntax and dumps sample.nnx', () => {
    sample = vimTokens(SAMPLE);
  });
  if (!sample) return finish();

  await check('sample.nnx matches golden/sample.vim.txt', () => golden('sample.vim.txt',
    '" Golden Vim highlight groups of tests/editors/sample.nnx: `line:col<Tab>text<Tab>group<Tab>linked group`\n' +
    '" per token (tests/editors/vim/dump.vim). `UPDATE_GOLDEN=1 bash tests/editors/run.sh` rewrites it.\n' +
    sample.text));

  /// The n-th token `text` (on `line` when given) of a dump, and its group.
  const find = (tokens, text, n = 0, line = undefined) => {
    const all = tokens.filter((t) => t.text === text && (line === undefined || t.line === line));
    assert(all.length > n, `no token ${JSON.stringify(text)} #${n}${line ? ` on line ${line}` : ''}`);
    return all[n];
  };
  const expect = (tokens, text, group, n = 0, line = undefined) => {
    const t = find(tokens, text, n, line);
    assert(t.group === group, `${t.line}:${t.col} ${JSON.stringify(text)} is ${t.group}, want ${group}`);
  };
  const probe = (src) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nnx-probe-'));
    const file = path.join(dir, 'probe.nnx');
    fs.writeFileSync(file, src);
    try {
      return vimTokens(file).tokens;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  const s = sample.tokens;
  await check('sample.nnx has no Error group', () => {
    assertAll(s.filter((t) => /Error|Unterminated/.test(t.group)).map((t) => `  ${t.line}:${t.col} ${t.text}`),
      'error tokens');
  });
  await check('`#` inside a string is not a comment', () => {
    const t = find(s, 'shapes # not a comment ');
    assert(t.group === 'nnxString', `${t.group}`);
    expect(s, 'a#b', 'nnxString');
    expect(s, '\\"', 'nnxEscape');
    expect(s, '# a user variable kind', 'nnxComment');
  });
  await check('a keyword inside a longer name is not a keyword', () => {
    for (const n of ['module_count', 'fn_x', 'iffy', 'grads']) expect(s, n, '-');
    expect(s, 'testing', 'nnxParamName', 0);
    expect(s, 'testing', '-', 1);
  });
  await check('numbers in exponent form are one Float token', () => {
    for (const n of ['1e-3', '2.5E+4', '1e-5', '.5', '2.', '0.99']) expect(s, n, 'nnxFloat');
    expect(s, '784', 'nnxNumber');
  });
  await check('a shape with a dimension variable', () => {
    expect(s, 'B', 'nnxDimension');
    expect(s, 'in_features', 'nnxDimension', 0, 10);
    expect(s, '784', 'nnxNumber', 0, 48);
    expect(s, '...', 'nnxEllipsis');
    expect(s, 'f32', 'nnxDtype');
    expect(s, 'Model', 'nnxTypeName', 0, 46);
  });
  await check('nested brackets close where they should', () => {
    expect(s, 'din', 'nnxDimension', 0, 37);
    expect(s, 'head', '-', 0, 37);
    expect(s, 'y', 'nnxParamName', 0, 48);
    expect(s, 'i32', 'nnxDtype', 0, 48);
    const t = probe('fn f(x: f32[B, (n + 1) * dims[0]], y: i32[B]) = x[idx[0], :][0]\nz = 1\n');
    expect(t, 'n', 'nnxDimension');
    expect(t, 'dims', 'nnxDimension');
    expect(t, 'y', 'nnxParamName');
    expect(t, 'z', '-');
  });
  await check('declarations and user variable kinds', () => {
    expect(s, 'Counter', 'nnxKindName', 0);
    expect(s, 'Counter', 'nnxVariableKind', 1);
    expect(s, 'Flag', 'nnxVariableKind', 1);
    expect(s, 'Param', 'nnxVariableKind', 0);
    expect(s, 'kernel', 'nnxVarName', 0);
    expect(s, 'Param', 'nnxBuiltinKind', 2);
    expect(s, 'Linear', 'nnxModuleName', 0);
    expect(s, '__call__', 'nnxFuncName', 0);
    expect(s, 'double', 'nnxFuncName', 0);
    const t = probe('module M() {\n  a = 1; BatchStat m: f32[2]\n  fn relu(x) = x.sum\n}\n');
    expect(t, 'BatchStat', 'nnxVariableKind');
    expect(t, 'm', 'nnxVarName');
    expect(t, 'relu', 'nnxFuncName');
    expect(t, 'sum', '-');
  });
  await check('keyword arguments are not built-ins', () => {
    const t = probe('y = full(shape=[2], fill=0)\nshape = 1\n');
    expect(t, 'full', 'nnxBuiltinFn');
    expect(t, 'shape', 'nnxKwarg');
    expect(t, 'shape', 'nnxBuiltinFn', 1);
  });
  await check('what the lexer rejects is an error', () => {
    const t = probe('x = $\nx = a ! b\nx = "abc\nx = "\\q"\nx = a != b\n');
    expect(t, '$', 'nnxError');
    expect(t, '!', 'nnxError');
    expect(t, '"abc', 'nnxUnterminated');
    expect(t, '\\q', 'nnxEscapeError');
    expect(t, '!=', 'nnxOperator');
  });

  await check('ftdetect, ftplugin and indent set the buffer up', () => {
    const out = runVim(path.join(VIM_SCRIPTS, 'options.vim'), SAMPLE);
    const opts = Object.fromEntries(out.split('\n').filter((l) => l.includes('=') && !l.startsWith('reindent'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const want = { filetype: 'nnx', syntax: 'nnx', commentstring: '# %s', comments: ':#', shiftwidth: '2',
      softtabstop: '2', expandtab: '1', indentexpr: 'GetNnxIndent(v:lnum)' };
    assertAll(Object.entries(want).filter(([k, v]) => opts[k] !== v)
      .map(([k, v]) => `  ${k}=${opts[k]}, want ${v}`), 'options wrong');
    assert(/0\}/.test(opts.indentkeys), `indentkeys=${opts.indentkeys} lacks 0}`);
  });
  await check('the plugin loads from a vimrc (compatible cpo) and its undo restores the options', () => {
    for (const extra of [[], ['set nocompatible'], ['set cpoptions+=C']]) {
      const rows = Object.fromEntries(runVimWithVimrc(path.join(VIM_SCRIPTS, 'undo.vim'), SAMPLE, extra)
        .split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const label = extra.join(' ') || 'a bare vimrc';
      assert(rows.errmsg === '', `${label}: loading the plugins said ${JSON.stringify(rows.errmsg)}`);
      assert(rows.filetype === 'nnx' && rows.shiftwidth === '2' && rows.commentstring === '# %s',
        `${label}: ftplugin options ${JSON.stringify(rows)}`);
      assert(rows.undone_shiftwidth === '8' && rows.undone_commentstring !== '# %s' && rows.undone_indentexpr === '',
        `${label}: b:undo_ftplugin/b:undo_indent left ${JSON.stringify(rows)}`);
      if (extra.length === 0 || extra[0].includes('cpoptions'))
        assert(rows.cpo.includes('C'), `${label}: cpo ${rows.cpo} should keep the user's C`);
    }
  });
  await check('re-indenting sample.nnx (gg=G) changes nothing', () => {
    const out = runVim(path.join(VIM_SCRIPTS, 'options.vim'), SAMPLE);
    assertAll(out.split('\n').filter((l) => l.startsWith('reindent')), 'lines re-indented differently');
  });
  await check('indentation of a flattened file is restored', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nnx-indent-'));
    const want = 'module M(a: int,\n  b: int) {\n  x = f(a,\n    g(b))\n  if x {\n    y = [\n      1,\n' +
      '    ]\n  } else {\n    y = "}"  # ) ]\n  }\n}\n';
    const file = path.join(dir, 'flat.nnx');
    fs.writeFileSync(file, want.replace(/^ +/gm, ''));
    try {
      const out = runVim(path.join(VIM_SCRIPTS, 'options.vim'), file);
      const got = want.replace(/^ +/gm, '').split('\n');
      for (const l of out.split('\n').filter((l) => l.startsWith('reindent'))) {
        const m = /^reindent (\d+): (.*)$/.exec(l);
        got[Number(m[1]) - 1] = m[2];
      }
      assert(got.join('\n') === want, `re-indented:\n${got.join('\n')}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  finish();
}

main().catch((e) => {
  console.log(`FAIL ${e.stack || e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
