#!/bin/sh
# header_matrix: each public header alone (nothing before it, nothing after,
# no feature macros) passes -fsyntax-only with every C and C++ compiler found
# here, in every standard the project promises, with stricter warnings than
# the build uses. C: c99 c11 c17; C++: c++98 c++11 c++17 c++20. gcc also gets
# -Wc++-compat (nothing in the header that a C++ reader would reject).
# usage: header-matrix.sh HEADER...
set -eu
[ $# -gt 0 ] || { echo "usage: header-matrix.sh HEADER..."; exit 2; }
common="-pedantic -Werror -Wall -Wextra -Wconversion -Wsign-conversion -Wshadow -Wundef -Wcast-qual -Wredundant-decls"
ran=0 fail=0
try() { # try COMPILER LANG STD EXTRA...
    comp=$1 lang=$2 std=$3
    shift 3
    # shellcheck disable=SC2086
    if out=$("$comp" -x "$lang" -std="$std" $common "$@" -fsyntax-only "$header" 2>&1); then
        echo "ok   $comp -std=$std $(basename "$header")"
    else
        echo "FAIL $comp -std=$std $(basename "$header")"
        printf '%s\n' "$out" | head -n 20
        fail=1
    fi
    ran=$((ran + 1))
}
check_header() { # every compiler and standard on $header
    for comp in gcc clang; do
        command -v $comp > /dev/null || { echo "skip $comp (not installed)"; continue; }
        extra="-Wstrict-prototypes"
        [ $comp = gcc ] && extra="$extra -Wc++-compat"
        for std in c99 c11 c17; do
            # shellcheck disable=SC2086
            try $comp c $std $extra
        done
    done
    for comp in g++ clang++; do
        command -v $comp > /dev/null || { echo "skip $comp (not installed)"; continue; }
        try "$comp" c++ c++98 -Wold-style-cast
        for std in c++11 c++17 c++20; do
            try "$comp" c++ "$std" -Wold-style-cast -Wzero-as-null-pointer-constant
        done
    done
}
for header in "$@"; do
    check_header
done
[ $ran -gt 0 ] || { echo "SKIP: no C or C++ compiler found"; exit 77; }
[ $fail -eq 0 ] && echo "OK: $ran header/compiler/standard combinations"
exit $fail
