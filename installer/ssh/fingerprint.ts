import { createHash } from 'node:crypto';

/** `SHA256:` + unpadded base64 of the SHA-256 of the public key blob, as `ssh-keygen -l` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name inside an SSH public key blob (its first string), e.g. `ssh-ed25519`. */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  if (len <= 0 || len > 64 || 4 + len > keyBlob.length) return 'unknown';
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** The short type name `ssh-keygen -l` shows in parentheses: ED25519, RSA, ECDSA, DSA. */
export function keyTypeLabel(keyType: string): string {
  if (keyType === 'ssh-ed25519') return 'ED25519';
  if (keyType === 'ssh-rsa' || keyType.startsWith('rsa-sha2')) return 'RSA';
  if (keyType.startsWith('ecdsa-sha2-')) return 'ECDSA';
  if (keyType === 'ssh-dss') return 'DSA';
  if (keyType.startsWith('sk-ssh-ed25519')) return 'ED25519-SK';
  if (keyType.startsWith('sk-ecdsa')) return 'ECDSA-SK';
  return keyType.toUpperCase();
}

/** Normalizes a fingerprint the user typed (`SHA256:abc=`, ` sha256:abc `) for comparison. */
export function normalizeFingerprint(fp: string): string {
  const trimmed = fp.trim();
  const m = /^sha256:(.*)$/i.exec(trimmed);
  const body = (m ? m[1]! : trimmed).replace(/=+$/, '');
  return `SHA256:${body}`;
}
