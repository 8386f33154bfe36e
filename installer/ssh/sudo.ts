/**
 * Running commands as root through sudo, without ever putting the sudo password in argv:
 * the password is the first line of the command's stdin (`sudo -S -p ''`).
 */
import { PassThrough, type Readable } from 'node:stream';
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
export function sudoStdin(password: string, stdin?: string | Buffer | Readable): Buffer | Readable {
  if (password.includes('\n')) throw new Error('a sudo password cannot contain a newline');
  const head = Buffer.from(`${password}\n`, 'utf8');
  if (stdin === undefined) return head;
  if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) return Buffer.concat([head, typeof stdin === 'string' ? Buffer.from(stdin, 'utf8') : stdin]);
  // A stream: the password line first, then the stream as it comes.
  const out = new PassThrough();
  out.write(head);
  stdin.pipe(out);
  return out;
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

/** Commands longer than this, or of several lines, are named in messages rather than shown. */
const SHOWN_COMMAND_MAX = 120;

/**
 * How a message names a command: the command itself when it is one short line, otherwise what it
 * is (the inspection script is 200+ lines: a message that quoted it would bury its own point).
 * The full command is in the run log.
 */
export function commandLabel(command: string, step?: string): string {
  const text = command.trim();
  if (!text.includes('\n') && text.length <= SHOWN_COMMAND_MAX) return `\`${text}\``;
  const lines = text.split('\n').length;
  const size = lines > 1 ? `${lines} lines` : `${text.length} characters`;
  return step ? `the ${step} script (${size})` : `a script of ${size} starting \`${text.split('\n')[0]!.slice(0, 60)}\``;
}

/** The message and hint of sudo's refusal, for `user` on `server`, while running what `label` names. */
export function sudoRefusal(failure: SudoFailure, user: string, server: string, label: string): { message: string; hint: string } {
  // A server named as the user gave it (`admin@pve1`) already says who.
  const who = server.startsWith(`${user}@`) ? server : `${user}@${server}`;
  switch (failure) {
    case 'needs-password':
      return {
        message: `sudo needs a password for ${who} and none was given (running ${label})`,
        hint: `configure NOPASSWD sudo for ${user} on the server, or give a sudo password (--sudo-password-env VAR, or ssh.sudoPasswordFrom in the answer file)`,
      };
    case 'wrong-password':
      return { message: `sudo rejected the sudo password of ${who} (running ${label})`, hint: 'check the sudo password' };
    case 'not-allowed':
      return {
        message: `${who} may not run commands as root with sudo (running ${label})`,
        hint: `allow ${user} to use sudo (e.g. a file in /etc/sudoers.d), or connect as root`,
      };
  }
}
