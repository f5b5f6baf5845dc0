#!/usr/bin/env node
// textmate.test.js — the VS Code grammar (editors/vscode/syntaxes/nnx.tmLanguage.json) run through
// vscode-textmate + vscode-oniguruma, the tokenizer VS Code itself uses: golden scopes of
// sample.nnx, every .nnx of examples/ and stdlib/ tokenized without an invalid.illegal token, and
// the tricky cases checked one by one. Prints `N passed, M failed`; UPDATE_GOLDEN=1 rewrites the
// golden file.
'use strict';

const fs = require('fs');
const path = require('path');
const { ROOT, SAMPLE, check, assert, assertAll, finish, golden, nnxFiles, loadTextMate, tokenizeText } =
  require('./lib');

/// The golden text: each source line, then one `line:col<Tab>text<Tab>scopes` row per token.
function snapshot(text, tokens) {
  const out = ['# Golden VS Code scopes (vscode-textmate) of tests/editors/sample.nnx: each source line, then',
    '# `line:col<Tab>text<Tab>scopes` per token. `UPDATE_GOLDEN=1 bash tests/editors/run.sh` rewrites it.'];
  const lines = text.split(/\r?\n/);
  lines.forEach((src, i) => {
    if (src.trim() === '') return;
    out.push(`# ${String(i + 1).padStart(3)} | ${src}`);
    for (const t of tokens.filter((t) => t.line === i + 1 && t.text.trim() !== '')) {
      out.push(`${t.line}:${t.col}\t${t.text.replace(/\t/g, '\\t')}\t${t.scopes.join(' ')}`);
    }
  });
  return out.join('\n') + '\n';
}

/// True when one of the token's scopes is `scope` or a child of it (TextMate selector rules).
const has = (t, scope) => t.scopes.some((s) => s === scope || s.startsWith(scope + '.'));

function illegal(tokens) {
  return tokens.filter((t) => t.scopes.some((s) => s.startsWith('invalid.illegal')))
    .map((t) => `  ${t.line}:${t.col} ${JSON.stringify(t.text)} ${t.scopes.join(' ')}`);
}

