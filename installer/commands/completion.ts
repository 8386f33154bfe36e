/**
 * `hvcluster completion bash|zsh`: a completion script made from the program's own commands and
 * options, so it never lists a flag that does not exist.
 */
import type { Command } from 'commander';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

export function isShell(name: string): name is Shell {
  return (SHELLS as readonly string[]).includes(name);
}

interface CommandWords {
  name: string;
  flags: string[];
  /** Flags whose value is a file name. */
  fileFlags: string[];
}

function words(program: Command): CommandWords[] {
  return program.commands
    .filter((c) => c.name() !== 'help' && c.name() !== 'completion')
    .map((c) => {
      const flags = c.options.flatMap((o) => [o.short, o.long].filter((f): f is string => !!f));
      const fileFlags = c.options.filter((o) => /<(file|site\.yaml|file\.md)>/.test(o.flags)).flatMap((o) => [o.short, o.long].filter((f): f is string => !!f));
      return { name: c.name(), flags: [...flags, '--help'], fileFlags };
    });
}

export function completionScript(shell: Shell, program: Command): string {
  const cmds = words(program);
  const names = [...cmds.map((c) => c.name), 'completion'].join(' ');
  if (shell === 'bash') {
    const cases = cmds
      .map((c) => `    ${c.name}) flags="${c.flags.join(' ')}"; files="${c.fileFlags.join(' ')}" ;;`)
      .join('\n');
    return `# hvcluster completion for bash: source it, or put it in /etc/bash_completion.d/hvcluster
_hvcluster() {
  local cur prev cmd flags files
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    mapfile -t COMPREPLY < <(compgen -W "${names} --help --version" -- "$cur")
    return
  fi
  cmd="\${COMP_WORDS[1]}"
  case "$cmd" in
${cases}
    completion) mapfile -t COMPREPLY < <(compgen -W "bash zsh" -- "$cur"); return ;;
    *) return ;;
  esac
  for f in $files; do
    if [ "$prev" = "$f" ]; then mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return; fi
  done
  mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
}
complete -o default -F _hvcluster hvcluster
`;
  }
  const cases = cmds.map((c) => `    ${c.name}) _arguments ${c.flags.map((f) => `'${f}[]${c.fileFlags.includes(f) ? ':file:_files' : ''}'`).join(' ')} ;;`).join('\n');
  return `#compdef hvcluster
# hvcluster completion for zsh: put it in a directory of $fpath as _hvcluster
_hvcluster() {
  if (( CURRENT == 2 )); then
    compadd -- ${names} --help --version
    return
  fi
  case "\${words[2]}" in
${cases}
    completion) compadd -- bash zsh ;;
  esac
}
_hvcluster "$@"
`;
}
