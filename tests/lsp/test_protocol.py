"""`nnxrun lsp` under bad and big input, spoken to byte by byte (no client library to smooth
anything over): malformed JSON-RPC, an unknown method, requests out of order, a 10 MB document
and a document with 200 errors. The server answers each per the JSON-RPC/LSP spec and never
dies."""
import json
import os
import subprocess
import time

import pytest

NNXRUN = os.environ.get("NNXRUN", "nnxrun")
URI = "file:///tmp/nnx-lsp-protocol/doc.nnx"


class RawClient:
    """A byte-level JSON-RPC peer of the server."""

    def __init__(self):
        os.makedirs("/tmp/nnx-lsp-protocol", exist_ok=True)
        self.proc = subprocess.Popen([NNXRUN, "lsp"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={**os.environ, "XDG_CACHE_HOME": "/tmp/nnx-lsp-protocol/cache"})

    def send_bytes(self, body: bytes):
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def send(self, message):
        self.send_bytes(json.dumps(message).encode())

    def receive(self):
        header = b""
        while not header.endswith(b"\r\n\r\n"):
            byte = self.proc.stdout.read(1)
            assert byte, "the server closed its output"
            header += byte
        length = int(header.split(b":")[1].split(b"\r\n")[0])
        return json.loads(self.proc.stdout.read(length))

    def receive_until(self, predicate, limit=50):
        for _ in range(limit):
            message = self.receive()
            if predicate(message):
                return message
        raise AssertionError("no such message")

    def request(self, id, method, params=None):
        self.send({"jsonrpc": "2.0", "id": id, "method": method, "params": params or {}})
        return self.receive_until(lambda m: m.get("id") == id)

    def initialize(self):
        reply = self.request(1, "initialize", {"capabilities": {}})
        assert "capabilities" in reply["result"]
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def open(self, text):
        self.send({"jsonrpc": "2.0", "method": "textDocument/didOpen",
                   "params": {"textDocument": {"uri": URI, "languageId": "nnx", "version": 1,
                                               "text": text}}})
        return self.receive_until(lambda m: m.get("method") == "textDocument/publishDiagnostics")

    def close(self):
        self.request(99, "shutdown")
        self.send({"jsonrpc": "2.0", "method": "exit"})
        return self.proc.wait(timeout=10)


@pytest.fixture
def raw():
    client = RawClient()
    yield client
    if client.proc.poll() is None:
        client.proc.kill()


def test_requests_before_initialize_and_after_shutdown(raw):
    reply = raw.request(5, "textDocument/hover", {"textDocument": {"uri": URI},
                                                  "position": {"line": 0, "character": 0}})
    assert reply["error"]["code"] == -32002
    raw.initialize()
    assert raw.request(6, "shutdown") == {"jsonrpc": "2.0", "id": 6, "result": None}
    reply = raw.request(7, "textDocument/hover", {"textDocument": {"uri": URI},
                                                  "position": {"line": 0, "character": 0}})
    assert reply["error"]["code"] == -32600
    raw.send({"jsonrpc": "2.0", "method": "exit"})
    assert raw.proc.wait(timeout=10) == 0


def test_exit_without_shutdown_is_exit_code_1(raw):
    raw.initialize()
    raw.send({"jsonrpc": "2.0", "method": "exit"})
    assert raw.proc.wait(timeout=10) == 1


def test_malformed_messages_are_answered(raw):
    raw.initialize()
    raw.send_bytes(b"{this is not json")
    reply = raw.receive()
    assert reply["error"]["code"] == -32700 and reply["id"] is None
    reply = raw.request(8, "workspace/noSuchMethod", {"x": 1})
    assert reply["error"]["code"] == -32601
    reply = raw.request(9, "textDocument/hover", {"position": {"line": 0}})
    assert reply["error"]["code"] == -32602
    reply = raw.request(10, "textDocument/definition",
                        {"textDocument": {"uri": "untitled:Untitled-1"},
                         "position": {"line": 0, "character": 0}})
    assert reply["error"]["code"] == -32602
    # A change to a document never opened, a notification with no params: ignored.
    raw.send({"jsonrpc": "2.0", "method": "textDocument/didChange",
              "params": {"textDocument": {"uri": URI, "version": 2}, "contentChanges": []}})
    raw.send({"jsonrpc": "2.0", "method": "textDocument/didOpen"})
    # Still serving.
    diagnostics = raw.open("fn f(x) = x\n")
    assert diagnostics["params"]["diagnostics"] == []
    assert raw.close() == 0


def test_a_document_with_200_errors(raw):
    raw.initialize()
    text = "".join(f"fn f{i}(x) = unknown_{i}(x)\n" for i in range(200))
    diagnostics = raw.open(text)["params"]["diagnostics"]
    assert len(diagnostics) == 200, len(diagnostics)
    assert {d["code"] for d in diagnostics} == {"E0201"}
    assert sorted(d["range"]["start"]["line"] for d in diagnostics) == list(range(200))
    assert raw.close() == 0


def test_a_10_mb_document(raw):
    raw.initialize()
    line = "fn f(x) = x  # " + "padding " * 8 + "\n"
    text = "".join(line.replace("fn f(", f"fn f{i}(") for i in range(10 * 2**20 // len(line)))
    assert len(text) >= 10 * 2**20 - len(line)
    start = time.monotonic()
    diagnostics = raw.open(text)["params"]["diagnostics"]
    assert diagnostics == [], diagnostics[:3]
    reply = raw.request(11, "textDocument/hover",
                        {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 3}})
    assert "fn f0(x)" in reply["result"]["contents"]["value"]
    assert time.monotonic() - start < 120
    assert raw.close() == 0


def test_invalid_requests_get_invalid_request(raw):
    raw.initialize()
    for body, id in ((b"[]", None), (b"42", None), (b'{"jsonrpc":"2.0","id":98,"method":5}', 98)):
        raw.send_bytes(body)
        reply = raw.receive()
        assert reply["error"]["code"] == -32600 and reply["id"] == id, reply
    raw.send_bytes(b'{"jsonrpc":"2.0","id":97}')  # a response to nothing: ignored
    reply = raw.request(12, "initialize", {"capabilities": {}})
    assert reply["error"]["code"] == -32600  # a second initialize
    assert raw.close() == 0


def test_uris_and_incremental_changes(raw):
    raw.initialize()
    # Diagnostics come back under the URI the client used, however it spelt the path.
    uri = "file:///tmp/nnx-lsp-protocol/../nnx-lsp-protocol//odd%20name.nnx"
    raw.send({"jsonrpc": "2.0", "method": "textDocument/didOpen",
              "params": {"textDocument": {"uri": uri, "languageId": "nnx", "version": 1,
                                          "text": "fn f(*xs) {\n  return reluu(xs)\n}\n"}}})
    published = raw.receive_until(lambda m: m.get("method") == "textDocument/publishDiagnostics")
    assert published["params"]["uri"] == uri
    assert [d["code"] for d in published["params"]["diagnostics"]] == ["E0201"]
    # The variadic parameter's name, after its star.
    reply = raw.request(13, "textDocument/definition", {"textDocument": {"uri": uri},
                                                        "position": {"line": 1, "character": 16}})
    assert reply["result"][0]["range"]["start"] == {"line": 0, "character": 6}
    assert reply["result"][0]["range"]["end"] == {"line": 0, "character": 8}
    # A ranged change is applied where it says.
    raw.send({"jsonrpc": "2.0", "method": "textDocument/didChange",
              "params": {"textDocument": {"uri": uri, "version": 2},
                         "contentChanges": [{"range": {"start": {"line": 1, "character": 9},
                                                       "end": {"line": 1, "character": 14}},
                                             "text": "relu"}]}})
    published = raw.receive_until(lambda m: m.get("method") == "textDocument/publishDiagnostics")
    assert published["params"]["diagnostics"] == []
    assert raw.close() == 0


def test_an_importer_sees_its_import_change(raw):
    raw.initialize()
    os.makedirs("/tmp/nnx-lsp-protocol/imports", exist_ok=True)
    a = "file:///tmp/nnx-lsp-protocol/imports/a.nnx"
    b = "file:///tmp/nnx-lsp-protocol/imports/b.nnx"
    open("/tmp/nnx-lsp-protocol/imports/b.nnx", "w").write("fn helper(x) = x * 2\n")
    for uri, text in ((b, "fn helper(x) = x * 2\n"),
                      (a, 'import "b.nnx"\nfn g(x) = helper(x) + 1\n')):
        raw.send({"jsonrpc": "2.0", "method": "textDocument/didOpen",
                  "params": {"textDocument": {"uri": uri, "languageId": "nnx", "version": 1,
                                              "text": text}}})
        raw.receive_until(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                          and m["params"]["uri"] == uri)
    # b renames helper (unsaved): a is analysed again and loses it.
    raw.send({"jsonrpc": "2.0", "method": "textDocument/didChange",
              "params": {"textDocument": {"uri": b, "version": 2},
                         "contentChanges": [{"text": "fn helper3(x) = x * 2\n"}]}})
    published = raw.receive_until(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                  and m["params"]["uri"] == a and m["params"]["diagnostics"])
    assert "unknown name `helper`" in published["params"]["diagnostics"][0]["message"]
    # Back: references from the imported file find the use in the open importer too.
    raw.send({"jsonrpc": "2.0", "method": "textDocument/didChange",
              "params": {"textDocument": {"uri": b, "version": 3},
                         "contentChanges": [{"text": "fn helper(x) = x * 2\n"}]}})
    reply = raw.request(14, "textDocument/references",
                        {"textDocument": {"uri": b}, "position": {"line": 0, "character": 4},
                         "context": {"includeDeclaration": True}})
    found = sorted((r["uri"].rsplit("/", 1)[1], r["range"]["start"]["line"]) for r in reply["result"])
    assert found == [("a.nnx", 1), ("b.nnx", 0)], found
    assert raw.close() == 0
