# Sourced by Lakeform's scripts (and by users: `source scripts/env.sh`) to use the pinned Pulumi
# CLI offline: a file backend inside the project, no update checks, no plugin downloads.
LAKEFORM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LAKEFORM_ROOT
export LAKEFORM_CACHE="${LAKEFORM_CACHE:-$HOME/.cache/lakeform}"
export PULUMI_VERSION="${PULUMI_VERSION:-v3.259.0}"
export PATH="$LAKEFORM_CACHE/pulumi/$PULUMI_VERSION/bin:$LAKEFORM_ROOT/node_modules/.bin:$PATH"
export PULUMI_HOME="${PULUMI_HOME:-$LAKEFORM_CACHE/pulumi-home}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK="${PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK:-false}"
mkdir -p "$LAKEFORM_ROOT/.lakeform/state"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$LAKEFORM_ROOT/.lakeform/state}"
# The passphrase that encrypts this machine's stack secrets: generated once, kept out of git.
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  pf="$LAKEFORM_ROOT/.lakeform/passphrase"
  if [ ! -s "$pf" ]; then (umask 077 && head -c 32 /dev/urandom | base64 > "$pf"); fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$pf"
fi
# Node 22 LTS: scripts/install-node.sh puts it in the cache when the machine's Node is older
# (setup runs it); everything Lakeform starts (setup, tests, services, the CLI) runs on it.
export LAKEFORM_NODE_VERSION="${LAKEFORM_NODE_VERSION:-22.23.3}"
if [ -x "$LAKEFORM_CACHE/node/v$LAKEFORM_NODE_VERSION/bin/node" ]; then
  case ":$PATH:" in
    *":$LAKEFORM_CACHE/node/v$LAKEFORM_NODE_VERSION/bin:"*) ;;
    *) export PATH="$LAKEFORM_CACHE/node/v$LAKEFORM_NODE_VERSION/bin:$PATH" ;;
  esac
elif [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 22)" -lt 22 ]; then
  # Not installed yet (run scripts/setup.sh): on an older Node the AWS SDK warns on every process.
  export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED="${AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED:-true}"
fi
