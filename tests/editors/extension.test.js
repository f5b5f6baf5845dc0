#!/usr/bin/env node
// extension.test.js — the VS Code extension's language-server side (editors/vscode/extension.js):
// its manifest (entry point, activation, commands, setting, problem matcher), its activation
// against stubs of the `vscode` API and of vscode-languageclient (the server command it starts,
// the message when the binary is missing, the commands' terminal lines), the `$nnxrun` problem
// matcher applied to real `nnxrun check` output, and `nnxrun lsp` spoken to through
// vscode-jsonrpc, the library inside vscode-languageclient. Prints `N passed, M failed`.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const Module = require('module');
const { spawn, spawnSync } = require('child_process');
const { ROOT, check, assert, finish } = require('./lib');

const EXT_DIR = path.join(ROOT, 'editors/vscode');
const MANIFEST = JSON.parse(fs.readFileSync(path.join(EXT_DIR, 'package.json'), 'utf8'));
const NNXRUN = process.env.NNXRUN || path.join(ROOT, 'build/bin/nnxrun');

/// A stub of the parts of the `vscode` API extension.js uses; records what it is asked.
function stubVscode(settings, activeFile) {
  const log = { errors: [], commands: {}, terminals: [] };
  const vscode = {
    workspace: {
      getConfiguration: () => ({ get: (key) => settings[key] }),
      workspaceFolders: [{ uri: { fsPath: ROOT } }],
    },
    window: {
      showErrorMessage: (m) => log.errors.push(m),
      showWarningMessage: (m) => log.errors.push(m),
      activeTextEditor: activeFile && { document: { languageId: 'nnx', uri: { fsPath: activeFile } } },
      createTerminal: () => {
        const t = { lines: [], show() {}, sendText(s) { this.lines.push(s); } };
        log.terminals.push(t);
        return t;
      },
    },
    commands: { registerCommand: (id, fn) => { log.commands[id] = fn; return { dispose() {} }; } },
  };
  return { vscode, log };
}

/// The stubs `require('vscode')` and `require('vscode-languageclient/node')` return while the
/// tests run (extension.js requires them when activated).
const stubs = { vscode: null, clients: null };
const originalLoad = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'vscode' && stubs.vscode) return stubs.vscode;
  if (request === 'vscode-languageclient/node' && stubs.clients) {
    const clients = stubs.clients;
    return {
      TransportKind: { stdio: 0 },
      LanguageClient: class {
        constructor(id, name, server, options) {
          Object.assign(this, { id, name, server, options, started: false });
          clients.push(this);
        }
        async start() { this.started = true; }
        async stop() {}
      },
    };
  }
  return originalLoad.apply(this, arguments);
};

/// Loads a fresh extension.js that sees `vscode` and records the clients it creates.
function loadExtension(vscode, clients) {
  stubs.vscode = vscode;
  stubs.clients = clients;
  const file = path.join(EXT_DIR, 'extension.js');
  delete require.cache[require.resolve(file)];
  return require(file);
}

