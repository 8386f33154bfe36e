/**
 * The questions about one server's login on the servers screen, without ink: which are asked in which
 * order (it depends on earlier answers), what each offers as its default, how an answer is checked
 * (with the answer file's own messages, through checkLogin) and what it changes. ServersForm renders them.
 */
import { checkLogin, type ServerLogin } from '../../plan/propose.js';

/** How a user other than root becomes root: `sudo -n`, or a sudo password read from an environment variable. */
export type SudoMode = 'nopasswd' | 'password';

/**
 * A server's answers so far. Kept when going back, and offered again as the defaults; answers that
 * a later choice made irrelevant (a key file after choosing the ssh-agent) are kept but not used.
 * A jump host answered blank is '' (not asked yet: undefined).
 */
export interface LoginDraft extends Partial<ServerLogin> {
  sudo?: SudoMode;
}

/** Questions answered by choosing an option. */
export type ChoiceStep = 'auth' | 'sudo';
/** Questions answered by typing. */
export type TextStep = 'address' | 'jump' | 'user' | 'identityFile' | 'passwordEnv' | 'sudoPasswordEnv';
export type Step = TextStep | ChoiceStep;

export function isChoice(step: Step): step is ChoiceStep {
  return step === 'auth' || step === 'sudo';
}

/** The questions of a server, in order, as far as its answers so far decide them. */
export function stepsOf(draft: LoginDraft): Step[] {
  const steps: Step[] = ['address', 'jump', 'user', 'auth'];
  if (draft.auth === 'key') steps.push('identityFile');
  if (draft.auth === 'password') steps.push('passwordEnv');
  if (draft.user !== undefined && draft.user !== 'root') {
    steps.push('sudo');
    if (draft.sudo === 'password') steps.push('sudoPasswordEnv');
  }
  return steps;
}

/** The login the answers make: only what the choices made use. */
export function loginOf(draft: LoginDraft): ServerLogin {
  const user = draft.user ?? 'root';
  const auth = draft.auth ?? 'agent';
  const login: ServerLogin = { address: draft.address ?? '', port: draft.port ?? 22, user, auth };
  if (auth === 'key' && draft.identityFile !== undefined) login.identityFile = draft.identityFile;
  if (auth === 'password' && draft.passwordEnv !== undefined) login.passwordEnv = draft.passwordEnv;
  if (user !== 'root' && draft.sudo === 'password' && draft.sudoPasswordEnv !== undefined) login.sudoPasswordEnv = draft.sudoPasswordEnv;
  if (draft.jump) login.jump = draft.jump;
  return login;
}

/** The answers a login gives (a previous answer offered again). */
export function draftOf(login: Partial<ServerLogin>): LoginDraft {
  const { hostKey: _pinnedLater, ...draft } = login;
  const user = login.user ?? 'root';
  return { ...draft, jump: login.jump ?? (login.address !== undefined ? '' : undefined), sudo: user === 'root' ? undefined : login.sudoPasswordEnv ? 'password' : 'nopasswd' };
}

/** `host`, `host:port` or `[v6]:port`. */
export function splitAddress(text: string): { address: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { address: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : 22 };
  const withPort = /^([^:]+):(\d+)$/.exec(text);
  if (withPort) return { address: withPort[1]!, port: Number(withPort[2]) };
  return { address: text, port: 22 };
}

