#!/usr/bin/env node
// generate.js — builds the nnx editor plugins' highlighting from the language's sources of truth.
//
// The keyword list comes from the KEYWORDS section of grammar/NNX.g4 and the built-in names from
// the X-macro lists of lang/Builtins.def; nothing here or in the plugins repeats them by hand.
// This script writes
//   editors/vscode/syntaxes/nnx.tmLanguage.json   (the whole TextMate grammar, defined below)
//   editors/vim/syntax/nnx.vim                    (only the block between the GENERATED markers)
// Usage: node editors/generate.js           rewrite both files
//        node editors/generate.js --check   exit 1 (and say which) when a file is stale
// tests/editors runs the --check form, so a keyword added to the grammar without regenerating
// the plugins fails `make test`.
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const G4_PATH = path.join(ROOT, 'grammar/NNX.g4');
const DEF_PATH = path.join(ROOT, 'lang/Builtins.def');
const TM_PATH = path.join(ROOT, 'editors/vscode/syntaxes/nnx.tmLanguage.json');
const VIM_PATH = path.join(ROOT, 'editors/vim/syntax/nnx.vim');

// -----------------------------------------------------------------------------------------------
// Sources of truth
// -----------------------------------------------------------------------------------------------

/// Keyword literals of the KEYWORDS section of NNX.g4 (`NAME : 'literal' ;`), in order.
function parseKeywords(g4) {
  const lines = g4.split(/\r?\n/);
  const header = lines.findIndex((l) => /^\/\/\s*KEYWORDS\b/.test(l));
  if (header < 0) throw new Error('grammar/NNX.g4 has no "// KEYWORDS" section');
  const keywords = [];
  for (let i = header + 1; i < lines.length; i++) {
    const line = lines[i].trim();
    if (/^\/\/\s*-{10,}/.test(line)) {
      if (keywords.length) break; // the dashes that open the next section
      continue;                   // the dashes under the header
    }
    const m = /^([A-Z_][A-Z0-9_]*)\s*:\s*'([^']*)'\s*;/.exec(line);
    if (m) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(m[2])) {
        throw new Error(`grammar/NNX.g4: keyword ${m[1]} is not a word: '${m[2]}'`);
      }
      keywords.push(m[2]);
    }
  }
  if (!keywords.length) throw new Error('grammar/NNX.g4: the KEYWORDS section lists no keyword');
  return keywords;
}

const DEF_LISTS = ['BUILTIN_FN', 'INITIALIZER', 'VARIABLE_KIND', 'DTYPE', 'SCALAR_TYPE', 'CONSTANT'];

/// { BUILTIN_FN: [...], INITIALIZER: [...], ... } from the NNX_<LIST>(name) lines of Builtins.def.
function parseBuiltins(def) {
  const lists = Object.fromEntries(DEF_LISTS.map((k) => [k, []]));
  for (const line of def.split(/\r?\n/)) {
    const m = /^\s*NNX_([A-Z_]+)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)/.exec(line);
    if (!m) continue;
    if (!(m[1] in lists)) throw new Error(`lang/Builtins.def: unknown list NNX_${m[1]}`);
    lists[m[1]].push(m[2]);
  }
  for (const k of DEF_LISTS) {
    if (!lists[k].length) throw new Error(`lang/Builtins.def: NNX_${k} lists no name`);
  }
  return lists;
}

function readSources() {
  const keywords = parseKeywords(fs.readFileSync(G4_PATH, 'utf8'));
  const builtins = parseBuiltins(fs.readFileSync(DEF_PATH, 'utf8'));
  // A name in two lists (normal, uniform) is highlighted as the first list in DEF_LISTS order.
  const seen = new Set(keywords);
  const unique = {};
  for (const k of DEF_LISTS) {
    unique[k] = builtins[k].filter((n) => !seen.has(n));
    unique[k].forEach((n) => seen.add(n));
  }
  return { keywords, builtins, unique };
}

// -----------------------------------------------------------------------------------------------
// How each word is highlighted. Keywords not named here get the default class, so a new keyword
// in the grammar is highlighted (as keyword.other / Keyword) as soon as this script is re-run.
// -----------------------------------------------------------------------------------------------

