"""`nnxrun lsp` driven through the protocol by a real LSP client (pytest-lsp, on pygls).

Each test starts the server, initializes a session, and checks one feature on the documents of
this directory (model.nnx), as an editor would: diagnostics on open and after an edit, hover
with the shapes the file's tests give, definition into the stdlib, references, completion after
`model.`, document symbols, formatting, and a clean shutdown.
"""
import os
import pathlib
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

HERE = pathlib.Path(__file__).parent.resolve()
MODEL = HERE / "model.nnx"
URI = MODEL.as_uri()


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[os.environ.get("NNXRUN", "nnxrun"), "lsp"],
                              server_env={**os.environ, "XDG_CACHE_HOME": "/tmp/nnx-lsp-test-cache"}))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(),
                               root_uri=HERE.as_uri()))
    yield
    await lsp_client.shutdown_session()


async def open_document(client, text, uri=URI, version=1):
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="nnx", version=version,
                                             text=text)))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)


def hover_text(result):
    assert result is not None, "no hover"
    return result.contents.value


def position_of(text, needle, nth=0, offset=0):
    """The LSP position of the nth occurrence of `needle` in `text`, plus `offset` characters."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index)
    return types.Position(line=line, character=index - (text.rfind("\n", 0, index) + 1))


async def test_diagnostics_arrive_and_clear(client: LanguageClient):
    text = MODEL.read_text()
    broken = text.replace("h = relu(hidden(x))", "h = reluu(hidden(x))")
    await open_document(client, broken)
    diagnostics = client.diagnostics[URI]
    assert len(diagnostics) == 1, diagnostics
    d = diagnostics[0]
    assert d.code == "E0201"
    assert "unknown name `reluu`" in d.message
    assert "did you mean `relu`?" in d.message
    assert d.severity == types.DiagnosticSeverity.Error
    start = position_of(broken, "reluu")
    assert (d.range.start.line, d.range.start.character) == (start.line, start.character)
    assert d.range.end.character == start.character + len("reluu")
    # A shape fault found by tracing the file's test: E0207 at the call.
    shapes = text.replace("ones([2, 784])", "ones([2, 783])")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=shapes)]))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    codes = [d.code for d in client.diagnostics[URI]]
    assert codes == ["E0207"], client.diagnostics[URI]
    assert "got f32[2, 783]" in client.diagnostics[URI][0].message
    # Fixed: the diagnostics clear.
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=3),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[URI]) == []


async def test_hover_shows_kinds_and_shapes(client: LanguageClient):
    text = MODEL.read_text()
    await open_document(client, text)
    # A Param of the stdlib's Linear, reached through the test's model: its declaration and
    # the concrete shape the test gives it.
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=position_of(text, "model.hidden.kernel", offset=len("model.hidden."))))
    value = hover_text(result)
    assert "Param kernel: f32[in_features, out_features]" in value, value
    assert "f32[784, 256]" in value, value
    # An expression inside a method: the shape it has when the test calls the model.
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=position_of(text, "h = relu", offset=0)))
    value = hover_text(result)
    assert "f32[2, 256]" in value, value
    # A module: its signature and doc comment.
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=position_of(text, "Model(784")))
    value = hover_text(result)
    assert "module Model(din: int, dmid: int, dout: int)" in value, value
    assert "Two dense layers" in value, value
    # A built-in.
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=position_of(text, "relu(")))
    value = hover_text(result)
    assert "built-in function (elementwise)" in value, value  # from docs/language.md's table
    assert "`relu gelu tanh" in value, value


async def test_definition_and_references(client: LanguageClient):
    text = MODEL.read_text()
    await open_document(client, text)
    # A stdlib layer: its source, served read-only.
    result = await client.text_document_definition_async(types.DefinitionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=position_of(text, "Linear(din")))
    assert len(result) == 1
    target = pathlib.Path(result[0].uri.removeprefix("file://"))
    assert target.name == "nn.nnx"
    line = target.read_text().splitlines()[result[0].range.start.line]
    assert line.startswith("module Linear("), line
    assert not os.access(target, os.W_OK) or os.geteuid() == 0
    # A member used in a method: its declaration in the module body.
    result = await client.text_document_definition_async(types.DefinitionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=position_of(text, "hidden(x)")))
    assert [(r.range.start.line, r.range.start.character) for r in result] == \
        [(position_of(text, "hidden =").line, 2)]
    # References of the member: the declaration, the call and the test's chain.
    result = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=position_of(text, "hidden ="),
        context=types.ReferenceContext(include_declaration=True)))
    lines = sorted(r.range.start.line for r in result)
    assert lines == sorted([position_of(text, "hidden =").line, position_of(text, "hidden(x)").line,
                            position_of(text, "model.hidden").line]), lines


async def test_completion_after_a_dot(client: LanguageClient):
    # Typing `k = model.` into a file that parsed: the text no longer parses, and completion
    # still knows what `model` holds.
    await open_document(client, MODEL.read_text())
    text = MODEL.read_text().replace("assert shape(y) == [2, 10]",
                                     "assert shape(y) == [2, 10]\n  k = model.")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=position_of(text, "k = model.", offset=len("k = model."))))
    items = result.items if hasattr(result, "items") else result
    labels = sorted(i.label for i in items)
    assert labels == ["hidden", "out"], labels
    # Without a dot: locals, stdlib layers, built-ins and keywords.
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=position_of(text, "y = model", offset=0)))
    labels = {i.label for i in (result.items if hasattr(result, "items") else result)}
    assert {"model", "Linear", "relu", "return", "Param"} <= labels


async def test_symbols_and_formatting(client: LanguageClient):
    text = MODEL.read_text()
    messy = text.replace("h = relu(hidden(x))", "h=relu( hidden(x) )")
    await open_document(client, messy)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=types.TextDocumentIdentifier(uri=URI)))
    outline = [(s.name, [c.name for c in (s.children or [])]) for s in symbols]
    assert outline == [("Model", ["hidden", "out", "__call__"]), ("loss_fn", []),
                       ('test "shapes"', [])], outline
    edits = await client.text_document_formatting_async(types.DocumentFormattingParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        options=types.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert len(edits) == 1
    assert edits[0].new_text == text
    assert edits[0].range.start == types.Position(line=0, character=0)


async def test_errors_are_answers(client: LanguageClient):
    # A request the server does not serve, and a document that is not open: JSON-RPC errors,
    # and the server goes on.
    with pytest.raises(Exception):
        await client.protocol.send_request_async("nnx/unknownRequest", {"x": 1})
    text = MODEL.read_text()
    await open_document(client, text)
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=types.Position(line=999, character=999)))
    assert result is None


async def test_semantic_tokens_and_snippets(client: LanguageClient):
    text = MODEL.read_text()
    await open_document(client, text)
    result = await client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=types.TextDocumentIdentifier(uri=URI)))
    names = ["keyword", "variable", "function", "class", "parameter", "property", "method",
             "type", "number", "string", "comment", "operator"]
    lines = text.split("\n")
    line = character = 0
    decoded = {}
    data = result.data
    for i in range(0, len(data), 5):
        line += data[i]
        character = data[i + 1] if data[i] else character + data[i + 1]
        decoded[(lines[line][character:character + data[i + 2]], line)] = names[data[i + 3]]
    at = lambda word, needle: decoded[(word, position_of(text, needle).line)]
    assert at("module", "module Model") == "keyword"
    assert at("Model", "module Model") == "class"
    assert at("hidden", "hidden(x)") == "property"
    assert at("relu", "relu(hidden") == "function"
    assert at("x", "hidden(x)") == "parameter"
    assert at("Linear", "Linear(din") == "class"
    assert at("# Two dense layers with a relu between.", "# Two dense") == "comment"
    assert at("784", "Model(784") == "number"
    # Completion offers declarations as snippets.
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=position_of(text, "fn loss_fn")))
    items = {i.label: i for i in (result.items if hasattr(result, "items") else result)}
    assert items["module"].insert_text_format == types.InsertTextFormat.Snippet
    assert items["module"].insert_text.startswith("module ${1:Name}(")


async def test_hover_where_no_test_reaches(client: LanguageClient):
    # A module no test instantiates: hover traces it with its hyper-parameters and the batch
    # standing by name; with the nnx.instances setting, with those sizes.
    text = ("module Head(din: int, dmid: int) {\n"
            "  lin = Linear(din, dmid)\n"
            "  fn __call__(x: f32[B, din]) {\n"
            "    h = lin(x)\n"
            "    return relu(h)\n"
            "  }\n"
            "}\n")
    uri = (HERE / "head.nnx").as_uri()
    await open_document(client, text, uri=uri)
    assert list(client.diagnostics[uri]) == []
    hover = lambda: client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=position_of(text, "relu(h)", offset=len("relu("))))
    value = hover_text(await hover())
    assert "f32[B, dmid] for Head(din, dmid)" in value, value
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"nnx": {"instances": ["Head(8, 4)"]}}))
    value = hover_text(await hover())
    assert "f32[B, 4] for Head(8, 4)" in value, value
