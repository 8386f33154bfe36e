import { FactUnavailable, commandProblem, findCommand, parseKeyValues, type FactDefinition } from '../fact.js';
import type { ChronyTracking, TimeSyncFacts } from '../types.js';

/** Time sync services hvcluster recognises, in `systemctl is-active` order. */
export const TIME_SYNC_SERVICES = ['chrony.service', 'systemd-timesyncd.service', 'ntp.service', 'ntpsec.service', 'openntpd.service'] as const;

/**
 * timedatectl needs D-Bus (absent on minimal installs); systemctl as root talks to systemd directly,
 * and timesyncd marks a synchronized clock with /run/systemd/timesync/synchronized.
 * chronyc only when chronyd's socket exists: without a daemon it retries for seconds.
 */
const TIMESYNC_SH = `hv_tsflag() { if [ -e /run/systemd/timesync/synchronized ]; then echo present; else echo absent; fi; }
hv_cmdt timedatectl 3 timedatectl show
hv_cmd services systemctl is-active ${TIME_SYNC_SERVICES.join(' ')}
hv_cmd timesyncd-flag hv_tsflag
if [ -S /run/chrony/chronyd.sock ] || [ -S /var/run/chrony/chronyd.sock ]; then
  hv_cmdt chrony 3 chronyc -n tracking
fi`;

const yesNo = (v: string | undefined): boolean | null => (v === 'yes' ? true : v === 'no' ? false : null);

/** `chronyc tracking` ("Key   : value" lines). */
export function parseChronyTracking(text: string): ChronyTracking {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const offset = /^([\d.]+) seconds (fast|slow)/.exec(fields.get('System time') ?? '');
  const stratum = Number(fields.get('Stratum'));
  return {
    referenceId: fields.get('Reference ID') ?? null,
    stratum: Number.isInteger(stratum) ? stratum : null,
    offsetSeconds: offset ? Number(offset[1]) * (offset[2] === 'slow' ? -1 : 1) : null,
    leapStatus: fields.get('Leap status') ?? null,
  };
}

export const timeSyncFact: FactDefinition<TimeSyncFacts> = {
  name: 'timeSync',
  script: TIMESYNC_SH,
  parse(section) {
    const notes: string[] = [];
    const tdc = findCommand(section, 'timedatectl');
    const tdcProblem = commandProblem(tdc, 'timedatectl show');
    // Without systemd, timedatectl prints its complaint and still exits 0 on some versions: trust keys only.
    const kv = tdc && !tdcProblem ? parseKeyValues(tdc.stdout) : new Map<string, string>();
    if (tdcProblem) notes.push(tdcProblem);
    else if (!kv.has('NTPSynchronized')) notes.push(`timedatectl show: ${tdc?.stderr.split('\n')[0] || 'no NTPSynchronized property'}`);

    // is-active exits 3 when some unit is inactive; it answered if it printed one state per unit.
    const svcCmd = findCommand(section, 'services');
    const svcLines = svcCmd && svcCmd.missing === null ? svcCmd.stdout.split('\n').filter((l) => l.trim() !== '') : [];
    const services =
      svcLines.length === TIME_SYNC_SERVICES.length ? TIME_SYNC_SERVICES.map((name, i) => ({ name, state: svcLines[i]!.trim() })) : null;
    if (!services) notes.push(commandProblem(svcCmd, 'systemctl is-active') ?? 'systemctl is-active: unexpected output');
    const timesyncdFlag = findCommand(section, 'timesyncd-flag')?.stdout.trim() === 'present';

    const chronyCmd = findCommand(section, 'chrony');
    let chrony: ChronyTracking | null = null;
    if (!chronyCmd) notes.push('chronyd not running');
    else {
      const problem = commandProblem(chronyCmd, 'chronyc tracking');
      if (problem) notes.push(problem);
      else chrony = parseChronyTracking(chronyCmd.stdout);
    }
    if (!kv.has('NTPSynchronized') && !chrony && !services) throw new FactUnavailable(notes.join('; '));
    const activeService = services?.find((s) => s.state === 'active')?.name ?? null;
    const chronySync = chrony?.leapStatus ? chrony.leapStatus === 'Normal' : null;
    return {
      ntpEnabled: yesNo(kv.get('NTP')) ?? (services ? activeService !== null : null),
      synchronized: yesNo(kv.get('NTPSynchronized')) ?? chronySync ?? (timesyncdFlag ? true : null),
      timezone: kv.get('Timezone') || null,
      activeService,
      services: services ?? [],
      chrony,
      notes,
    };
  },
};
