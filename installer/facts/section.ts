/**
 * The wire format between the facts script and its parser.
 *
 * The script prints, per fact:
 *
 *   @@hvc-fact NAME@@
 *   @@hvc-cmd LABEL@@            one block per command the fragment ran (see PRELUDE's hv_cmd)
 *   ...the command's stdout...
 *                                (one empty line: hv_cmd always ends stdout with a newline of its own)
 *   @@hvc-err@@ a stderr line    (each stderr line, after the stdout)
 *   @@hvc-rc LABEL 0@@           exit code, or `missing COMMAND` when the command is not installed
 *   @@hvc-end NAME 0@@           the fragment's exit code
 *
 * and `@@hvc-done@@` at the very end. Markers are whole lines; nothing the commands print starts with `@@hvc-`.
 */

export const MARK = {
  fact: '@@hvc-fact',
  end: '@@hvc-end',
  cmd: '@@hvc-cmd',
  err: '@@hvc-err@@',
  rc: '@@hvc-rc',
  done: '@@hvc-done@@',
} as const;

/**
 * Shell helpers at the top of the script (POSIX sh: dash, bash, busybox ash).
 *
 * hv_cmd LABEL CMD ARGS...: runs CMD when it exists, stdout straight through, stderr collected and printed
 * after it with a prefix, then the exit code. Returns CMD's exit code (127 when missing). Stdin is
 * /dev/null: under `sh -s` the script itself is on stdin, and a command reading it would eat the rest.
 * hv_cmdt LABEL SECONDS CMD ARGS...: the same under `timeout` (exit 124 = timed out).
 * CMD may be a shell function defined by a fragment.
 */
export const PRELUDE = `LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH; export PATH
exec 3>&1
hv_cmd() {
  hv_l=$1; shift
  printf '${MARK.cmd} %s@@\\n' "$hv_l"
  if command -v "$1" >/dev/null 2>&1; then
    hv_o=$( { "$@" </dev/null 2>&1 1>&3 3>&-; printf '@@rc=%s' "$?"; } )
    hv_r=\${hv_o##*@@rc=}
    hv_e=\${hv_o%@@rc=*}
    printf '\\n'
    if [ -n "$hv_e" ]; then printf '%s\\n' "$hv_e" | sed -e '/^$/d' -e 's/^/${MARK.err} /'; fi
    printf '${MARK.rc} %s %s@@\\n' "$hv_l" "$hv_r"
    return "$hv_r"
  fi
  printf '\\n${MARK.rc} %s missing %s@@\\n' "$hv_l" "$1"
  return 127
}
hv_cmdt() {
  hv_l=$1; hv_t=$2; shift 2
  if command -v timeout >/dev/null 2>&1 && command -v "$1" >/dev/null 2>&1; then
    hv_cmd "$hv_l" timeout "$hv_t" "$@"
  else
    hv_cmd "$hv_l" "$@"
  fi
}
`;

/** Wraps one fact's fragment with its markers; the fragment runs in a subshell so it cannot disturb the others. */
export function wrapFragment(name: string, fragment: string): string {
  if (!/^[a-zA-Z][\w-]*$/.test(name)) throw new Error(`bad fact name ${JSON.stringify(name)}`);
  return `printf '${MARK.fact} ${name}@@\\n'
(
${fragment.trim()}
)
printf '\\n${MARK.end} ${name} %s@@\\n' "$?"
`;
}

export interface CommandResult {
  label: string;
  /** Exactly what the command printed on stdout. */
  stdout: string;
  /** Its stderr lines, joined with newlines. */
  stderr: string;
  /** Exit code; null when the command is not installed (then `missing` names it). */
  exitCode: number | null;
  missing: string | null;
}

export interface FactSection {
  name: string;
  /** The fragment's exit code; null when the section was cut off (no end marker). */
  exitCode: number | null;
  /** The section's text as printed (markers inside it included). */
  raw: string;
  /** Command blocks by label, in order. */
  commands: CommandResult[];
  /** Lines printed outside command blocks. */
  loose: string;
}

export interface ParsedOutput {
  sections: Map<string, FactSection>;
  /** The done marker was seen: the script ran to its end. */
  complete: boolean;
}

const FACT_RE = /^@@hvc-fact ([\w-]+)@@$/;
const END_RE = /^@@hvc-end ([\w-]+) (\d+)@@$/;
const CMD_RE = /^@@hvc-cmd (.+)@@$/;
const RC_RE = /^@@hvc-rc (.+) (?:(\d+)|missing (.*))@@$/;

/** Splits the script's stdout into sections and command blocks. Never throws. */
export function splitOutput(stdout: string): ParsedOutput {
  const sections = new Map<string, FactSection>();
  let complete = false;
  let section: FactSection | null = null;
  let rawLines: string[] = [];
  let cmd: { label: string; out: string[]; err: string[] } | null = null;
  let loose: string[] = [];

  const closeCmd = (exitCode: number | null, missing: string | null) => {
    if (!section || !cmd) return;
    // hv_cmd prints a newline of its own after stdout, so joining the lines gives stdout back exactly.
    section.commands.push({
      label: cmd.label,
      stdout: cmd.out.join('\n'),
      stderr: cmd.err.join('\n'),
      exitCode,
      missing,
    });
    cmd = null;
  };
  const closeSection = (exitCode: number | null) => {
    if (!section) return;
    if (cmd) closeCmd(null, null);
    section.exitCode = exitCode;
    section.raw = rawLines.join('\n');
    section.loose = loose.join('\n').trim();
    sections.set(section.name, section);
    section = null;
    rawLines = [];
    loose = [];
  };

  for (const line of stdout.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = FACT_RE.exec(line))) {
      closeSection(null);
      section = { name: m[1]!, exitCode: null, raw: '', commands: [], loose: '' };
      continue;
    }
    if (line === MARK.done) {
      closeSection(null);
      complete = true;
      continue;
    }
    if (!section) continue;
    if ((m = END_RE.exec(line)) && m[1] === section.name) {
      // The wrapper prints a newline before the end marker: drop it from the last place it landed.
      if (cmd) closeCmd(null, null);
      if (loose.length > 0 && loose[loose.length - 1] === '') loose.pop();
      closeSection(Number(m[2]));
      continue;
    }
    rawLines.push(line);
    if ((m = CMD_RE.exec(line))) {
      if (cmd) closeCmd(null, null);
      cmd = { label: m[1]!, out: [], err: [] };
      continue;
    }
    if (cmd && (m = RC_RE.exec(line)) && m[1] === cmd.label) {
      closeCmd(m[2] !== undefined ? Number(m[2]) : null, m[3] ?? null);
      continue;
    }
    if (cmd) {
      if (line.startsWith(MARK.err)) cmd.err.push(line.slice(MARK.err.length).replace(/^ /, ''));
      else cmd.out.push(line);
    } else {
      loose.push(line);
    }
  }
  closeSection(null);
  return { sections, complete };
}