const KEYWORD_CLASSES = [
  { words: ['import'], tm: 'keyword.control.import.nnx', vim: 'nnxInclude' },
  { words: ['module'], tm: 'storage.type.module.nnx', vim: 'nnxStructure', vimNext: 'nnxModuleName' },
  { words: ['variable'], tm: 'storage.type.kind.nnx', vim: 'nnxStructure', vimNext: 'nnxKindName' },
  { words: ['fn'], tm: 'storage.type.function.nnx', vim: 'nnxDefine', vimNext: 'nnxFuncName' },
  { words: ['test'], tm: 'keyword.other.test.nnx', vim: 'nnxKeyword' },
  { words: ['return'], tm: 'keyword.control.flow.return.nnx', vim: 'nnxStatement' },
  { words: ['assert'], tm: 'keyword.control.assert.nnx', vim: 'nnxStatement' },
  { words: ['if', 'else'], tm: 'keyword.control.conditional.nnx', vim: 'nnxConditional' },
  { words: ['for', 'in'], tm: 'keyword.control.loop.nnx', vim: 'nnxRepeat' },
  { words: ['and', 'or', 'not'], tm: 'keyword.operator.logical.nnx', vim: 'nnxLogical' },
  { words: ['true', 'false'], tm: 'constant.language.boolean.nnx', vim: 'nnxBoolean' },
  { words: ['vmap', 'scan', 'grad', 'value_and_grad'], tm: 'keyword.other.transform.nnx', vim: 'nnxTransform' },
];
const KEYWORD_DEFAULT = { tm: 'keyword.other.nnx', vim: 'nnxKeyword' };

const BUILTIN_CLASSES = {
  BUILTIN_FN: { tm: 'support.function.builtin.nnx', vim: 'nnxBuiltinFn' },
  INITIALIZER: { tm: 'support.function.initializer.nnx', vim: 'nnxInitializer' },
  VARIABLE_KIND: { tm: 'support.type.variable-kind.nnx', vim: 'nnxBuiltinKind' },
  DTYPE: { tm: 'support.type.dtype.nnx', vim: 'nnxDtype' },
  SCALAR_TYPE: { tm: 'support.type.primitive.nnx', vim: 'nnxScalarType' },
  CONSTANT: { tm: 'support.constant.builtin.nnx', vim: 'nnxConstant' },
};

/// The keyword classes restricted to the grammar's keywords, plus the default class.
function keywordGroups(keywords) {
  const groups = [];
  const placed = new Set();
  for (const c of KEYWORD_CLASSES) {
    const words = c.words.filter((w) => keywords.includes(w));
    words.forEach((w) => placed.add(w));
    if (words.length) groups.push({ ...c, words });
  }
  const rest = keywords.filter((w) => !placed.has(w));
  if (rest.length) groups.push({ ...KEYWORD_DEFAULT, words: rest });
  return groups;
}

// -----------------------------------------------------------------------------------------------
// The TextMate grammar (VS Code)
// -----------------------------------------------------------------------------------------------

