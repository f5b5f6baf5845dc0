// lib.js — shared helpers of the editor-plugin tests: a tiny test harness, golden files, the
// sources of truth (parsed here independently of editors/generate.js), and the two tokenizers
// (VS Code's vscode-textmate + vscode-oniguruma, and headless Vim).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '../..');
const HERE = __dirname;
const GOLDEN_DIR = path.join(HERE, 'golden');
const SAMPLE = path.join(HERE, 'sample.nnx');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

// --- Harness ---------------------------------------------------------------------------------

let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed++;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n  ${String(e && e.message ? e.message : e).replace(/\n/g, '\n  ')}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/// Collects several failures of one check into one error, so a drift lists every word at once.
function assertAll(problems, what) {
  if (problems.length) throw new Error(`${problems.length} ${what}:\n${problems.join('\n')}`);
}

function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

/// Compares text with golden/<name>; UPDATE_GOLDEN=1 rewrites it instead.
function golden(name, text) {
  const file = path.join(GOLDEN_DIR, name);
  if (UPDATE) {
    fs.mkdirSync(GOLDEN_DIR, { recursive: true });
    fs.writeFileSync(file, text);
    return;
  }
  assert(fs.existsSync(file), `missing golden ${path.relative(ROOT, file)} (run with UPDATE_GOLDEN=1)`);
  const want = fs.readFileSync(file, 'utf8');
  if (want === text) return;
  const a = want.split('\n');
  const b = text.split('\n');
  const diff = [];
  for (let i = 0; i < Math.max(a.length, b.length) && diff.length < 40; i++) {
    if (a[i] !== b[i]) diff.push(`  line ${i + 1}:\n    golden: ${a[i]}\n    actual: ${b[i]}`);
  }
  throw new Error(`${path.relative(ROOT, file)} differs (UPDATE_GOLDEN=1 rewrites it):\n${diff.join('\n')}`);
}

// --- Sources of truth ------------------------------------------------------------------------

/// Keyword literals of the KEYWORDS section of grammar/NNX.g4.
function grammarKeywords() {
  const text = fs.readFileSync(path.join(ROOT, 'grammar/NNX.g4'), 'utf8');
  // From the "// KEYWORDS" header to the first "// ----" line after a keyword rule.
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^\/\/ *KEYWORDS/.test(l));
  assert(start >= 0, 'grammar/NNX.g4: no KEYWORDS section');
  const words = [];
  for (const l of lines.slice(start + 1)) {
    const m = /^\s*[A-Z_][A-Z0-9_]*\s*:\s*'([^']+)'\s*;/.exec(l);
    if (m) words.push(m[1]);
    else if (words.length && /^\/\/ *-{10,}/.test(l)) break;
  }
  assert(words.length > 0, 'grammar/NNX.g4: the KEYWORDS section lists nothing');
  return words;
}

/// { BUILTIN_FN: [...], INITIALIZER: [...], VARIABLE_KIND, DTYPE, SCALAR_TYPE, CONSTANT }.
function builtins() {
  const text = fs.readFileSync(path.join(ROOT, 'lang/Builtins.def'), 'utf8');
  const lists = {};
  for (const m of text.matchAll(/^NNX_([A-Z_]+)\((\w+)\)/gm)) (lists[m[1]] = lists[m[1]] || []).push(m[2]);
  for (const k of ['BUILTIN_FN', 'INITIALIZER', 'VARIABLE_KIND', 'DTYPE', 'SCALAR_TYPE', 'CONSTANT']) {
    assert(lists[k] && lists[k].length, `lang/Builtins.def: no NNX_${k} entries`);
  }
  return lists;
}

/// Every .nnx file under examples/ and stdlib/ (recursively), repo-relative, sorted.
function nnxFiles() {
  const out = [];
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.nnx')) out.push(path.relative(ROOT, p));
    }
  };
  walk(path.join(ROOT, 'examples'));
  walk(path.join(ROOT, 'stdlib'));
  return out.sort();
}

// --- VS Code's tokenizer -----------------------------------------------------------------------

const VSCODE_DIR = path.join(ROOT, 'editors/vscode');
const TM_GRAMMAR = path.join(VSCODE_DIR, 'syntaxes/nnx.tmLanguage.json');

