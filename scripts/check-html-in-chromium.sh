#!/usr/bin/env bash
# Opens the HTML page of every shipped runbook (and their index) in headless Chromium and fails when
# one does not load cleanly:
#   - the browser logs a console message (a script error, a resource it could not load);
#   - the page's script does not reach its end (it sets <body data-ready="ok"> last);
#   - the timeline picture is missing from the rendered page;
#   - a page opened at #step-N (a link to a step) does not show step N in its detail line.
# Needs Chromium (Debian: apt-get install chromium). Usage: scripts/check-html-in-chromium.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ]; then
  echo "error: Chromium is not installed (Debian: apt-get install chromium); set CHROMIUM to its path" >&2
  exit 2
fi
out=${1:-$(mktemp -d)}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

cargo build --quiet -p replication-sim
sim=target/debug/replication-sim
# The pages are written whatever the runbooks' results: this checks the pages, `cargo test` the results.
"$sim" run --html "$out" fixtures/scenarios >/dev/null || true

# Flags for a sandboxed machine with no network (as root, no GPU, no background connections).
open_page() {
  "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 --dump-dom "$1" 2>"$out/browser.log"
}

failed=0
pages=0
for page in "$out"/*.html; do
  pages=$((pages + 1))
  dom=$(open_page "file://$page")
  problem=""
  if grep -q ':CONSOLE' "$out/browser.log"; then
    problem="console: $(grep ':CONSOLE' "$out/browser.log" | head -3)"
  elif ! grep -q 'data-ready="ok"' <<<"$dom"; then
    problem="its script did not run to the end (no data-ready=\"ok\")"
  elif [ "$(basename "$page")" != index.html ] && ! grep -q 'id="timeline-picture"' <<<"$dom"; then
    problem="no timeline picture"
  fi
  if [ -z "$problem" ] && [ "$(basename "$page")" != index.html ]; then
    step=$(grep -o 'data-step="[0-9]*" data-mark' "$page" | head -1 | grep -o '[0-9][0-9]*' || true)
    if [ -n "$step" ]; then
      dom=$(open_page "file://$page#step-$step")
      if ! grep -q "<div id=\"detail\"[^>]*>step $step: " <<<"$dom"; then
        problem="opened at #step-$step, the detail line does not show step $step"
      fi
    fi
  fi
  if [ -n "$problem" ]; then
    echo "FAIL $page: $problem"
    failed=$((failed + 1))
  else
    echo "ok   $page"
  fi
done
if [ "$pages" -eq 0 ]; then
  echo "error: no pages were written to $out" >&2
  exit 2
fi
echo "$pages page(s) opened in $("$chromium" --version 2>/dev/null | head -1); $failed failed"
[ "$failed" -eq 0 ]
