#!/bin/sh
# exitcode.sh CMD... — runs CMD with stderr merged into stdout, then prints "exit=N", so a lit
# test can FileCheck both the message and the exact exit code (0 ok, 1 user error, 2 usage).
"$@" 2>&1
echo "exit=$?"