async function main() {
  let tm;
  await check('vscode-textmate loads the grammar', async () => {
    tm = await loadTextMate();
  });
  if (!tm) return finish();

  const tok = (text) => tokenizeText(tm, text);
  /// The n-th token (0-based) whose text is exactly `text`, on `line` when given.
  const find = (tokens, text, n = 0, line = undefined) => {
    const all = tokens.filter((t) => t.text === text && (line === undefined || t.line === line));
    assert(all.length > n, `no token ${JSON.stringify(text)} #${n}; tokens: ` +
      tokens.map((t) => JSON.stringify(t.text)).join(' '));
    return all[n];
  };
  const expect = (tokens, text, scope, n = 0) => {
    const t = find(tokens, text, n);
    assert(has(t, scope), `${JSON.stringify(text)} has scopes [${t.scopes.join(' ')}], want ${scope}`);
  };
  const expectNot = (tokens, text, scope, n = 0) => {
    const t = find(tokens, text, n);
    assert(!has(t, scope), `${JSON.stringify(text)} has scopes [${t.scopes.join(' ')}], must not have ${scope}`);
  };

  // --- Golden snapshot and files of the repository -------------------------------------------
  const sampleText = fs.readFileSync(SAMPLE, 'utf8');
  await check('sample.nnx matches golden/sample.tm.txt', () => {
    golden('sample.tm.txt', snapshot(sampleText, tok(sampleText)));
  });
  await check('sample.nnx has no invalid.illegal token', () => {
    assertAll(illegal(tok(sampleText)), 'invalid.illegal tokens in sample.nnx');
  });
  const files = nnxFiles();
  for (const file of files) {
    await check(`${file} tokenizes without error`, () => {
      const tokens = tok(fs.readFileSync(path.join(ROOT, file), 'utf8'));
      assertAll(illegal(tokens), `invalid.illegal tokens in ${file}`);
    });
  }
  console.log(`(tokenized ${files.length} .nnx file(s) of examples/ and stdlib/)`);

  // --- Tricky cases ----------------------------------------------------------------------------
  await check('`#` inside a string is not a comment', () => {
    const t = tok('x = "a # b \\"c\\" # d"  # real comment');
    expect(t, 'a # b ', 'string.quoted.double.nnx');
    expect(t, ' # d', 'string.quoted.double.nnx');
    expect(t, '\\"', 'constant.character.escape.nnx');
    expect(t, ' real comment', 'comment.line.number-sign.nnx');
    assert(!t.some((x) => x.text.startsWith('#') && x.col < 20 && has(x, 'comment')), 'comment inside string');
  });
  await check('a keyword inside a longer name is not a keyword', () => {
    const names = ['testing', 'module_count', 'fn_x', 'iffy', 'returned', 'x_test', 'grads', 'scanner',
      'vmap2', 'android', 'notable', 'truey', 'imports', 'variables', '_fn', 'elsewhere'];
    const t = tok(`${names.join(' + ')}\nfn f(${names.join(', ')}) = 0`);
    for (const n of names) {
      const first = find(t, n, 0);
      assert(first.scopes.join(' ') === 'variable.other.nnx', `${n}: [${first.scopes.join(' ')}]`);
      assert(has(find(t, n, 1), 'variable.parameter.nnx'), `${n} as a parameter`);
    }
  });
  await check('numbers in every form are one token each', () => {
    const t = tok('y = 1e-3 + 2.5E+4 + .5 + 2. + 10 + 0.99 + 1e10 + 3.0e-2');
    for (const n of ['1e-3', '2.5E+4', '.5', '2.', '0.99', '1e10', '3.0e-2']) expect(t, n, 'constant.numeric.float.nnx');
    expect(t, '10', 'constant.numeric.integer.nnx');
    assert(!t.some((x) => x.text === 'e' || x.text === '-3'), 'exponent split off');
    const u = tok('x1 = y2e3');
    expect(u, 'x1', 'variable.other.nnx');
    expect(u, 'y2e3', 'variable.other.nnx');
  });
  await check('a shape with a dimension variable', () => {
    const t = tok('fn f(x: f32[B, 784], n: int) -> f32[B] = x');
    expect(t, 'f32', 'support.type.dtype.nnx');
    expect(t, 'B', 'variable.other.dimension.nnx');
    expect(t, 'B', 'meta.type.shape.nnx');
    expect(t, '784', 'constant.numeric.integer.nnx');
    expect(t, '784', 'meta.type.shape.nnx');
    expect(t, 'n', 'variable.parameter.nnx');
    expect(t, 'int', 'support.type.primitive.nnx');
    expect(t, '->', 'keyword.operator.arrow.nnx');
    expect(t, 'B', 'variable.other.dimension.nnx', 1);
    expect(t, 'x', 'variable.other.nnx', 1);
  });
  await check('shapes with `...`, `[]` and expressions', () => {
    const t = tok('fn f(x: f32[..., in_features], s: f32[], m: Model) = x');
    expect(t, '...', 'constant.other.ellipsis.nnx');
    expect(t, 'in_features', 'variable.other.dimension.nnx');
    expect(t, 's', 'variable.parameter.nnx');
    expect(t, 'm', 'variable.parameter.nnx');
    expect(t, 'Model', 'entity.name.type.nnx');
  });
  await check('nested brackets close where they should', () => {
    const t = tok('fn f(x: f32[B, (n + 1) * dims[0]], y: i32[B]) = x[idx[0], :, ::2][0] + g([[1, 2], [3]])\nz = 1');
    expect(t, 'n', 'variable.other.dimension.nnx');
    expect(t, 'dims', 'variable.other.dimension.nnx');
    expect(t, 'y', 'variable.parameter.nnx');
    expect(t, 'i32', 'support.type.dtype.nnx');
    expect(t, 'idx', 'meta.item-access.nnx');
    expect(t, ':', 'punctuation.separator.slice.nnx', 2);
    expect(t, 'g', 'entity.name.function.call.nnx');
    expect(t, '3', 'meta.list.nnx');
    const z = find(t, 'z');
    assert(z.scopes.join(' ') === 'variable.other.nnx', `z after the brackets: [${z.scopes.join(' ')}]`);
  });
  await check('brackets spanning lines', () => {
    const t = tok('module M(a: int,\n    b: f32[N,\n      K]) {\n  Counter c: f32[N] = zeros()\n  h = concat([a,\n    b], axis=-1)\n}\nfn g() = 0');
    expect(t, 'b', 'variable.parameter.nnx');
    expect(t, 'K', 'variable.other.dimension.nnx');
    expect(t, 'Counter', 'storage.type.variable-kind.nnx');
    expect(t, 'axis', 'variable.parameter.function-call.nnx');
    expect(t, 'g', 'entity.name.function.nnx');
    assertAll(illegal(t), 'invalid.illegal tokens');
  });
  await check('declarations: modules, functions, kinds, variables', () => {
    const t = tok('variable Counter\nmodule Block(din: int) {\n  Param w: f32[din] = lecun_normal()\n' +
      '  Counter count: i32[] = 0\n  a = 1; BatchStat m: f32[din]\n  count = Counter(0)\n' +
      '  fn __call__(x) = x\n  fn relu(x) = x\n}');
    expect(t, 'variable', 'storage.type.kind.nnx');
    expect(t, 'Counter', 'entity.name.type.kind.nnx', 0);
    expect(t, 'module', 'storage.type.module.nnx');
    expect(t, 'Block', 'entity.name.type.module.nnx');
    expect(t, 'din', 'variable.parameter.nnx');
    expect(t, 'Param', 'storage.type.variable-kind.nnx');
    expect(t, 'w', 'variable.other.member.nnx');
    expect(t, 'lecun_normal', 'support.function.initializer.nnx');
    expect(t, 'Counter', 'storage.type.variable-kind.nnx', 1);
    expect(t, 'count', 'variable.other.member.nnx');
    expect(t, 'BatchStat', 'storage.type.variable-kind.nnx');
    expect(t, 'm', 'variable.other.member.nnx');
    expect(t, 'Counter', 'entity.name.type.nnx', 2);
    expect(t, 'fn', 'storage.type.function.nnx');
    expect(t, '__call__', 'entity.name.function.nnx');
    expect(t, 'relu', 'entity.name.function.nnx');
  });
  await check('calls, members, keyword arguments, transforms', () => {
    const t = tok('y = vmap(n) Block(a, momentum=0.9)(x).sum(axis=-1) + relu(x.relu) + f(a == b)\n' +
      'g = value_and_grad(loss_fn)(m); parts = split(m, Param, BatchStat); s = training');
    expect(t, 'vmap', 'keyword.other.transform.nnx');
    expect(t, 'Block', 'entity.name.type.nnx');
    expect(t, 'momentum', 'variable.parameter.function-call.nnx');
    expect(t, 'sum', 'entity.name.function.call.nnx');
    expect(t, 'axis', 'variable.parameter.function-call.nnx');
    expect(t, 'relu', 'support.function.builtin.nnx');
    expect(t, 'relu', 'variable.other.member.nnx', 1);
    expect(t, 'a', 'variable.other.nnx', 1);
    expect(t, '==', 'keyword.operator.comparison.nnx');
    expect(t, 'value_and_grad', 'keyword.other.transform.nnx');
    expect(t, 'split', 'support.function.builtin.nnx');
    expect(t, 'Param', 'support.type.variable-kind.nnx');
    expect(t, 'training', 'support.constant.builtin.nnx');
  });
  await check('operators', () => {
    const t = tok('a = b @ c ** 2 % 3 - -d / e * f + g; a += 1; a -= 1; a *= 2; a /= 2\nq = a == b != c <= d >= e < f > g and not h or i');
    const want = { '@': 'keyword.operator.matrix.nnx', '**': 'keyword.operator.arithmetic.nnx',
      '%': 'keyword.operator.arithmetic.nnx', '-': 'keyword.operator.arithmetic.nnx',
      '/': 'keyword.operator.arithmetic.nnx', '*': 'keyword.operator.arithmetic.nnx',
      '+': 'keyword.operator.arithmetic.nnx', '=': 'keyword.operator.assignment.nnx',
      '+=': 'keyword.operator.assignment.compound.nnx', '-=': 'keyword.operator.assignment.compound.nnx',
      '*=': 'keyword.operator.assignment.compound.nnx', '/=': 'keyword.operator.assignment.compound.nnx',
      '==': 'keyword.operator.comparison.nnx', '!=': 'keyword.operator.comparison.nnx',
      '<=': 'keyword.operator.comparison.nnx', '>=': 'keyword.operator.comparison.nnx',
      '<': 'keyword.operator.comparison.nnx', '>': 'keyword.operator.comparison.nnx',
      'and': 'keyword.operator.logical.nnx', 'not': 'keyword.operator.logical.nnx',
      'or': 'keyword.operator.logical.nnx', ';': 'punctuation.terminator.statement.nnx' };
    for (const [op, scope] of Object.entries(want)) expect(t, op, scope);
  });
  await check('statements: import, test, assert, if/else, return', () => {
    const t = tok('import "basics.nnx"\ntest "a" {\n  if x { return 1 } else { return 2 }\n  assert true, "msg"\n}');
    expect(t, 'import', 'keyword.control.import.nnx');
    expect(t, 'basics.nnx', 'string.quoted.double.nnx');
    expect(t, 'test', 'keyword.other.test.nnx');
    expect(t, 'if', 'keyword.control.conditional.nnx');
    expect(t, 'else', 'keyword.control.conditional.nnx');
    expect(t, 'return', 'keyword.control.flow.return.nnx');
    expect(t, 'assert', 'keyword.control.assert.nnx');
    expect(t, 'true', 'constant.language.boolean.nnx');
    expect(t, '{', 'punctuation.section.block.begin.nnx');
    expect(t, '}', 'punctuation.section.block.end.nnx', 2);
  });
  await check('what the lexer rejects is invalid.illegal', () => {
    const cases = { 'x = $': '$', 'x = a ! b': '!', 'x = "abc': '"abc', 'x = "\\q"': '\\q', 'x = a)': ')',
      'x = [1, 2)': ')', 'x = é': 'é', '}': '}' };
    for (const [src, bad] of Object.entries(cases)) {
      const t = tok(src);
      expect(t, bad, 'invalid.illegal');
    }
    expectNot(tok('x = a != b'), '!=', 'invalid.illegal');
  });
  // --- The extension around the grammar ---------------------------------------------------------
  const ext = path.join(ROOT, 'editors/vscode');
  // VS Code reads language-configuration and snippet files as JSON with comments.
  const jsonc = (file) => JSON.parse(fs.readFileSync(path.join(ext, file), 'utf8').replace(/^\s*\/\/.*$/gm, ''));
  await check('package.json declares the nnx language, grammar and snippets', () => {
    const pkg = jsonc('package.json');
    for (const k of ['name', 'displayName', 'publisher', 'version', 'license']) assert(pkg[k], `no ${k}`);
    assert(pkg.engines && pkg.engines.vscode, 'no engines.vscode');
    const [lang] = pkg.contributes.languages;
    assert(lang.id === 'nnx' && lang.extensions.includes('.nnx'), 'language nnx / .nnx');
    const [gram] = pkg.contributes.grammars;
    assert(gram.language === 'nnx' && gram.scopeName === 'source.nnx', 'grammar for nnx');
    const [snip] = pkg.contributes.snippets;
    for (const f of [lang.configuration, gram.path, snip.path]) assert(fs.existsSync(path.join(ext, f)), `missing ${f}`);
    assert(jsonc(gram.path).scopeName === 'source.nnx', 'grammar scopeName');
    for (const d of ['@vscode/vsce', 'vscode-textmate', 'vscode-oniguruma']) {
      assert(/^\d+\.\d+\.\d+$/.test(pkg.devDependencies[d] || ''), `${d} not pinned`);
    }
    assert(fs.existsSync(path.join(ext, 'package-lock.json')), 'no package-lock.json');
  });
  await check('snippets for module, fn and test parse, and their bodies tokenize cleanly', () => {
    const snippets = jsonc('snippets/nnx.json');
    const prefixes = Object.values(snippets).map((s) => s.prefix);
    for (const p of ['module', 'fn', 'test']) assert(prefixes.includes(p), `no ${p} snippet`);
    for (const [name, s] of Object.entries(snippets)) {
      // The text a snippet inserts with its default placeholders.
      let body = [].concat(s.body).join('\n').replace(/\t/g, '  ');
      for (let i = 0; i < 5; i++) {
        body = body.replace(/\$\{\d+\}|\$\d+/g, 'x').replace(/\$\{\d+:([^${}]*)\}/g, '$1');
      }
      assertAll(illegal(tok(body)), `invalid tokens in the ${name} snippet`);
    }
  });
  await check('language-configuration: # comments, brackets, indentation rules', () => {
    const conf = jsonc('language-configuration.json');
    assert(conf.comments.lineComment === '#', 'lineComment');
    for (const pair of ['{}', '[]', '()']) {
      assert(conf.brackets.some((b) => b.join('') === pair), `bracket ${pair}`);
      assert(conf.autoClosingPairs.some((b) => b.open + b.close === pair), `auto-closing ${pair}`);
    }
    assert(conf.autoClosingPairs.some((b) => b.open === '"'), 'auto-closing quotes');
    const inc = new RegExp(conf.indentationRules.increaseIndentPattern);
    const dec = new RegExp(conf.indentationRules.decreaseIndentPattern);
    const yes = ['module M(a: int) {', '  x = f(a,', '  w = [  # comment', '} else {', '  y = g("}") {'];
    const no = ['  x = f(a)', '  y = "{"', '  z = 1  # {', '  w = [1, 2]', '}'];
    for (const l of yes) assert(inc.test(l), `increaseIndentPattern misses ${JSON.stringify(l)}`);
    for (const l of no) assert(!inc.test(l), `increaseIndentPattern matches ${JSON.stringify(l)}`);
    for (const l of ['}', '  ) ', '] + 1', '} else {']) assert(dec.test(l), `decreaseIndentPattern misses ${l}`);
    assert(!dec.test('  x = 1 }'), 'decreaseIndentPattern matches a line not starting with }');
  });
  finish();
}

main().catch((e) => {
  console.log(`FAIL ${e.stack || e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
