/**
 * `lakeform completion bash|zsh|fish`: shell completion generated from commander's command tree
 * (the commands, their subcommands, options and the choices of options and arguments), so it
 * follows cli/main.ts by itself: nothing here lists a command. zsh runs the bash function through
 * its bashcompinit layer.
 */
import { Help, type Command } from "@commander-js/extra-typings";
import { LakeformError } from "../lake/errors";

/** A command of the tree, as completion needs it. */
export interface CompletionNode {
  /** The words that lead to it: [] for lakeform itself, ["trash", "purge"] for `lakeform trash purge`. */
  path: string[];
  description: string;
  subcommands: { name: string; description: string }[];
  options: { short?: string; long?: string; description: string; takesValue: boolean; choices?: string[]; file: boolean }[];
  /** The choices its arguments take (`logs <service>`), when they are a fixed list. */
  argChoices: string[];
  /** Whether an argument names a table (`<table>`, `[names...]`): completed from the stack's tables, asked when completing. */
  tableArg: boolean;
  /** Its arguments in order: what each completes to (a fixed list, the stack's tables, or nothing), and whether it takes the rest. */
  args: { choices?: string[]; tables: boolean; variadic: boolean }[];
}

/** The hidden command completion asks for the stack's table names (cli/main.ts). */
export const TABLE_NAMES_COMMAND = "__table-names";

/** Table names as people type them: `leads` for default.leads, `sales.orders` otherwise. */
export function tableNames(ids: string[]): string[] {
  return ids.map((id) => id.replace(/^default\./, "")).sort();
}

type AnyCommand = Command<unknown[], Record<string, unknown>, Record<string, unknown>>;

const isTableArg = (name: string) => /^(table|tables|names)$/.test(name);

/** Walks the tree: what `--help` shows (hidden commands and options left out), the help command too. */
export function completionTree(program: AnyCommand): CompletionNode[] {
  const help = new Help();
  const nodes: CompletionNode[] = [];
  const walk = (cmd: AnyCommand, path: string[]) => {
    const subs = help.visibleCommands(cmd as never) as unknown as AnyCommand[];
    nodes.push({
      path,
      description: cmd.description(),
      subcommands: subs.map((c) => ({ name: c.name(), description: c.description() })),
      options: help.visibleOptions(cmd as never).map((o) => ({
        short: o.short,
        long: o.long,
        description: o.description,
        takesValue: o.required || o.optional,
        choices: o.argChoices,
        // Options naming a file or a directory complete paths.
        file: /<(path|file|dir)[^>]*>/.test(o.flags),
      })),
      argChoices: cmd.registeredArguments.flatMap((a) => a.argChoices ?? []),
      tableArg: cmd.registeredArguments.some((a) => isTableArg(a.name())),
      args: cmd.registeredArguments.map((a) => ({ choices: a.argChoices, tables: isTableArg(a.name()), variadic: a.variadic })),
    });
    for (const c of subs) if (c.name() !== "help") walk(c, [...path, c.name()]);
  };
  walk(program, []);
  return nodes;
}

