#!/bin/sh
# tests/floors.sh, the build's check of lib/'s floors: it passes the
# library as it is, and names each include that climbs or names no wing.
. ./lib.sh

run_status "the library keeps to its floors" 0 sh ../floors.sh ../../lib
mkdir -p "$T/lib/base" "$T/lib/model" "$T/lib/web"
cp ../../lib/README.md "$T/lib/"
printf '#include <stdio.h>\n#include "model/model.h"\n' >"$T/lib/base/a.c"
printf '#include "score.h"\n#include "base/err.h"\n' >"$T/lib/model/b.c"
: >"$T/lib/web/c.h"
: >"$T/lib/loose.c"
run_status "a wing that includes a higher one fails the check" 1 sh ../floors.sh "$T/lib"
out_has "it names the include and the floors" 'lib/base/a.c:2: #include "model/model.h": model/ is on floor 4, above base/ on floor 1'
out_has "an include without its wing is named" 'lib/model/b.c:1: #include "score.h" names no wing'
out_has "a folder not in the table is named" 'lib/web/c.h: web/ is not a wing'
out_has "a file outside the wings is named" 'lib/loose.c: outside the wings'
if grep -q 'base/err.h' "$T/out"; then not_ok "an include downwards passes"; else ok "an include downwards passes"; fi
run_status "without a table of floors it says so" 64 sh ../floors.sh "$T/lib/web"
