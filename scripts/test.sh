#!/usr/bin/env bash
# Sets up the machine, builds, and runs every test project. Ends with "N passed, N failed[, N skipped]"
# summed over all test projects, and exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

results=TestResults
rm -rf "$results"
dotnet build MetalAgent.sln -c Release --nologo -v q || { echo "0 passed, 1 failed"; exit 1; }
dotnet test MetalAgent.sln -c Release --no-build --nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" \
  -- RunConfiguration.TestSessionTimeout=3600000
status=$?

passed=0 failed=0 skipped=0 files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  p=$(get passed); f=$(get failed); t=$(get total); e=$(get executed); n=$(get notExecuted)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + $(get error || echo 0) + $(get timeout || echo 0) + $(get aborted || echo 0)))
  # Skipped tests are in the total but not executed (xunit reports them so; notExecuted stays 0).
  notrun=$(( ${t:-0} - ${e:-0} ))
  skipped=$((skipped + (notrun > ${n:-0} ? notrun : ${n:-0})))
done
test_projects=$(ls tests/*/*.Tests.csproj | wc -l)  # tests/Shared holds linked sources, not a project
if [ "$files" -lt "$test_projects" ]; then
  echo "test.sh: only $files of $test_projects test projects produced results"
  failed=$((failed + test_projects - files))
fi
# Repeat every failure with its message at the end, where a truncated log still shows it.
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  awk '
    /<UnitTestResult / && /outcome="Failed"/ { match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); infail = 1; next }
    infail && /<Message>/ { msg = $0; sub(/.*<Message>/, "", msg); grab = 1 }
    infail && grab { line = $0; if (line ~ /<Message>/) line = msg; done = sub(/<\/Message>.*/, "", line); text = text " " line; if (done) { print "FAILED " name ":" substr(text, 1, 1500); text = ""; grab = 0; infail = 0 } }
  ' "$trx" | sed 's/&quot;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g; s/&#xD;//g; s/&#xA;/ /g'
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
