#!/usr/bin/env bash
# Opens the HTML page of every shipped runbook (and their index) in headless Chromium and fails when
# one does not load cleanly:
#   - a page is missing (one per runbook in fixtures/scenarios, plus index.html);
#   - the browser logs a console message (a script error, a resource it could not load);
#   - the page's script does not reach its end (it sets <body data-ready="ok"> last);
#   - the timeline picture is missing from the rendered page;
#   - a page opened at #step-N (a link to a step) does not show step N in its detail line.
# A canary page with a script error must fail the same checks, or the check itself is broken.
# Needs Chromium (Debian: apt-get install chromium). Usage: scripts/check-html-in-chromium.sh [OUT_DIR]
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ]; then
  echo "error: Chromium is not installed (Debian: apt-get install chromium); set CHROMIUM to its path" >&2
  exit 2
fi
out=${1:-$(mktemp -d)}
mkdir -p "$out/canary"
out=$(cd "$out" && pwd)
rm -f "$out"/*.html "$out"/canary/*.html
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

cargo build --quiet -p replication-sim
# The pages are written whatever the runbooks' results: this checks the pages, `cargo test` the results.
target/debug/replication-sim run --html "$out" fixtures/scenarios >/dev/null || true
runbooks=(fixtures/scenarios/*.json)
pages=("$out"/*.html)
if [ "${#pages[@]}" -ne $(( ${#runbooks[@]} + 1 )) ]; then
  echo "error: ${#pages[@]} pages in $out for ${#runbooks[@]} runbooks (expected one each and index.html)" >&2
  exit 1
fi

# Flags for a sandboxed machine with no network (as root, no GPU, no background connections).
open_page() {
  timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 --dump-dom "$1" 2>"$out/browser.log"
}

# What is wrong with a page (nothing when it loads cleanly).
problem() {
  local page=$1 dom step
  dom=$(open_page "file://$page") || { echo "the browser failed or timed out"; return; }
  if grep -q ':CONSOLE' "$out/browser.log"; then
    echo "console: $(grep ':CONSOLE' "$out/browser.log" | head -3)"
  elif ! grep -q 'data-ready="ok"' <<<"$dom"; then
    echo "its script did not run to the end (no data-ready=\"ok\")"
  elif [ "$(basename "$page")" != index.html ]; then
    if ! grep -q 'id="timeline-picture"' <<<"$dom"; then
      echo "no timeline picture"
      return
    fi
    step=$(grep -o 'data-step="[0-9]*" data-mark' "$page" | head -1 | grep -o '[0-9][0-9]*' || true)
    if [ -n "$step" ]; then
      dom=$(open_page "file://$page#step-$step") || { echo "the browser failed at #step-$step"; return; }
      grep -q "<div id=\"detail\"[^>]*>step $step: " <<<"$dom" \
        || echo "opened at #step-$step, the detail line does not show step $step"
    fi
  fi
}

canary="$out/canary/script-error.html"
sed 's#</script>#no_such_function();\n</script>#' "$out/dr-planned-failover.html" >"$canary"
if [ -z "$(problem "$canary")" ]; then
  echo "error: a page with a script error passed the check; the check is broken" >&2
  exit 1
fi

failed=0
for page in "${pages[@]}"; do
  what=$(problem "$page")
  if [ -n "$what" ]; then
    echo "FAIL $page: $what"
    failed=$((failed + 1))
  else
    echo "ok   $page"
  fi
done
echo "${#pages[@]} page(s) opened in $("$chromium" --version 2>/dev/null | head -1); $failed failed"
[ "$failed" -eq 0 ]
