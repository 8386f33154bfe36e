/**
 * Authentication methods for one target, in OpenSSH's order: agent, key files, password
 * (and keyboard-interactive answered with the password). Feeds ssh2's authHandler and records
 * what was tried, so that a failure can say so.
 */
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, NextAuthHandler } from 'ssh2';
import type { SshTarget } from './types.js';

const { utils } = ssh2;

interface Candidate {
  /** The SSH method name the server lists (agent keys are `publickey`). */
  method: AuthenticationType;
  label: string;
  make: () => AnyAuthMethod;
}

export interface AuthPlan {
  /** Pass as ssh2's `authHandler`. */
  handler: (methodsLeft: AuthenticationType[] | null, partial: boolean | null, next: NextAuthHandler) => void;
  /** Labels of the methods offered to the server, in order. */
  readonly tried: string[];
  /** Why some configured credentials could not be used (encrypted key without passphrase...). */
  readonly notes: string[];
  /** Whether any credential was usable at all. */
  readonly hasCandidates: boolean;
  /** The server's list of methods it accepts, as last reported. */
  readonly serverMethods: string[] | null;
  /** Whether the handler was called at all (the handshake got as far as authentication). */
  readonly started: boolean;
}

export function planAuth(target: SshTarget, env: NodeJS.ProcessEnv = process.env): AuthPlan {
  const notes: string[] = [];
  const candidates: Candidate[] = [];
  const username = target.user;

  const agent = target.agent ?? env.SSH_AUTH_SOCK;
  if (agent) {
    candidates.push({ method: 'publickey', label: `agent (${agent})`, make: () => ({ type: 'agent', username, agent }) });
  }
  for (const file of target.identityFiles) {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') notes.push(`cannot read key ${file}: ${code ?? String(error)}`);
      else notes.push(`key ${file} does not exist`);
      continue;
    }
    const parsed = utils.parseKey(data, target.passphrase);
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    if (first instanceof Error || first === undefined) {
      const msg = first instanceof Error ? first.message : 'no key found';
      if (/encrypted/i.test(msg) && /no passphrase/i.test(msg)) {
        notes.push(`key ${file} is encrypted and no passphrase was given (set the key's passphrase, or load it into ssh-agent)`);
      } else if (target.passphrase !== undefined && /decrypt|passphrase|bad/i.test(msg)) {
        notes.push(`key ${file} could not be decrypted with the given passphrase`);
      } else {
        notes.push(`key ${file} could not be read: ${msg}`);
      }
      continue;
    }
    if (!first.isPrivateKey()) {
      notes.push(`${file} is not a private key`);
      continue;
    }
    candidates.push({
      method: 'publickey',
      label: `publickey (${file})`,
      make: () => ({ type: 'publickey', username, key: data, ...(target.passphrase !== undefined ? { passphrase: target.passphrase } : {}) }),
    });
  }
  const password = target.password;
  if (password !== undefined) {
    candidates.push({ method: 'password', label: 'password', make: () => ({ type: 'password', username, password }) });
    candidates.push({
      method: 'keyboard-interactive',
      label: 'keyboard-interactive',
      make: () => ({
        type: 'keyboard-interactive',
        username,
        prompt: (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => password)),
      }),
    });
  }

  const tried: string[] = [];
  let serverMethods: string[] | null = null;
  let sentNone = false;
  let started = false;
  let index = 0;
  const handler: AuthPlan['handler'] = (methodsLeft, _partial, next) => {
    started = true;
    if (methodsLeft) serverMethods = [...methodsLeft];
    if (!sentNone) {
      // Ask with `none` first: the server answers with the methods it accepts.
      sentNone = true;
      next({ type: 'none', username });
      return;
    }
    while (index < candidates.length) {
      const c = candidates[index++]!;
      if (methodsLeft && !methodsLeft.includes(c.method)) continue;
      tried.push(c.label);
      next(c.make());
      return;
    }
    next(false as unknown as AnyAuthMethod);
  };

  return {
    handler,
    tried,
    notes,
    get hasCandidates() {
      return candidates.length > 0;
    },
    get serverMethods() {
      return serverMethods;
    },
    get started() {
      return started;
    },
  };
}

/** The message of an AuthError for a failed authentication. */
export function authFailureMessage(target: SshTarget, plan: AuthPlan): string {
  const parts = [`authentication as ${target.user}@${target.host}:${target.port} failed`];
  parts.push(plan.tried.length > 0 ? `tried: ${plan.tried.join(', ')}` : 'no usable credentials to try');
  if (plan.serverMethods) parts.push(`the server accepts: ${plan.serverMethods.join(', ') || '(nothing)'}`);
  if (plan.notes.length > 0) parts.push(plan.notes.join('; '));
  return parts.join('; ');
}
