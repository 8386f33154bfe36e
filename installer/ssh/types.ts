/**
 * The contract of the SSH layer: what the rest of hvcluster may ask of a server connection.
 * Implemented on ssh2 in this folder; everything above it (facts, engine, verify) uses only this.
 */

/** How to reach one server, after ~/.ssh/config has been applied. */
export interface SshTarget {
  /** The name the user gave (an alias, a hostname or an address): used in every message. */
  name: string;
  host: string;
  port: number;
  user: string;
  /** Private key files to try, in order. */
  identityFiles: string[];
  /** Passphrase for the key files, if they are encrypted (never logged). */
  passphrase?: string;
  /** Use the ssh-agent at this socket (defaults to SSH_AUTH_SOCK when unset and the variable exists). */
  agent?: string;
  /** Password authentication (never logged). */
  password?: string;
  /** Password for sudo when the user is not root and sudo asks for one (never logged, passed on stdin). */
  sudoPassword?: string;
  /** Pinned host key fingerprint, `SHA256:...` as `ssh-keygen -l` prints it. */
  hostKeyFingerprint?: string;
  /** Jump hosts to go through first, outermost first (OpenSSH's ProxyJump). */
  jump: SshTarget[];
  /** known_hosts files the ssh configuration names for this host (UserKnownHostsFile, GlobalKnownHostsFile); else the policy's. */
  knownHostsFiles?: string[];
}

/** The key a server presented, with where it was reached: enough to write its known_hosts line. */
export interface PresentedHostKey {
  host: string;
  port: number;
  blob: Buffer;
}

export interface HostKeyPolicy {
  /** known_hosts files to check (default: ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts). */
  knownHostsFiles: string[];
  /**
   * What to do with a key that is neither pinned nor in known_hosts:
   * 'refuse' (unattended mode), or a function that asks the user (the wizard) and answers true to accept.
   * A key that differs from a known or pinned one is always refused.
   */
  onUnknown: 'refuse' | ((server: string, fingerprint: string, keyType: string, presented?: PresentedHostKey) => Promise<boolean>);
  /** How messages tell the user to pin a key: `hostKey:` in the answer file (default) or `--host-key` (servers given with --host). */
  pinWith?: 'answer-file' | 'flag';
}

export interface ExecOptions {
  /** Kill the command and fail after this long (default 120 s; 0: never). */
  timeoutMs?: number;
  /** Run as root: directly when the user is root, through `sudo` otherwise. */
  sudo?: boolean;
  /** Data for the command's standard input. */
  /** A stream is piped, and the command's input stays open until it ends (the cluster lock). */
  stdin?: string | Buffer | import('node:stream').Readable;
  /** Resolve with the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  /** The install step this command belongs to, named in errors. */
  step?: string;
  /** Its output may hold secrets (authorized_keys, DRBD files with a shared secret): the run log records only its size. */
  secretOutput?: boolean;
  /** What the run log shows for the command, when the command itself is not readable (a script sent on stdin, a long read script). */
  logAs?: string;
  /** Called with chunks of stdout as they arrive (progress). */
  onStdout?: (chunk: string) => void;
}

export interface ExecResult {
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface UploadOptions {
  /** File mode, e.g. 0o644 (applied with chmod, not subject to the umask). */
  mode?: number;
  /** `user:group`. */
  owner?: string;
  /** Write as root (through sudo when the user is not root). */
  sudo?: boolean;
}

/** Counters of what crossed the network, for the benchmark and round-trip assertions. */
export interface SshCounters {
  /** TCP connections + SSH handshakes made (jump hosts included). */
  handshakes: number;
  /** Channels opened (each exec or sftp is one). */
  channelOpens: number;
  /** Exec requests sent. */
  execs: number;
  /** Bytes uploaded. */
  bytesUploaded: number;
}

/** One live connection to one server, shared by a whole run. */
export interface ServerConnection {
  readonly target: SshTarget;
  /** The server's host key fingerprint, `SHA256:...`. */
  readonly hostKeyFingerprint: string;
  readonly counters: SshCounters;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  upload(remotePath: string, content: string | Buffer, options?: UploadOptions): Promise<void>;
  /** A byte stream to a Unix socket on the server (SSH streamlocal forwarding); absent on test fakes. */
  openUnixSocket?(path: string): Promise<import('node:stream').Duplex>;
  close(): Promise<void>;
}
