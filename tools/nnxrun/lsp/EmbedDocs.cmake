# EmbedDocs.cmake — writes OUTPUT, a C++ file defining nnx::tool::lsp::kBuiltinDocs: the
# "## Built-in functions" section of INPUT (docs/language.md), which the language server shows
# on hover and completion. Run at build time with `cmake -P` by tools/nnxrun/CMakeLists.txt, so
# the editor says what the reference says.
file(READ "${INPUT}" text)
string(FIND "${text}" "## Built-in functions" begin)
if(begin EQUAL -1)
  message(FATAL_ERROR "${INPUT} has no \"## Built-in functions\" section")
endif()
string(SUBSTRING "${text}" ${begin} -1 rest)
string(SUBSTRING "${rest}" 3 -1 after)
string(FIND "${after}" "\n## " end)
if(NOT end EQUAL -1)
  math(EXPR end "${end} + 3")
  string(SUBSTRING "${rest}" 0 ${end} rest)
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from docs/language.md by tools/nnxrun/lsp/EmbedDocs.cmake. Do not edit.\n"
  "namespace nnx::tool::lsp {\n"
  "extern const char *const kBuiltinDocs;\n"
  "const char *const kBuiltinDocs = R\"nnxdocs(${rest})nnxdocs\";\n"
  "} // namespace nnx::tool::lsp\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
