/** What the HA steps read of the nodes and the witness (cib-state.sh, qdevice-state.sh, qnetd-state.sh), parsed. Pure. */
import { FactUnavailable } from '../../facts/fact.js';

export type CibState = { state: 'inactive' | 'unsettled' } | { state: 'active'; xml: string };

export function parseCibState(stdout: string): CibState {
  const [first = '', ...rest] = stdout.split('\n');
  if (first === 'cib inactive' || first === 'cib unsettled') return { state: first.slice(4) as 'inactive' | 'unsettled' };
  if (first === 'cib active') return { state: 'active', xml: rest.join('\n') };
  throw new FactUnavailable(`cib-state.sh printed ${JSON.stringify(first.slice(0, 40))}`);
}

export interface QdeviceState {
  /** The witness CA the node trusts (DER, base64), or null. */
  ca: string | null;
  /** The cluster's client certificate is imported. */
  client: boolean;
}

export function parseQdeviceState(stdout: string): QdeviceState {
  const values = keyed(stdout, 'qdevice');
  return { ca: orNull(values.get('ca')), client: values.get('client') === 'yes' };
}

export interface QnetdState {
  installed: boolean;
  enabled: boolean;
  active: boolean;
  /** The witness's CA certificate (DER, base64), or null when it has none. */
  ca: string | null;
  /** A certificate for this cluster was signed on the witness. */
  clusterCert: boolean;
}

export function parseQnetdState(stdout: string): QnetdState {
  const values = keyed(stdout, 'qnetd');
  const [enabled = '', active = ''] = (values.get('service') ?? '').split(' ');
  return {
    installed: values.get('package') === 'installed',
    enabled: enabled === 'enabled',
    active: active === 'active',
    ca: orNull(values.get('ca')),
    clusterCert: values.get('cluster-cert') === 'yes',
  };
}

const orNull = (value: string | undefined) => (value === undefined || value === '-' || value === '' ? null : value);

/** `PREFIX KEY VALUE...` lines as KEY -> VALUE. */
function keyed(stdout: string, prefix: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = new RegExp(`^${prefix} (\\S+) ?(.*)$`).exec(line.trim());
    if (m) values.set(m[1]!, m[2]!);
  }
  if (values.size === 0) throw new FactUnavailable(`no ${prefix} lines in the output`);
  return values;
}

/** A node's watchdog and sbd (sbd-state.sh). */
export interface SbdState {
  devicePresent: boolean;
  /** The driver's identity (`i6300ESB timer`, `iTCO_wdt`, `Software Watchdog`), null when sysfs does not say. */
  identity: string | null;
  /** The longest timeout the driver accepts, s; null when it does not say. */
  maxTimeoutS: number | null;
  /** Processes other than sbd holding the device open (`PID:NAME`). */
  holders: string[];
  /** systemd's RuntimeWatchdogUSec: a systemd that feeds the hardware watchdog holds it (`0`/`infinity`/unset: it does not). */
  systemdRuntime: string | null;
  enabled: boolean;
  active: boolean;
  /** current: sbd runs with /etc/default/sbd as it is now (or is stopped and the file exists); newer: the file changed after sbd started. */
  config: 'current' | 'newer' | 'missing';
}

export function parseSbdState(stdout: string): SbdState {
  const values = keyed(stdout, 'sbd');
  const device = values.get('device');
  if (device !== 'present' && device !== 'missing') throw new FactUnavailable(`sbd-state.sh printed no device line (${JSON.stringify(stdout.slice(0, 60))})`);
  const list = orNull(values.get('holders'));
  const max = orNull(values.get('max-timeout'));
  const config = values.get('config');
  return {
    devicePresent: device === 'present',
    identity: orNull(values.get('identity')),
    maxTimeoutS: max !== null && /^\d+$/.test(max) ? Number(max) : null,
    holders: list ? list.split(',') : [],
    systemdRuntime: orNull(values.get('systemd-runtime')),
    enabled: values.get('enabled') === 'yes',
    active: values.get('active') === 'yes',
    config: config === 'newer' || config === 'missing' ? config : 'current',
  };
}

/** Whether systemd itself feeds the hardware watchdog (RuntimeWatchdogSec set, `0` is off): then sbd cannot open it. Pure. */
export const systemdHoldsWatchdog = (runtime: string | null): boolean => runtime !== null && !/^0(s|us)?$/.test(runtime);
