import type { FactDefinition } from './fact.js';
import type { FactName, FactValue } from './types.js';
import { clockFact, cpuFact, hostnameFact, hostsFact, kernelFact, memoryFact, osFact, sessionFact, virtualizationFact } from './defs/system.js';
import { disksFact } from './defs/disks.js';
import { networkFact } from './defs/network.js';
import { timeSyncFact } from './defs/timesync.js';
import { packagesFact } from './defs/packages.js';
import { drbdFact } from './defs/drbd.js';
import { libvirtFact } from './defs/libvirt.js';
import { lvmFact } from './defs/lvm.js';

/** Every fact, keyed by its ServerFacts field, in the order the script runs them (clock first). */
export const FACTS: { [K in FactName]: FactDefinition<FactValue<K>> } = {
  clock: clockFact,
  session: sessionFact,
  hostname: hostnameFact,
  hosts: hostsFact,
  os: osFact,
  kernel: kernelFact,
  cpu: cpuFact,
  memory: memoryFact,
  virtualization: virtualizationFact,
  disks: disksFact,
  network: networkFact,
  timeSync: timeSyncFact,
  packages: packagesFact,
  drbd: drbdFact,
  libvirt: libvirtFact,
  lvm: lvmFact,
};

export const FACT_NAMES = Object.keys(FACTS) as FactName[];