(async () => {
  await check('the manifest declares the entry point, activation, commands and setting', () => {
    assert(MANIFEST.main === './extension.js', `main is ${MANIFEST.main}`);
    assert(fs.existsSync(path.join(EXT_DIR, 'extension.js')), 'extension.js is missing');
    assert((MANIFEST.activationEvents || []).includes('onLanguage:nnx'), 'no onLanguage:nnx');
    const commands = (MANIFEST.contributes.commands || []).map((c) => c.command).sort();
    assert(JSON.stringify(commands) === JSON.stringify(['nnx.checkFile', 'nnx.runTests']),
      `commands: ${commands}`);
    assert(MANIFEST.contributes.configuration.properties['nnx.server.path'], 'no nnx.server.path');
    assert(MANIFEST.dependencies['vscode-languageclient'], 'vscode-languageclient is not a dependency');
  });

  await check('activation starts `nnxrun lsp` from nnx.server.path', async () => {
    const clients = [];
    const { vscode, log } = stubVscode({ 'server.path': NNXRUN, instances: ['Model(1, 2, 3)'] });
    const ext = loadExtension(vscode, clients);
    await ext.activate({ subscriptions: [] });
    assert(log.errors.length === 0, `errors: ${log.errors}`);
    assert(clients.length === 1 && clients[0].started, 'no client started');
    assert(clients[0].server.command === NNXRUN, `command ${clients[0].server.command}`);
    assert(JSON.stringify(clients[0].server.args) === '["lsp"]', `args ${clients[0].server.args}`);
    assert(clients[0].options.documentSelector[0].language === 'nnx', 'selector');
    assert(JSON.stringify(clients[0].options.initializationOptions) === '{"instances":["Model(1, 2, 3)"]}',
      `initializationOptions ${JSON.stringify(clients[0].options.initializationOptions)}`);
    assert(log.commands['nnx.checkFile'] && log.commands['nnx.runTests'], 'commands not registered');
  });

  await check('a missing binary is a clear message, and highlighting stays', async () => {
    const clients = [];
    const { vscode, log } = stubVscode({ 'server.path': '/nonexistent/nnxrun' });
    const ext = loadExtension(vscode, clients);
    await ext.activate({ subscriptions: [] });
    assert(clients.length === 0, 'a client was started');
    assert(log.errors.length === 1 && log.errors[0].includes('"nnx.server.path"') &&
      log.errors[0].includes('/nonexistent/nnxrun'), `message: ${log.errors}`);
    assert(log.commands['nnx.checkFile'], 'commands must exist without the server too');
  });

  await check('"nnx: Check file" and "nnx: Run tests in file" run nnxrun in a terminal', async () => {
    const file = path.join(ROOT, 'examples/seed/basics.nnx');
    const { vscode, log } = stubVscode({ 'server.path': NNXRUN }, file);
    const ext = loadExtension(vscode, []);
    await ext.activate({ subscriptions: [] });
    log.commands['nnx.checkFile']();
    log.commands['nnx.runTests']();
    const lines = log.terminals.map((t) => t.lines[0]);
    assert(lines[0] === `'${NNXRUN}' check '${file}'`, lines[0]);
    assert(lines[1] === `'${NNXRUN}' test '${file}'`, lines[1]);
  });

  await check('the $nnxrun problem matcher reads nnxrun check output', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nnx-matcher-'));
    const file = path.join(dir, 'bad.nnx');
    fs.writeFileSync(file, 'fn f(x) = reluu(x)\n');
    const out = spawnSync(NNXRUN, ['check', file], { env: { ...process.env, NO_COLOR: '1' } });
    const lines = out.stderr.toString().split('\n');
    const [first, second] = MANIFEST.contributes.problemMatchers[0].pattern;
    const problems = [];
    for (let i = 0; i + 1 < lines.length; i++) {
      const a = lines[i].match(new RegExp(first.regexp));
      const b = a && lines[i + 1].match(new RegExp(second.regexp));
      if (a && b) {
        problems.push({ severity: a[first.severity], code: a[first.code], message: a[first.message],
          file: b[second.file], line: b[second.line], column: b[second.column] });
      }
    }
    assert(problems.length === 1, `problems: ${JSON.stringify(problems)} from\n${lines.join('\n')}`);
    const p = problems[0];
    assert(p.severity === 'error' && p.code === 'E0201' && p.message === 'unknown name `reluu`',
      JSON.stringify(p));
    assert(p.file === file && p.line === '1' && p.column === '11', JSON.stringify(p));
  });

  await check('`nnxrun lsp` answers vscode-jsonrpc (what vscode-languageclient speaks)', async () => {
    const rpc = require(path.join(EXT_DIR, 'node_modules/vscode-jsonrpc/node'));
    const server = spawn(NNXRUN, ['lsp', '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const connection = rpc.createMessageConnection(new rpc.StreamMessageReader(server.stdout),
      new rpc.StreamMessageWriter(server.stdin));
    const diagnostics = new Promise((resolve) =>
      connection.onNotification('textDocument/publishDiagnostics', resolve));
    connection.listen();
    const init = await connection.sendRequest('initialize', { processId: null, rootUri: null, capabilities: {} });
    assert(init.capabilities.hoverProvider && init.capabilities.documentFormattingProvider, 'capabilities');
    connection.sendNotification('initialized', {});
    const uri = 'file://' + path.join(ROOT, 'examples/seed/basics.nnx');
    const text = fs.readFileSync(path.join(ROOT, 'examples/seed/basics.nnx'), 'utf8');
    connection.sendNotification('textDocument/didOpen',
      { textDocument: { uri, languageId: 'nnx', version: 1, text } });
    const published = await diagnostics;
    assert(published.uri === uri && published.diagnostics.length === 0,
      `diagnostics: ${JSON.stringify(published)}`);
    const line = text.split('\n').findIndex((l) => l.includes('assert shape(model.linear.kernel)'));
    const character = text.split('\n')[line].indexOf('kernel');
    const hover = await connection.sendRequest('textDocument/hover',
      { textDocument: { uri }, position: { line, character } });
    assert(hover && hover.contents.value.includes('f32[256, 10]'), JSON.stringify(hover));
    await connection.sendRequest('shutdown');
    connection.sendNotification('exit');
    const code = await new Promise((resolve) => server.on('exit', resolve));
    assert(code === 0, `exit code ${code}`);
    connection.dispose();
  });

  finish();
})();
