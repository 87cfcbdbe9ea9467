#!/bin/sh
# fuzz.sh FUZZTIME [go test flags...]: run every Fuzz target in the module for
# FUZZTIME each, one after another. A crasher is written to the package's
# testdata/fuzz and fails the run.
#
# Go 1.26's fuzz coordinator can end a duration-bound run with a bare
# "context deadline exceeded" although nothing was found: its workers lose a
# race with the -fuzztime deadline on a loaded machine (go.dev/issue/75804,
# fixed in Go 1.27). Such a run wrote no failing input, so it is run once
# more; only a second bare deadline in a row fails, and any other failure
# (a written input, a panic, a t.Error) fails at once.
set -u
GO=${GO:-go}
fuzztime=$1
shift
list=$($GO test -list '^Fuzz' ./...) || { echo "$list"; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "$list" | awk '/^Fuzz/ { names = names " " $1; next } /^ok/ { if (names != "") print $2 names; names = "" }' |
while read -r pkg targets; do
	for t in $targets; do
		for attempt in 1 2; do
			echo "fuzz: $t in $pkg for $fuzztime"
			if $GO test -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" "$@" "$pkg" >"$log" 2>&1; then
				cat "$log"
				break
			fi
			cat "$log"
			if [ "$attempt" = 1 ] && grep -q 'context deadline exceeded' "$log" &&
				! grep -q -e 'Failing input written' -e 'panic:' -e '_test.go:[0-9]' "$log"; then
				echo "fuzz: $t stopped on Go's fuzztime deadline race (go.dev/issue/75804), nothing found; running it again"
				continue
			fi
			exit 1
		done
	done
done
