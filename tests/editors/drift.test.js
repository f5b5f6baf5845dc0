#!/usr/bin/env node
// drift.test.js — fails when grammar/NNX.g4's keywords or lang/Builtins.def's names disagree with
// what the VS Code grammar and the Vim syntax file highlight. Both sources are parsed here (not
// through editors/generate.js); each word is tokenized by both editors in a few contexts, the
// words each editor file lists are compared with the sources, and `generate.js --check` must find
// nothing stale. Prints `N passed, M failed`.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { ROOT, check, assert, assertAll, finish, grammarKeywords, builtins, loadTextMate, tokenizeText,
  vimTokens } = require('./lib');

const TM_PATH = path.join(ROOT, 'editors/vscode/syntaxes/nnx.tmLanguage.json');
const VIM_PATH = path.join(ROOT, 'editors/vim/syntax/nnx.vim');

/// What a built-in name of each Builtins.def list must look like, in each editor.
const EXPECT = {
  BUILTIN_FN: { tm: 'support.function', vim: 'Function' },
  INITIALIZER: { tm: 'support.function', vim: 'Function' },
  VARIABLE_KIND: { tm: 'support.type.variable-kind', vim: 'StorageClass' },
  DTYPE: { tm: 'support.type.dtype', vim: 'Type' },
  SCALAR_TYPE: { tm: 'support.type.primitive', vim: 'Type' },
  CONSTANT: { tm: 'support.constant', vim: 'Constant' },
};
/// Scopes and Vim groups a grammar keyword may have.
const KEYWORD_TM = /^(keyword|storage\.type|constant\.language)\./;
const KEYWORD_VIM = /^(Keyword|Statement|Conditional|Repeat|Include|Structure|StorageClass|Operator|Boolean|Define|Exception)$/;

const has = (t, scope) => t.scopes.some((s) => s === scope || s.startsWith(scope + '.'));

/// Words listed in the TextMate grammar: every `\b(?:a|b|c)\b` and `\b(word)\s` in its regexes.
function tmWords(grammar) {
  const words = new Set();
  const visit = (v) => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(/\\b\(\?:([A-Za-z0-9_|]+)\)\\b/g)) m[1].split('|').forEach((w) => words.add(w));
      for (const m of v.matchAll(/\\b\(([A-Za-z_][A-Za-z0-9_]*)\)\\s/g)) words.add(m[1]);
    } else if (v && typeof v === 'object') {
      Object.values(v).forEach(visit);
    }
  };
  visit(grammar.repository);
  visit(grammar.patterns);
  return words;
}

/// Words of the Vim syntax file: `syn keyword` lines (but the TODO markers in comments) and the
/// `\<\%(a\|b\)\>` alternatives of `syn match` lines.
function vimWords(text) {
  const words = new Set();
  for (const line of text.split('\n')) {
    let m = /^\s*syn(?:tax)?\s+keyword\s+(\w+)\s+(.*)$/.exec(line);
    if (m && m[1] !== 'nnxTodo') {
      m[2].split(/\s+/).filter((w) => w && !w.includes('=') && !/^(contained|skipwhite|skipnl|skipempty|transparent)$/.test(w))
        .forEach((w) => words.add(w));
      continue;
    }
    m = /^\s*syn(?:tax)?\s+match\s+\w+\s+"(.*)"/.exec(line);
    if (m) {
      for (const alt of m[1].matchAll(/\\<\\%\(([A-Za-z0-9_\\|]+)\\\)\\>/g)) {
        alt[1].split('\\|').forEach((w) => words.add(w));
      }
    }
  }
  return words;
}

function compareSets(actual, expected, what) {
  const missing = [...expected].filter((w) => !actual.has(w)).map((w) => `  missing: ${w}`);
  const extra = [...actual].filter((w) => !expected.has(w)).map((w) => `  not in the sources: ${w}`);
  assertAll([...missing, ...extra], `differences between ${what}`);
}

