/**
 * Running commands as root through sudo, without ever putting the sudo password in argv:
 * the password is the first line of the command's stdin (`sudo -S -p ''`).
 */
import { shellQuote } from './quote.js';

export type SudoMode = 'nopasswd' | 'password';

/** The command line that runs `command` (a shell snippet) as root. */
export function sudoCommand(command: string, mode: SudoMode): string {
  // -k ignores cached credentials, so that sudo always reads the password line we send and never
  // hands it over to the command as its input.
  return mode === 'password'
    ? `sudo -k -S -p '' -- sh -c ${shellQuote(command)}`
    : `sudo -n -- sh -c ${shellQuote(command)}`;
}

/** The stdin for a `password` mode command: the password line, then the caller's input. */
export function sudoStdin(password: string, stdin?: string | Buffer): Buffer {
  if (password.includes('\n')) throw new Error('a sudo password cannot contain a newline');
  const head = Buffer.from(`${password}\n`, 'utf8');
  if (stdin === undefined) return head;
  return Buffer.concat([head, typeof stdin === 'string' ? Buffer.from(stdin, 'utf8') : stdin]);
}

export type SudoFailure = 'needs-password' | 'wrong-password' | 'not-allowed';

/** Recognizes sudo's own refusals (as opposed to a failure of the command it ran). */
export function classifySudoFailure(exitCode: number | null, stderr: string): SudoFailure | undefined {
  if (exitCode !== 1) return undefined;
  const lines = stderr.split('\n').map((l) => l.trim());
  const sudoLine = (re: RegExp) => lines.some((l) => l.startsWith('sudo:') && re.test(l));
  if (sudoLine(/a password is required|a terminal is required|no tty present|no askpass program/)) return 'needs-password';
  if (lines.some((l) => l === 'Sorry, try again.') || sudoLine(/incorrect password attempt|no password was provided/)) {
    return 'wrong-password';
  }
  if (lines.some((l) => /is not in the sudoers file|is not allowed to execute|may not run sudo/.test(l))) return 'not-allowed';
  return undefined;
}