/** The inverse of splitAddress. */
export function joinAddress(address: string, port: number): string {
  if (port === 22) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export const DEFAULT_IDENTITY_FILE = '~/.ssh/id_ed25519';
export const DEFAULT_PASSWORD_ENV = 'HVCLUSTER_SSH_PASSWORD';
export const DEFAULT_SUDO_PASSWORD_ENV = 'HVCLUSTER_SUDO_PASSWORD';

/**
 * The answer a question starts with: this server's earlier answer (after going back), else the
 * previous server's (user, jump host, authentication, key file, sudo), else a usual value.
 */
export function defaultAnswer(step: Step, draft: LoginDraft, previous: ServerLogin | undefined): string {
  const before = previous ? draftOf(previous) : {};
  switch (step) {
    case 'address':
      return draft.address === undefined ? '' : joinAddress(draft.address, draft.port ?? 22);
    case 'jump':
      return draft.jump ?? before.jump ?? '';
    case 'user':
      return draft.user ?? before.user ?? 'root';
    case 'auth':
      return draft.auth ?? before.auth ?? 'key';
    case 'identityFile':
      return draft.identityFile ?? before.identityFile ?? DEFAULT_IDENTITY_FILE;
    case 'passwordEnv':
      return draft.passwordEnv ?? before.passwordEnv ?? DEFAULT_PASSWORD_ENV;
    case 'sudo':
      return draft.sudo ?? before.sudo ?? 'nopasswd';
    case 'sudoPasswordEnv':
      return draft.sudoPasswordEnv ?? before.sudoPasswordEnv ?? DEFAULT_SUDO_PASSWORD_ENV;
  }
}

/** The draft with this question's answer in it. */
export function withAnswer(step: Step, value: string, draft: LoginDraft): LoginDraft {
  switch (step) {
    case 'address':
      return { ...draft, ...splitAddress(value) };
    case 'auth':
      return { ...draft, auth: value as ServerLogin['auth'] };
    case 'sudo':
      return { ...draft, sudo: value as SudoMode };
    default:
      return { ...draft, [step]: value };
  }
}

export interface CheckContext {
  /** The servers answered before this one. */
  before: ServerLogin[];
  /** Where secrets are read from (the wizard's environment). */
  env: NodeJS.ProcessEnv;
  /** Whether a local key file exists. */
  fileExists: (path: string) => boolean;
}

function unsetVariable(name: string, env: NodeJS.ProcessEnv): string | null {
  return env[name] === undefined ? `the environment variable ${name} is not set; export ${name}=... before running hvcluster` : null;
}

/** What is wrong with an answer (the answer file's message where it has one), or null. */
export function checkAnswer(step: Step, value: string, draft: LoginDraft, context: CheckContext): string | null {
  const next = withAnswer(step, value, draft);
  const issues = checkLogin(loginOf(next));
  switch (step) {
    case 'address': {
      const { address, port } = splitAddress(value);
      const same = context.before.findIndex((d) => d.address === address && d.port === port);
      if (address !== '' && same >= 0) return `${value} is server ${same + 1} already`;
      return issues.get('address') ?? issues.get('port') ?? null;
    }
    case 'jump':
      return issues.get('jump') ?? null;
    case 'user':
      return issues.get('user') ?? null;
    case 'identityFile':
      return issues.get('identityFile') ?? (context.fileExists(value) ? null : `${value} does not exist (or cannot be read); give the path of the private key`);
    case 'passwordEnv':
      return issues.get('passwordFrom') ?? unsetVariable(value, context.env);
    case 'sudoPasswordEnv':
      return issues.get('sudoPasswordFrom') ?? unsetVariable(value, context.env);
    case 'auth':
    case 'sudo':
      return null;
  }
}

/** One line per server answered: `debian@198.18.1.2:2222 via admin@bastion  (ssh-agent, sudo -n)`. */
export function describeLogin(login: ServerLogin): string {
  const how = login.auth === 'key' ? `key ${login.identityFile}` : login.auth === 'agent' ? 'ssh-agent' : `password from $${login.passwordEnv}`;
  const sudo = login.user === 'root' ? '' : login.sudoPasswordEnv ? `, sudo password from $${login.sudoPasswordEnv}` : ', sudo -n';
  const via = login.jump ? ` via ${login.jump}` : '';
  return `${login.user}@${joinAddress(login.address, login.port)}${via}  (${how}${sudo})`;
}
