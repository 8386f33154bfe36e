/** Replaces every occurrence of each secret in `text` with `***` (for logs and error messages). */
export function redact(text: string, secrets: ReadonlyArray<string | undefined | null>): string {
  // Longest first, so that a secret containing another one is replaced whole.
  const values = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length > 0))].sort(
    (a, b) => b.length - a.length,
  );
  let out = text;
  for (const secret of values) out = out.split(secret).join('***');
  return out;
}
