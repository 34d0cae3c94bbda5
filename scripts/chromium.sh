#!/usr/bin/env bash
# Headless chromium for the leaderboard page test (tests/benchmark/leaderboard/test_browser.py), called by
# scripts/test.sh: installed from Debian as root with apt-get (about a minute, once); otherwise this says loudly
# why not, and the page test skips, or fails under CI=true. It never fails the test command itself.
# GONERD_TEST_NO_APT=1 skips the install; CHROMIUM_PATH names another chromium binary (default /usr/bin/chromium).
set -uo pipefail
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$chromium" ] && exit 0
why=""
if [ -n "${GONERD_TEST_NO_APT:-}" ]; then
  why="GONERD_TEST_NO_APT is set"
elif [ "$(id -u)" != 0 ]; then
  why="not root, so apt-get cannot install it (as root: apt-get install chromium)"
elif ! command -v apt-get >/dev/null 2>&1; then
  why="no apt-get on this machine (install chromium and set CHROMIUM_PATH)"
else
  echo "chromium.sh: installing Debian's chromium for the page test (apt-get, about a minute)" >&2
  if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1; then
    why="apt-get install chromium failed (no Debian mirror reachable?)"
  elif [ ! -x "$chromium" ]; then
    why="apt-get installed chromium, but not at $chromium (set CHROMIUM_PATH)"
  fi
fi
if [ -n "$why" ]; then
  case "$(echo "${CI:-}" | tr '[:upper:]' '[:lower:]')" in
    true | 1 | yes) outcome="FAIL (CI=${CI})" ;;
    *) outcome="be skipped" ;;
  esac
  echo "chromium.sh: WARNING: no chromium at $chromium: $why." >&2
  echo "chromium.sh: WARNING: the leaderboard page test (tests/benchmark/leaderboard/test_browser.py) will $outcome." >&2
fi
exit 0
