//===- main.cpp - doctest entry point of the runtime unit tests -----------===//
//
// The one translation unit that instantiates doctest's main(); every *Test.cpp beside it only
// includes doctest.h and registers its TEST_CASEs.
//
//===----------------------------------------------------------------------===//
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
