#!/bin/sh
# Every tool takes -q (--quiet), as the design says, and lists it in its
# --help: every tabpipe-* that PATH finds, the first of each name.
. ./lib.sh

tools=
IFS=:
for dir in $PATH; do
	for bin in "$dir"/tabpipe-*; do
		tool=${bin##*/}
		case " $tools " in *" $tool "*) continue ;; esac
		if [ -f "$bin" ] && [ -x "$bin" ]; then
			tools="$tools $tool"
		fi
	done
done
unset IFS
if [ -z "$tools" ]; then
	echo "not ok - no tabpipe-* in PATH"
	exit 1
fi
for tool in $tools; do
	run_status "$tool -q --help exits 0" 0 "$tool" -q --help
	yes_that "$tool --help lists -q, --quiet" grep -q '^  -q, --quiet ' "$T/out"
	# The usage is the lines before the first empty one.
	if sed '/^$/,$d' "$T/out" | grep -qF '[-q]'; then
		ok "$tool's usage shows [-q]"
	else
		not_ok "$tool's usage shows [-q]"
	fi
	run_status "$tool --quiet --help exits 0" 0 "$tool" --quiet --help
done
