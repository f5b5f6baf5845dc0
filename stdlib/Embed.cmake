# Embed.cmake — writes OUTPUT, a C++ file defining nnx::stdlib::kFiles from the .nnx files in
# FILES (a |-separated list). Run by stdlib/CMakeLists.txt at build time with `cmake -P`.
string(REPLACE "|" ";" FILES "${FILES}")
set(body "")
set(count 0)
foreach(f IN LISTS FILES)
  get_filename_component(name "${f}" NAME)
  file(READ "${f}" text)
  string(APPEND body "  {\"${name}\", R\"nnxstdlib(${text})nnxstdlib\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from stdlib/*.nnx by stdlib/Embed.cmake. Do not edit.\n"
  "#include \"stdlib/Stdlib.h\"\n"
  "namespace nnx::stdlib {\n"
  "const File kFiles[] = {\n${body}};\n"
  "const size_t kNumFiles = ${count};\n"
  "} // namespace nnx::stdlib\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