/// The nnx grammar loaded the way VS Code loads it.
async function loadTextMate() {
  let vsctm;
  let oniguruma;
  try {
    vsctm = require(path.join(VSCODE_DIR, 'node_modules/vscode-textmate'));
    oniguruma = require(path.join(VSCODE_DIR, 'node_modules/vscode-oniguruma'));
  } catch (e) {
    throw new Error('vscode-textmate/vscode-oniguruma missing: run `npm ci` in editors/vscode');
  }
  const wasm = fs.readFileSync(path.join(VSCODE_DIR, 'node_modules/vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== 'source.nnx') return null;
      const text = fs.readFileSync(TM_GRAMMAR, 'utf8');
      return vsctm.parseRawGrammar(text, TM_GRAMMAR);
    },
  });
  const grammar = await registry.loadGrammar('source.nnx');
  assert(grammar, 'vscode-textmate could not load source.nnx');
  return { grammar, INITIAL: vsctm.INITIAL };
}

/// [{line, col, text, scopes}] (1-based line and column; the root scope source.nnx left out).
function tokenizeText(tm, text) {
  const tokens = [];
  let stack = tm.INITIAL;
  text.split(/\r?\n/).forEach((line, i) => {
    const r = tm.grammar.tokenizeLine(line, stack);
    for (const t of r.tokens) {
      const s = line.slice(t.startIndex, t.endIndex);
      if (s === '') continue;
      tokens.push({ line: i + 1, col: t.startIndex + 1, text: s, scopes: t.scopes.slice(1) });
    }
    stack = r.ruleStack;
  });
  return tokens;
}

// --- Vim ---------------------------------------------------------------------------------------

const VIM_DIR = path.join(ROOT, 'editors/vim');
const VIM_SCRIPTS = path.join(HERE, 'vim');

/// Runs headless Vim on file with editors/vim on 'runtimepath' and a script that writes its
/// results to an output file, whose text is returned.
function runVim(script, file) {
  return runVimIn('nnx-vim-', (out) => ['-N', '-u', 'NONE', '-i', 'NONE', '-n', '-es',
    '--cmd', `set runtimepath^=${VIM_DIR}`,
    '--cmd', `let g:nnx_out = '${out.replace(/'/g, "''")}'`,
    '--cmd', 'filetype plugin indent on', '--cmd', 'syntax on',
    '-S', script, file], script);
}

/// Runs `script` on `file` in Vim started as a user starts it: with a vimrc (`-u`, which
/// leaves Vim 'compatible', so 'cpoptions' holds C) that adds the plugin to 'runtimepath' and
/// turns on filetype plugins, indent and syntax — the setup `-u NONE -N` hides.
function runVimWithVimrc(script, file, extraLines = []) {
  return runVimIn('nnx-vimrc-', (out, tmp) => {
    const vimrc = path.join(tmp, 'vimrc');
    fs.writeFileSync(vimrc, [`set runtimepath^=${VIM_DIR}`, ...extraLines,
      'filetype plugin indent on', 'syntax on', `let g:nnx_out = '${out.replace(/'/g, "''")}'`].join('\n') + '\n');
    return ['-u', vimrc, '-i', 'NONE', '-n', '-es', '-S', script, file];
  }, script);
}

/// Runs headless Vim with the arguments `argsFor(out, tmp)` gives in a fresh temporary
/// directory `tmp`; returns what the script wrote to `out` (g:nnx_out).
function runVimIn(prefix, argsFor, script) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const out = path.join(tmp, 'out.txt');
  try {
    try {
      execFileSync('vim', argsFor(out, tmp), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
    } catch (e) {
      const msg = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
      throw new Error(`vim failed (${e.code || e.status}): ${msg}${e.stderr || ''}${e.stdout || ''}`);
    }
    assert(fs.existsSync(out), `vim wrote no output for ${path.basename(script)}`);
    return fs.readFileSync(out, 'utf8');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/// [{line, col, text, group, linked}] from the dump script (tests/editors/vim/dump.vim).
function vimTokens(file) {
  const text = runVim(path.join(VIM_SCRIPTS, 'dump.vim'), file);
  const rows = text.split('\n').filter((l) => l !== '');
  return {
    text,
    tokens: rows.map((row) => {
      const [pos, tok, group, linked] = row.split('\t');
      const [line, col] = pos.split(':').map(Number);
      return { line, col, text: tok, group, linked };
    }),
  };
}

module.exports = {
  runVimWithVimrc,
  ROOT, HERE, SAMPLE, check, assert, assertAll, finish, golden, grammarKeywords, builtins, nnxFiles,
  loadTextMate, tokenizeText, runVim, vimTokens, VIM_SCRIPTS,
};