function buildTextMate(src) {
  const ID = '[A-Za-z_][A-Za-z0-9_]*';
  const words = (list) => `\\b(?:${list.join('|')})\\b`;
  // A declaration rule names its keyword; fail loudly if the grammar dropped it.
  const kw = (w) => {
    if (!src.keywords.includes(w)) {
      throw new Error(`grammar/NNX.g4 has no keyword '${w}'; update editors/generate.js`);
    }
    return w;
  };
  const scopeOf = (list) => BUILTIN_CLASSES[list].tm;
  const nameRule = (list) => ({ match: words(src.unique[list]), name: scopeOf(list) });
  const p = (name) => ({ name });

  const repository = {
    statements: {
      patterns: [
        { include: '#comments' },
        { include: '#kind-declaration' },
        { include: '#module-declaration' },
        { include: '#function-declaration' },
        { include: '#variable-declaration' },
        { include: '#return-type' },
        { include: '#block' },
        { include: '#expression' },
      ],
    },
    expression: {
      patterns: [
        { include: '#comments' },
        { include: '#strings' },
        { include: '#keywords' },
        { include: '#numbers' },
        { include: '#ellipsis' },
        { include: '#member-call' },
        { include: '#member-access' },
        { include: '#call' },
        { include: '#parens' },
        { include: '#item-access' },
        { include: '#list' },
        { include: '#operators' },
        { include: '#punctuation' },
        { include: '#names' },
        { include: '#invalid' },
      ],
    },

    // --- Lexical -------------------------------------------------------------------------------
    comments: {
      match: '(#).*$',
      name: 'comment.line.number-sign.nnx',
      captures: { 1: p('punctuation.definition.comment.nnx') },
    },
    strings: {
      patterns: [
        {
          // No closing quote before the end of the line: the lexer rejects it.
          match: '"(?:[^"\\\\]|\\\\.)*$',
          name: 'invalid.illegal.unterminated-string.nnx',
        },
        {
          begin: '"',
          end: '"',
          name: 'string.quoted.double.nnx',
          beginCaptures: { 0: p('punctuation.definition.string.begin.nnx') },
          endCaptures: { 0: p('punctuation.definition.string.end.nnx') },
          patterns: [
            { match: '\\\\["\\\\nrt0]', name: 'constant.character.escape.nnx' },
            { match: '\\\\.', name: 'invalid.illegal.unknown-escape.nnx' },
          ],
        },
      ],
    },
    numbers: {
      patterns: [
        {
          match: '(?<![A-Za-z0-9_.])(?:[0-9]+\\.[0-9]*(?:[eE][+-]?[0-9]+)?|\\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)',
          name: 'constant.numeric.float.nnx',
        },
        { match: '(?<![A-Za-z0-9_.])[0-9]+', name: 'constant.numeric.integer.nnx' },
      ],
    },
    keywords: {
      patterns: keywordGroups(src.keywords).map((g) => ({ match: words(g.words), name: g.tm })),
    },
    ellipsis: { match: '\\.\\.\\.', name: 'constant.other.ellipsis.nnx' },
    operators: {
      patterns: [
        { match: '->', name: 'keyword.operator.arrow.nnx' },
        { match: '\\*\\*', name: 'keyword.operator.arithmetic.nnx' },
        { match: '[-+*/]=', name: 'keyword.operator.assignment.compound.nnx' },
        { match: '==|!=|<=|>=|<|>', name: 'keyword.operator.comparison.nnx' },
        { match: '=', name: 'keyword.operator.assignment.nnx' },
        { match: '@', name: 'keyword.operator.matrix.nnx' },
        { match: '[-+*/%]', name: 'keyword.operator.arithmetic.nnx' },
      ],
    },
    punctuation: {
      patterns: [
        { match: ',', name: 'punctuation.separator.comma.nnx' },
        { match: ';', name: 'punctuation.terminator.statement.nnx' },
        { match: ':', name: 'punctuation.separator.colon.nnx' },
        { match: '\\.', name: 'punctuation.accessor.nnx' },
      ],
    },
    // Whatever the lexer turns into BAD_CHAR, and closing brackets that close nothing.
    invalid: {
      patterns: [
        { match: '[)\\]}]', name: 'invalid.illegal.stray-bracket.nnx' },
        { match: '[^\\sA-Za-z0-9_()\\[\\]{}.,:;=+\\-*/%@<>#"]', name: 'invalid.illegal.character.nnx' },
      ],
    },

    // --- Names ---------------------------------------------------------------------------------
    // A name that is not called, declared or annotated.
    names: {
      patterns: [
        nameRule('BUILTIN_FN'),
        nameRule('INITIALIZER'),
        nameRule('VARIABLE_KIND'),
        nameRule('DTYPE'),
        nameRule('SCALAR_TYPE'),
        nameRule('CONSTANT'),
        { match: `\\b${ID}\\b`, name: 'variable.other.nnx' },
      ],
    },
    // The callee of `name(...)`.
    'call-name': {
      patterns: [
        nameRule('BUILTIN_FN'),
        nameRule('INITIALIZER'),
        nameRule('VARIABLE_KIND'),
        nameRule('DTYPE'),
        nameRule('SCALAR_TYPE'),
        nameRule('CONSTANT'),
        { match: '\\b[A-Z][A-Za-z0-9_]*\\b', name: 'entity.name.type.nnx' },
        { match: `\\b${ID}\\b`, name: 'entity.name.function.call.nnx' },
      ],
    },
    // The name of a type annotation: `int`, `f32`, `Model`.
    'type-name': {
      patterns: [
        nameRule('DTYPE'),
        nameRule('SCALAR_TYPE'),
        { match: `\\b${ID}\\b`, name: 'entity.name.type.nnx' },
      ],
    },

    // --- Declarations --------------------------------------------------------------------------
    // `variable Counter`
    'kind-declaration': {
      match: `\\b(${kw('variable')})\\s+(${ID})`,
      captures: { 1: p('storage.type.kind.nnx'), 2: p('entity.name.type.kind.nnx') },
    },
    // `module Name(params)`
    'module-declaration': {
      patterns: [
        {
          begin: `\\b(${kw('module')})\\s+(${ID})\\s*(\\()`,
          end: '\\)',
          beginCaptures: {
            1: p('storage.type.module.nnx'),
            2: p('entity.name.type.module.nnx'),
            3: p('punctuation.section.parameters.begin.nnx'),
          },
          endCaptures: { 0: p('punctuation.section.parameters.end.nnx') },
          name: 'meta.module.header.nnx',
          patterns: [{ include: '#parameters' }],
        },
        {
          match: `\\b(${kw('module')})\\s+(${ID})`,
          captures: { 1: p('storage.type.module.nnx'), 2: p('entity.name.type.module.nnx') },
        },
      ],
    },
    // `fn name(params)`; the `-> type` and the body follow.
    'function-declaration': {
      patterns: [
        {
          begin: `\\b(${kw('fn')})\\s+(${ID})\\s*(\\()`,
          end: '\\)',
          beginCaptures: {
            1: p('storage.type.function.nnx'),
            2: p('entity.name.function.nnx'),
            3: p('punctuation.section.parameters.begin.nnx'),
          },
          endCaptures: { 0: p('punctuation.section.parameters.end.nnx') },
          name: 'meta.function.header.nnx',
          patterns: [{ include: '#parameters' }],
        },
        {
          match: `\\b(${kw('fn')})\\s+(${ID})`,
          captures: { 1: p('storage.type.function.nnx'), 2: p('entity.name.function.nnx') },
        },
      ],
    },
    parameters: {
      patterns: [
        { include: '#comments' },
        {
          begin: ':',
          end: '(?=[,)=])',
          beginCaptures: { 0: p('punctuation.separator.annotation.nnx') },
          patterns: [{ include: '#type' }, { include: '#invalid' }],
        },
        {
          begin: '=(?!=)',
          end: '(?=[,)])',
          beginCaptures: { 0: p('keyword.operator.assignment.nnx') },
          patterns: [{ include: '#expression' }],
        },
        { match: `\\b${ID}\\b`, name: 'variable.parameter.nnx' },
        { match: ',', name: 'punctuation.separator.parameters.nnx' },
        { include: '#invalid' },
      ],
    },
    // `Kind name: type` at the start of a statement (the initializer after `=` is an expression).
    'variable-declaration': {
      begin: `(?:^|(?<=[;{]))\\s*(${ID})\\s+(${ID})\\s*(:)`,
      end: '(?=[=;}#])|$',
      beginCaptures: {
        1: p('storage.type.variable-kind.nnx'),
        2: p('variable.other.member.nnx'),
        3: p('punctuation.separator.annotation.nnx'),
      },
      name: 'meta.definition.variable.nnx',
      patterns: [{ include: '#type' }, { include: '#invalid' }],
    },
    // `-> type` after a function's parameters.
    'return-type': {
      begin: '->',
      end: '(?=[{=;#])|$',
      beginCaptures: { 0: p('keyword.operator.arrow.nnx') },
      patterns: [{ include: '#type' }, { include: '#invalid' }],
    },
    block: {
      begin: '\\{',
      end: '\\}',
      beginCaptures: { 0: p('punctuation.section.block.begin.nnx') },
      endCaptures: { 0: p('punctuation.section.block.end.nnx') },
      name: 'meta.block.nnx',
      patterns: [{ include: '#statements' }],
    },

    // --- Types: `int`, `Model`, `f32[]`, `f32[B, 784]`, `f32[..., n * 2]` ---------------------
    type: {
      patterns: [
        { include: '#comments' },
        {
          begin: `\\b(${ID})\\s*(?=\\[)`,
          end: '(?<=\\])',
          beginCaptures: { 1: { patterns: [{ include: '#type-name' }] } },
          name: 'meta.type.nnx',
          patterns: [{ include: '#shape' }],
        },
        {
          match: `\\b${ID}\\b`,
          name: 'meta.type.nnx',
          captures: { 0: { patterns: [{ include: '#type-name' }] } },
        },
      ],
    },
    shape: {
      begin: '\\[',
      end: '\\]',
      beginCaptures: { 0: p('punctuation.section.brackets.begin.nnx') },
      endCaptures: { 0: p('punctuation.section.brackets.end.nnx') },
      name: 'meta.type.shape.nnx',
      patterns: [{ include: '#shape-contents' }],
    },
    // A dimension is an expression over dimension variables and hyper-parameters.
    'shape-contents': {
      patterns: [
        { include: '#comments' },
        { include: '#ellipsis' },
        { include: '#numbers' },
        { include: '#member-access' },
        { include: '#call' },
        {
          begin: '\\(',
          end: '\\)',
          beginCaptures: { 0: p('punctuation.section.parens.begin.nnx') },
          endCaptures: { 0: p('punctuation.section.parens.end.nnx') },
          patterns: [{ include: '#shape-contents' }],
        },
        {
          begin: '\\[',
          end: '\\]',
          beginCaptures: { 0: p('punctuation.section.brackets.begin.nnx') },
          endCaptures: { 0: p('punctuation.section.brackets.end.nnx') },
          patterns: [{ include: '#shape-contents' }],
        },
        { include: '#operators' },
        { match: ',', name: 'punctuation.separator.comma.nnx' },
        { match: `\\b${ID}\\b`, name: 'variable.other.dimension.nnx' },
        { include: '#invalid' },
      ],
    },

    // --- Expressions ---------------------------------------------------------------------------
    call: {
      begin: `\\b(${ID})\\s*(\\()`,
      end: '\\)',
      beginCaptures: {
        1: { patterns: [{ include: '#call-name' }] },
        2: p('punctuation.section.arguments.begin.nnx'),
      },
      endCaptures: { 0: p('punctuation.section.arguments.end.nnx') },
      name: 'meta.function-call.nnx',
      patterns: [{ include: '#keyword-argument' }, { include: '#expression' }],
    },
    'member-call': {
      begin: `(\\.)\\s*(${ID})\\s*(\\()`,
      end: '\\)',
      beginCaptures: {
        1: p('punctuation.accessor.nnx'),
        2: p('entity.name.function.call.nnx'),
        3: p('punctuation.section.arguments.begin.nnx'),
      },
      endCaptures: { 0: p('punctuation.section.arguments.end.nnx') },
      name: 'meta.function-call.nnx',
      patterns: [{ include: '#keyword-argument' }, { include: '#expression' }],
    },
    'member-access': {
      match: `(\\.)\\s*(${ID})`,
      captures: { 1: p('punctuation.accessor.nnx'), 2: p('variable.other.member.nnx') },
    },
    'keyword-argument': {
      match: `\\b(${ID})\\s*(=)(?!=)`,
      captures: { 1: p('variable.parameter.function-call.nnx'), 2: p('keyword.operator.assignment.nnx') },
    },
    // Grouping, tuples and the argument of `vmap(n)`, `scan(...)`, `grad(...)`.
    parens: {
      begin: '\\(',
      end: '\\)',
      beginCaptures: { 0: p('punctuation.section.parens.begin.nnx') },
      endCaptures: { 0: p('punctuation.section.parens.end.nnx') },
      patterns: [{ include: '#keyword-argument' }, { include: '#expression' }],
    },
    // `x[i]`, `x[a:b]`, `f(x)[..., 1:]`: a `[` right after a name or a closing bracket.
    'item-access': {
      begin: '(?<=[A-Za-z0-9_)\\]])\\[',
      end: '\\]',
      beginCaptures: { 0: p('punctuation.section.brackets.begin.nnx') },
      endCaptures: { 0: p('punctuation.section.brackets.end.nnx') },
      name: 'meta.item-access.nnx',
      patterns: [
        { match: ':', name: 'punctuation.separator.slice.nnx' },
        { include: '#expression' },
      ],
    },
    // `[1, 2]`, `[[a, b], [c, d]]`
    list: {
      begin: '\\[',
      end: '\\]',
      beginCaptures: { 0: p('punctuation.section.brackets.begin.nnx') },
      endCaptures: { 0: p('punctuation.section.brackets.end.nnx') },
      name: 'meta.list.nnx',
      patterns: [{ include: '#expression' }],
    },
  };

  return {
    information_for_contributors: [
      'TextMate grammar of the nnx language (.nnx files), for VS Code and other TextMate hosts.',
      'Generated by editors/generate.js from grammar/NNX.g4 (keywords) and lang/Builtins.def',
      '(built-in names): edit the generator and run `node editors/generate.js`, not this file.',
    ],
    name: 'NNX',
    scopeName: 'source.nnx',
    fileTypes: ['nnx'],
    patterns: [{ include: '#statements' }],
    repository,
  };
}