async function main() {
  const keywords = grammarKeywords();
  const lists = builtins();
  const allBuiltins = new Set(Object.values(lists).flat());
  /// Expected classes of a built-in name (a name may be in two lists).
  const classesOf = (name) => Object.keys(EXPECT).filter((k) => lists[k].includes(name));

  await check('editors/generate.js --check: the editor files are up to date', () => {
    try {
      execFileSync(process.execPath, [path.join(ROOT, 'editors/generate.js'), '--check'],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new Error(String(e.stderr || e.stdout || e.message).trim());
    }
  });
  await check('grammar keywords and built-in names do not overlap', () => {
    assertAll(keywords.filter((k) => allBuiltins.has(k)).map((k) => `  ${k}`), 'names that are both');
  });

  // --- VS Code -------------------------------------------------------------------------------
  await check('the TextMate grammar lists exactly the keywords and built-in names', () => {
    const grammar = JSON.parse(fs.readFileSync(TM_PATH, 'utf8'));
    compareSets(tmWords(grammar), new Set([...keywords, ...allBuiltins]),
      'nnx.tmLanguage.json and grammar/NNX.g4 + lang/Builtins.def');
  });

  let tm;
  await check('vscode-textmate loads the grammar', async () => {
    tm = await loadTextMate();
  });
  if (tm) {
    const tok = (text) => tokenizeText(tm, text);
    const tokenOf = (tokens, line, text) => tokens.find((t) => t.line === line && t.text === text);

    await check('TextMate: every grammar keyword is a keyword, and only as a whole word', () => {
      const problems = [];
      const lines = keywords.flatMap((k) => [k, `${k}_x + x_${k} + ${k}1`]);
      const t = tok(lines.join('\n'));
      keywords.forEach((k, i) => {
        const kwTok = tokenOf(t, 2 * i + 1, k);
        if (!kwTok || !kwTok.scopes.some((s) => KEYWORD_TM.test(s))) {
          problems.push(`  ${k}: [${kwTok ? kwTok.scopes.join(' ') : 'not one token'}]`);
        }
        for (const w of [`${k}_x`, `x_${k}`, `${k}1`]) {
          const wt = tokenOf(t, 2 * i + 2, w);
          if (!wt || wt.scopes.join(' ') !== 'variable.other.nnx') {
            problems.push(`  ${w}: [${wt ? wt.scopes.join(' ') : 'not one token'}]`);
          }
        }
      });
      assertAll(problems, 'keywords highlighted wrongly');
    });
    await check('TextMate: every built-in name has its scope, called or not, and not as a member', () => {
      const problems = [];
      const names = [...allBuiltins];
      const t = tok(names.map((n) => `y = ${n}(x) + ${n} + a.${n} + ${n}_x`).join('\n'));
      names.forEach((n, i) => {
        const toks = t.filter((x) => x.line === i + 1 && x.text === n);
        const want = classesOf(n).map((c) => EXPECT[c].tm);
        for (const [j, ctx] of [[0, 'called'], [1, 'bare']]) {
          if (!toks[j] || !want.some((w) => has(toks[j], w))) {
            problems.push(`  ${n} (${ctx}): [${toks[j] ? toks[j].scopes.join(' ') : '-'}], want ${want.join(' or ')}`);
          }
        }
        if (!toks[2] || !has(toks[2], 'variable.other.member.nnx')) problems.push(`  a.${n}: not a member`);
        const longer = tokenOf(t, i + 1, `${n}_x`);
        if (!longer || longer.scopes.join(' ') !== 'variable.other.nnx') problems.push(`  ${n}_x: highlighted`);
      });
      assertAll(problems, 'built-in names highlighted wrongly');
    });
    await check('TextMate: dtypes and scalar types in annotations, kinds in declarations', () => {
      const problems = [];
      for (const d of [...lists.DTYPE, ...lists.SCALAR_TYPE]) {
        const want = lists.DTYPE.includes(d) ? 'support.type.dtype.nnx' : 'support.type.primitive.nnx';
        const t = tok(`fn f(x: ${d}) -> ${d} = x`);
        t.filter((x) => x.text === d).forEach((x) => has(x, want) || problems.push(`  ${d}: [${x.scopes.join(' ')}]`));
      }
      for (const k of lists.VARIABLE_KIND) {
        const t = tok(`module M() {\n  ${k} v: f32[2] = zeros()\n}`);
        const x = tokenOf(t, 2, k);
        if (!x || !has(x, 'storage.type.variable-kind.nnx')) problems.push(`  ${k} v: [${x ? x.scopes.join(' ') : '-'}]`);
      }
      assertAll(problems, 'types highlighted wrongly');
    });
  }

  // --- Vim -----------------------------------------------------------------------------------
  await check('the Vim syntax file lists exactly the keywords and built-in names', () => {
    compareSets(vimWords(fs.readFileSync(VIM_PATH, 'utf8')), new Set([...keywords, ...allBuiltins]),
      'syntax/nnx.vim and grammar/NNX.g4 + lang/Builtins.def');
  });
  await check('Vim: every keyword and built-in name has its group, and only as a whole word', () => {
    const names = [...allBuiltins];
    const src = [...keywords.map((k) => `${k}\n${k}_x + x_${k} + ${k}1`),
      ...names.map((n) => `y = ${n}(x) + ${n} + a.${n} + ${n}_x`)].join('\n') + '\n';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nnx-drift-'));
    let tokens;
    try {
      fs.writeFileSync(path.join(dir, 'drift.nnx'), src);
      tokens = vimTokens(path.join(dir, 'drift.nnx')).tokens;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const on = (line, text) => tokens.filter((t) => t.line === line && t.text === text);
    const problems = [];
    keywords.forEach((k, i) => {
      const [t] = on(2 * i + 1, k);
      if (!t || !KEYWORD_VIM.test(t.linked)) problems.push(`  ${k}: ${t ? `${t.group} -> ${t.linked}` : 'not one token'}`);
      for (const w of [`${k}_x`, `x_${k}`, `${k}1`]) {
        const [u] = on(2 * i + 2, w);
        if (!u || u.group !== '-') problems.push(`  ${w}: ${u ? u.group : 'not one token'}`);
      }
    });
    const base = 2 * keywords.length;
    names.forEach((n, i) => {
      const toks = on(base + i + 1, n);
      const want = classesOf(n).map((c) => EXPECT[c].vim);
      for (const [j, ctx] of [[0, 'called'], [1, 'bare']]) {
        if (!toks[j] || !want.includes(toks[j].linked)) {
          problems.push(`  ${n} (${ctx}): ${toks[j] ? `${toks[j].group} -> ${toks[j].linked}` : '-'}, want ${want.join(' or ')}`);
        }
      }
      if (!toks[2] || toks[2].group !== '-') problems.push(`  a.${n}: highlighted as ${toks[2] && toks[2].group}`);
      const [longer] = on(base + i + 1, `${n}_x`);
      if (!longer || longer.group !== '-') problems.push(`  ${n}_x: highlighted`);
    });
    assertAll(problems, 'words highlighted wrongly');
  });
  finish();
}

main().catch((e) => {
  console.log(`FAIL ${e.stack || e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
