/** The SSH layer: connections to servers, exec, sudo, atomic upload, host keys, ~/.ssh/config. */
export type { ExecOptions, ExecResult, HostKeyPolicy, ServerConnection, SshCounters, SshTarget, UploadOptions } from './types.js';
export { connect, isRetryableConnectError, jumpChain, type ConnectOptions } from './connect.js';
export { DEFAULT_EXEC_TIMEOUT_MS, DEFAULT_MAX_CHANNELS, SshConnection, uploadCommand, type ConnectionSettings } from './connection.js';
export { resolveTarget, expandPath, defaultIdentityFiles, type ResolveOptions } from './config.js';
export { expandHome, isPort, parseConnectTimeout, parseHostKeyPins, parseJumpList, parseSpec, type ParsedSpec } from './spec.js';
export { defaultHostKeyPolicy, defaultKnownHostsFiles, knownHostsLine, rememberAnswers, verifyHostKey, type VerifiedHostKey } from './host-key.js';
export { checkKnownHosts, knownHostsName, loadKnownHosts, parseKnownHosts, type KnownHostEntry, type KnownHostsVerdict } from './known-hosts.js';
export { fingerprintOf, keyTypeOf, keyTypeLabel, normalizeFingerprint } from './fingerprint.js';
export { backoffDelay, retryWithBackoff, withJitter, DEFAULT_RETRY, type RetryOptions, type RetryClock } from './backoff.js';
export { connectAll, ConnectionPool, type ConnectResult } from './pool.js';
export { shellQuote, shellJoin } from './quote.js';
export { redact } from './redact.js';
export { sudoCommand, sudoStdin, classifySudoFailure } from './sudo.js';
export { Semaphore } from './semaphore.js';
