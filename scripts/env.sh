# Sourced by Lakeform's scripts (and by users: `source scripts/env.sh`): the Pulumi CLI to use (a
# standard install, or the one built into the cache for offline machines), a file backend inside
# the project, the passphrase of its secrets, Node 22.
LAKEFORM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LAKEFORM_ROOT
export LAKEFORM_CACHE="${LAKEFORM_CACHE:-$HOME/.cache/lakeform}"
# The Pulumi SDK's version (package.json pins @pulumi/pulumi): the least CLI that runs the program.
export PULUMI_VERSION="${PULUMI_VERSION:-v$(sed -n 's/.*"@pulumi\/pulumi": "\([0-9][0-9.]*\)".*/\1/p' "$LAKEFORM_ROOT/package.json")}"
# Which Pulumi (LAKEFORM_PULUMI): "standard" when a `pulumi` CLI of at least that version is
# installed on PATH (Pulumi's own install, with its language host and plugin downloads), unless
# LAKEFORM_OFFLINE=1; "offline" otherwise: the CLI, language host and provider stand-ins built into
# the cache by scripts/install-pulumi.sh, with plugin downloads off (machines with registries only).
lakeform_pulumi_mode() {
  [ "${LAKEFORM_OFFLINE:-0}" = 1 ] && { echo offline; return; }
  local own="$LAKEFORM_CACHE/pulumi/$PULUMI_VERSION/bin" p v
  p="$(PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$own" | paste -sd: -)" command -v pulumi 2>/dev/null)" || { echo offline; return; }
  # A standard install ships its nodejs language host beside the CLI.
  [ -x "$(dirname "$p")/pulumi-language-nodejs" ] || { echo offline; return; }
  v="$("$p" version 2>/dev/null | head -1)"
  case "$v" in v[0-9]*) ;; *) echo offline; return ;; esac
  if [ "$(printf '%s\n%s\n' "${v%%-*}" "$PULUMI_VERSION" | sort -V | head -1)" = "$PULUMI_VERSION" ]; then echo standard; else echo offline; fi
}
export LAKEFORM_PULUMI="$(lakeform_pulumi_mode)"
if [ "$LAKEFORM_PULUMI" = offline ]; then
  export PATH="$LAKEFORM_CACHE/pulumi/$PULUMI_VERSION/bin:$LAKEFORM_ROOT/node_modules/.bin:$PATH"
  export PULUMI_HOME="${PULUMI_HOME:-$LAKEFORM_CACHE/pulumi-home}"
  export PULUMI_SKIP_UPDATE_CHECK=true
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
else
  # The user's own Pulumi, their PULUMI_HOME and plugins. After it on PATH: the project's tools,
  # and the cache's bin, where a provider stand-in is built only if the real plugin can't be
  # installed (scripts/install-pulumi.sh).
  for d in "$LAKEFORM_ROOT/node_modules/.bin" "$LAKEFORM_CACHE/pulumi/$PULUMI_VERSION/bin"; do
    case ":$PATH:" in *":$d:"*) ;; *) export PATH="$PATH:$d" ;; esac
  done
fi
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
