// extension.js — the VS Code side of nnx's language support: starts `nnxrun lsp` with
// vscode-languageclient (live diagnostics, hover with shapes, go to definition, references,
// completion, outline, formatting), and adds the commands "nnx: Check file" and "nnx: Run tests
// in file", which run nnxrun in a terminal so that the problem matcher `$nnxrun` (package.json)
// turns its diagnostics into Problems. The binary is the setting `nnx.server.path` (default
// `nnxrun` on PATH); when it cannot be started the user is told how to set it.
'use strict';

const path = require('path');
const fs = require('fs');

/// The nnxrun binary: the setting, with ~ and ${workspaceFolder} expanded, else `nnxrun`.
function serverPath(vscode) {
  const configured = vscode.workspace.getConfiguration('nnx').get('server.path') || 'nnxrun';
  const folder = (vscode.workspace.workspaceFolders || [])[0];
  let p = configured.replace(/^~(?=\/|$)/, process.env.HOME || '~');
  if (folder) p = p.replace(/\$\{workspaceFolder\}/g, folder.uri.fsPath);
  return p;
}

/// Whether `command` names an executable file (a path) or is found on PATH.
function findExecutable(command) {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH || '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, command));
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      if (fs.statSync(c).isFile()) return c;
    } catch (_) { /* not this one */ }
  }
  return null;
}

/// Runs `nnxrun <args> <file>` for the active .nnx editor in a terminal.
function runOnActiveFile(vscode, args) {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== 'nnx') {
    vscode.window.showWarningMessage('nnx: open a .nnx file first');
    return;
  }
  const binary = serverPath(vscode);
  const quote = (s) => "'" + s.replace(/'/g, "'\\''") + "'";
  const terminal = vscode.window.createTerminal({ name: 'nnxrun' });
  terminal.show();
  terminal.sendText([quote(binary), ...args, quote(editor.document.uri.fsPath)].join(' '));
}

let client = null;

async function activate(context) {
  const vscode = require('vscode');
  context.subscriptions.push(
    vscode.commands.registerCommand('nnx.checkFile', () => runOnActiveFile(vscode, ['check'])),
    vscode.commands.registerCommand('nnx.runTests', () => runOnActiveFile(vscode, ['test'])));
  const binary = serverPath(vscode);
  const found = findExecutable(binary);
  if (!found) {
    vscode.window.showErrorMessage(
      `nnx: the language server \`${binary}\` was not found. Build nnx (\`make run\`) and set ` +
      '"nnx.server.path" to build/bin/nnxrun, or put nnxrun on PATH. Highlighting works without it.');
    return;
  }
  const { LanguageClient, TransportKind } = require('vscode-languageclient/node');
  const server = { command: found, args: ['lsp'], transport: TransportKind.stdio };
  client = new LanguageClient('nnx', 'nnx language server', server, {
    documentSelector: [{ scheme: 'file', language: 'nnx' }],
    // nnx.instances: the modules hover traces where the file's tests do not; changes are sent
    // as workspace/didChangeConfiguration.
    initializationOptions: { instances: vscode.workspace.getConfiguration('nnx').get('instances') || [] },
    synchronize: { configurationSection: 'nnx' },
  });
  await client.start();
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

async function deactivate() {
  if (client) await client.stop();
  client = null;
}

module.exports = { activate, deactivate, serverPath, findExecutable };