const words = (xs: (string | undefined)[]) => xs.filter((x): x is string => Boolean(x)).join(" ");
/** A word as a single-quoted shell literal. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function bashCompletion(program: AnyCommand, name = program.name()): string {
  const nodes = completionTree(program);
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, "_")}_completion`;
  const key = (path: string[]) => path.join("/");
  // Word by word: a subcommand moves down the tree; a value-taking option skips its value.
  const moves = nodes.flatMap((n) => n.subcommands.filter((s) => s.name !== "help").map((s) => `      ${sq(`${key(n.path)}:${s.name}`)}) path=${sq(key([...n.path, s.name]))}; npos=0 ;;`));
  const valued = nodes.flatMap((n) => n.options.filter((o) => o.takesValue).flatMap((o) => [o.short, o.long].filter(Boolean).map((f) => `${key(n.path)}:${f}`)));
  // The root's own options (--stack) go after a subcommand too; its --help and --version don't.
  const inherited = nodes[0].options.filter((o) => o.long !== "--help" && o.long !== "--version");
  const global = nodes[0].options.filter((o) => o.takesValue).flatMap((o) => [o.short, o.long].filter(Boolean) as string[]);
  const valueCases = nodes.flatMap((n) =>
    n.options
      .filter((o) => o.takesValue)
      .map((o) => {
        const pats = [o.short, o.long].filter(Boolean).map((f) => sq(`${key(n.path)}:${f}`));
        const action = o.choices ? `COMPREPLY=($(compgen -W ${sq(o.choices.join(" "))} -- "$cur"))` : o.file ? `COMPREPLY=($(compgen -f -- "$cur"))` : "COMPREPLY=()";
        return `    ${pats.join("|")}) ${action}; return ;;`;
      }),
  );
  const optionCases = nodes.map((n) => `    ${sq(key(n.path))}) opts=${sq(words([...n.options.flatMap((o) => [o.long, o.short]), ...(n.path.length ? inherited.map((o) => o.long) : [])]))} ;;`);
  // A word that is neither an option nor a subcommand is the next argument: what it completes to goes by its position.
  const wordCases = nodes.map((n) => {
    const subs = n.subcommands.map((s) => s.name);
    const at = (a: CompletionNode["args"][number] | undefined, i: number) => {
      const w = words([...(i === 0 ? subs : []), ...(a?.choices ?? [])]);
      return `cmds=${sq(w)}${a?.tables ? " tables=1" : ""}`;
    };
    const cases = n.args.map((a, i) => `${a.variadic ? "*" : i}) ${at(a, i)} ;;`);
    if (n.args.length === 0) cases.push(`0) ${at(undefined, 0)} ;;`);
    return `    ${sq(key(n.path))}) case "$npos" in ${cases.join(" ")} esac ;;`;
  });
  return `# ${name} completion for bash, generated from its command tree (${name} completion bash).
# Load it with: source <(${name} completion bash)   or save it under ~/.local/share/bash-completion/completions/${name}
${fn}() {
  local cur prev path="" i w skip="" npos=0
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev=""
  [ "$COMP_CWORD" -gt 0 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [ -n "$skip" ]; then skip=""; continue; fi
    case "$path:$w" in
${moves.join("\n")}
      *)
        case " ${valued.join(" ")} " in
          *" $path:$w "*) skip=1 ;;
        esac
        case " ${global.join(" ")} " in
          *" $w "*) skip=1 ;;
        esac
        [[ "$w" != -* ]] && npos=$((npos + 1))
        ;;
    esac
  done
  if [ -n "$skip" ]; then
    case "$path:$prev" in
${valueCases.join("\n")}
    esac
    case "$prev" in
${nodes[0].options
  .filter((o) => o.takesValue)
  .map((o) => {
    const pats = [o.short, o.long].filter(Boolean).join("|");
    return `      ${pats}) ${o.choices ? `COMPREPLY=($(compgen -W ${sq(o.choices.join(" "))} -- "$cur"))` : `COMPREPLY=()`}; return ;;`;
  })
  .join("\n")}
    esac
    COMPREPLY=()
    return
  fi
  local opts="" cmds="" tables=""
  case "$path" in
${optionCases.join("\n")}
  esac
  case "$path" in
${wordCases.join("\n")}
  esac
  # The stack's tables, from the reconciler's report (the same command, so the same stack).
  [ -n "$tables" ] && cmds="$cmds $("\${COMP_WORDS[0]}" ${TABLE_NAMES_COMMAND} 2>/dev/null)"
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
  fi
}
complete -o default -F ${fn} ${name}
`;
}

export function zshCompletion(program: AnyCommand, name = program.name()): string {
  return `#compdef ${name}
# ${name} completion for zsh, generated from its command tree (${name} completion zsh): the bash
# function, run by zsh's bashcompinit. Load it with: source <(${name} completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program, name).replace(/^# .*\n# .*\n/, "")}`;
}

export function fishCompletion(program: AnyCommand, name = program.name()): string {
  const nodes = completionTree(program);
  const lines = [`# ${name} completion for fish, generated from its command tree (${name} completion fish).`, `# Load it with: ${name} completion fish | source   or save it as ~/.config/fish/completions/${name}.fish`, `complete -c ${name} -f`];
  for (const n of nodes) {
    // Where this node's words apply: after its own command word, before any of its subcommands.
    const here = n.path.length === 0 ? "__fish_use_subcommand" : `__fish_seen_subcommand_from ${n.path[n.path.length - 1]}`;
    const notBelow = n.subcommands.length ? `; and not __fish_seen_subcommand_from ${n.subcommands.map((s) => s.name).join(" ")}` : "";
    const cond = n.path.length === 0 ? here : `${here}${notBelow}`;
    for (const s of n.subcommands) lines.push(`complete -c ${name} -n ${sq(cond)} -a ${sq(s.name)} -d ${sq(firstSentence(s.description))}`);
    if (n.argChoices.length) lines.push(`complete -c ${name} -n ${sq(cond)} -a ${sq(n.argChoices.join(" "))}`);
    if (n.tableArg) lines.push(`complete -c ${name} -n ${sq(cond)} -a ${sq(`(${name} ${TABLE_NAMES_COMMAND} 2>/dev/null)`)}`);
    for (const o of n.options) {
      // Every command's --help is completed once, from the root's.
      if (n.path.length && o.long === "--help") continue;
      const parts = [`complete -c ${name}`];
      // The root's options (--stack, -o …) apply everywhere.
      if (n.path.length) parts.push(`-n ${sq(`__fish_seen_subcommand_from ${n.path[n.path.length - 1]}`)}`);
      if (o.short) parts.push(`-s ${o.short.replace(/^-/, "")}`);
      if (o.long) parts.push(`-l ${o.long.replace(/^--/, "")}`);
      if (o.takesValue) parts.push(o.choices ? `-x -a ${sq(o.choices.join(" "))}` : o.file ? "-r -F" : "-x");
      parts.push(`-d ${sq(firstSentence(o.description))}`);
      lines.push(parts.join(" "));
    }
  }
  return lines.join("\n") + "\n";
}

const firstSentence = (s: string) => s.split(/[:(;]/)[0].trim().slice(0, 80);

export const SHELLS = ["bash", "zsh", "fish"] as const;

export function completionScript(program: AnyCommand, shell: string): string {
  switch (shell) {
    case "bash":
      return bashCompletion(program);
    case "zsh":
      return zshCompletion(program);
    case "fish":
      return fishCompletion(program);
    default:
      throw new LakeformError("BAD_REQUEST", `completion ${shell}: not a shell lakeform completes (${SHELLS.join(", ")})`);
  }
}
