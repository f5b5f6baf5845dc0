"""pytest configuration of the language server tests: the nnxrun binary comes from the
--nnxrun option (ctest passes the built one) or the NNXRUN environment variable."""
import os


def pytest_addoption(parser):
    parser.addoption("--nnxrun", default=os.environ.get("NNXRUN", "build/bin/nnxrun"),
                     help="the nnxrun binary whose `lsp` subcommand is tested")


def pytest_configure(config):
    os.environ["NNXRUN"] = os.path.abspath(config.getoption("--nnxrun"))