// -----------------------------------------------------------------------------------------------
// The Vim syntax file's generated block
// -----------------------------------------------------------------------------------------------

const VIM_BEGIN = '" BEGIN GENERATED by editors/generate.js from grammar/NNX.g4 and lang/Builtins.def';
const VIM_END = '" END GENERATED';

/// Vim lines `prefix w1 w2 ... suffix` (or `prefix "\%(w1\|w2\)\>" suffix`), wrapped near 100 columns.
function vimWrap(words, make, width = 100) {
  const lines = [];
  let chunk = [];
  for (const w of words) {
    if (chunk.length && make([...chunk, w]).length > width) {
      lines.push(make(chunk));
      chunk = [];
    }
    chunk.push(w);
  }
  if (chunk.length) lines.push(make(chunk));
  return lines;
}

function buildVimBlock(src) {
  const out = [VIM_BEGIN, '" (do not edit by hand; run `node editors/generate.js`).'];
  out.push('" Keywords of the grammar.');
  for (const g of keywordGroups(src.keywords)) {
    for (const w of g.words) {
      const next = g.vimNext ? ` nextgroup=${g.vimNext} skipwhite` : '';
      // Declaration keywords get a line each: their nextgroup names what follows them.
      if (g.vimNext) out.push(`syn keyword ${g.vim} ${w}${next}`);
    }
    if (!g.vimNext) out.push(...vimWrap(g.words, (ws) => `syn keyword ${g.vim} ${ws.join(' ')}`));
  }
  out.push('" Built-in names, not after a `.` (a member may share a built-in\'s name).');
  for (const list of DEF_LISTS) {
    const names = src.unique[list];
    if (!names.length) continue;
    const group = BUILTIN_CLASSES[list].vim;
    out.push(...vimWrap(names, (ws) => `syn match ${group} "\\.\\@1<!\\<\\%(${ws.join('\\|')}\\)\\>"`));
  }
  out.push(VIM_END);
  return out.join('\n');
}

