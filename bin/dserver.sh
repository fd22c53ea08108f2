#!/usr/bin/env bash
# Starts a troupe node, as OrientDB's bin/dserver.sh starts a distributed server.
# Installs what is missing, builds, then runs dserver on the server home: the
# folder above bin/ (or $ORIENTDB_HOME when set), holding config/ and databases/.
# Copy the whole folder to run a second node, as the tutorial does.
#
#   bin/dserver.sh [dserver options]      e.g. --help
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/bin/setup.sh" "$root/build"
export ORIENTDB_HOME="${ORIENTDB_HOME:-$root}"
exec "$root/build/apps/dserver" --home "$ORIENTDB_HOME" "$@"
