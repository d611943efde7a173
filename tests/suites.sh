#!/bin/sh
# Checks that every module of the library (each lib/WING/NAME.h; the GPU's
# have their own runner, tests/cuda) has its unit suite,
# tests/unit/WING/test_NAME.c. Prints the modules without one and exits 1
# if there is one.
#
# usage: sh tests/suites.sh [LIBDIR [TESTDIR]]   (lib, tests/unit)
set -u
lib=${1:-lib}
tests=${2:-tests/unit}
missing=0
for h in "$lib"/*/*.h; do
	wing=$(basename "$(dirname "$h")")
	module=$(basename "$h" .h)
	if [ ! -f "$tests/$wing/test_$module.c" ]; then
		echo "$h: no unit suite $tests/$wing/test_$module.c"
		missing=$((missing + 1))
	fi
done
echo "tests/suites.sh: $missing module(s) without a unit suite"
[ "$missing" -eq 0 ]
