#!/usr/bin/env bash
# Starts troupe's console, as OrientDB's bin/console.sh. Installs what is missing
# and builds (through bin/setup.sh) when needed, then runs the console with the
# given arguments, e.g.
#
#   bin/console.sh                                  interactive
#   bin/console.sh -f script.txt                    one command per line
#   bin/console.sh "connect remote:localhost root PASSWORD; list servers"
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -x "$root/build/apps/console" ] || [ -n "$(find "$root/src" "$root/actors" "$root/apps" -newer "$root/build/apps/console" -name '*.[ch]pp' -print -quit)" ]; then
  "$root/bin/setup.sh" "$root/build"
fi
exec "$root/build/apps/console" "$@"
