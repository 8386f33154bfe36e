/**
 * POSIX shell quoting: every argument is wrapped in single quotes, and a single quote inside it
 * becomes '\'' (close, escaped quote, reopen). Safe for any byte string except NUL.
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('cannot quote a string containing a NUL byte for the shell');
  if (arg !== '' && /^[A-Za-z0-9_\-+=.,:/@%]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Quotes each argument and joins them with spaces into one shell command line. */
export function shellJoin(args: readonly string[]): string {
  return args.map(shellQuote).join(' ');
}