function spliceVim(text, block) {
  const begin = text.indexOf(VIM_BEGIN);
  const endMarker = text.indexOf(VIM_END, begin);
  if (begin < 0 || endMarker < 0) {
    throw new Error(`${path.relative(ROOT, VIM_PATH)}: the GENERATED markers are missing`);
  }
  return text.slice(0, begin) + block + text.slice(endMarker + VIM_END.length);
}

// -----------------------------------------------------------------------------------------------

function main() {
  const check = process.argv.includes('--check');
  const src = readSources();
  const outputs = [
    [TM_PATH, JSON.stringify(buildTextMate(src), null, 2) + '\n'],
    [VIM_PATH, spliceVim(fs.readFileSync(VIM_PATH, 'utf8'), buildVimBlock(src))],
  ];
  let stale = 0;
  for (const [file, text] of outputs) {
    const rel = path.relative(ROOT, file);
    const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    if (old === text) continue;
    if (check) {
      console.error(`${rel} is out of date with grammar/NNX.g4 or lang/Builtins.def; ` +
        'run `node editors/generate.js`');
      stale++;
    } else {
      fs.writeFileSync(file, text);
      console.log(`wrote ${rel}`);
    }
  }
  process.exit(stale ? 1 : 0);
}

module.exports = { parseKeywords, parseBuiltins, readSources, keywordGroups, KEYWORD_CLASSES, BUILTIN_CLASSES };

if (require.main === module) main();
