/** Driving ink components in tests: keys, and waiting for a frame (React 19 renders asynchronously). */
import type { ServerLogin } from '../../../installer/plan/propose.js';
import { labFacts, labFactsEdited } from '../plan/helpers.js';

export const KEY = { enter: '\r', down: '\u001B[B', up: '\u001B[A', escape: '\u001B', backspace: '\u007F' };

export const tick = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the last frame contains `text` (or matches), up to a deadline. */
export async function waitFor(frame: () => string | undefined, text: string | RegExp, timeoutMs = 3000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = frame() ?? '';
    if (typeof text === 'string' ? current.includes(text) : text.test(current)) return current;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)} in:\n${current}`);
    await tick(15);
  }
}

/** Writes keys one chunk at a time, letting React render between them. */
export async function press(stdin: { write: (data: string) => void }, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    await tick(5);
    stdin.write(key);
    await tick();
  }
}

/** Lab node 2: the capture of node 1 with node 2's name, addresses, disk serial and SSH session. */
export const labNode2 = (...edits: Array<[string | RegExp, string]>) =>
  labFactsEdited(2, ['198.18.1.254 43090 198.18.1.1 22', '198.18.1.254 43090 198.18.1.2 22'], ...edits);

export const labPair = () => [labFacts(1), labNode2()];

export const labLogins: ServerLogin[] = [1, 2].map((i) => ({
  address: `198.18.1.${i}`,
  port: 22,
  user: 'root',
  auth: 'key',
  identityFile: '/keys/id_ed25519',
  hostKey: `SHA256:${String(i).repeat(43)}`,
}));
