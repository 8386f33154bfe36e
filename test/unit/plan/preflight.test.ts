/**
 * Preflight findings that would otherwise make apply fail late: a DRBD module that cannot load and a
 * replication MTU a NIC cannot take. Facts are the lab's captured ones (test/fixtures/facts/lab-hv1.txt)
 * with the DRBD section's module-load commands added as kmod's modprobe prints them (`insmod PATH `,
 * `install COMMAND `, each with a trailing space for the empty options).
 */
import { describe, expect, it } from 'vitest';
import { AnswerFileError, formatIssue } from '../../../installer/answers/issues.js';
import type { Answers } from '../../../installer/answers/schema.js';
import type { ServerFacts } from '../../../installer/facts/types.js';
import { planCluster } from '../../../installer/plan/index.js';
import { labFacts, labFactsEdited, loadSite } from './helpers.js';

function planErrors(facts: ServerFacts[], edit?: (answers: Answers) => void): string[] {
  const { answers, locate } = loadSite();
  edit?.(answers);
  try {
    planCluster(answers, facts, { file: 'site.yaml', locate: (issue) => ({ ...issue, location: locate(issue.path) }) });
    return [];
  } catch (error) {
    if (!(error instanceof AnswerFileError)) throw error;
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('nothing was changed on any server');
    return error.issues.filter((i) => i.severity === 'error').map(formatIssue);
  }
}

/** The DRBD section of node `node` with the module-load commands as a lab VM printed them. */
function withModuleLoad(node: 1 | 2, dryRun: string, rules = '', files = MODULE_FILES, loaded = '') {
  return labFactsEdited(node, [/(@@hvc-rc modinfo 0@@\n)/, `$1${dryRun}@@hvc-cmd load-rules@@\n${rules}\n@@hvc-rc load-rules 0@@\n@@hvc-cmd module-files@@\n${files}\n@@hvc-rc module-files 0@@\n${loaded}`]);
}

// modprobe -n -v drbd on a Debian 12 node: what it would load, dependencies first.
const DRY_RUN_LOADS =
  '@@hvc-cmd load-dry-run@@\ninsmod /lib/modules/6.1.0-50-amd64/kernel/lib/lru_cache.ko \ninsmod /lib/modules/6.1.0-50-amd64/kernel/lib/libcrc32c.ko \ninsmod /lib/modules/6.1.0-50-amd64/kernel/drivers/block/drbd/drbd.ko \n\n@@hvc-rc load-dry-run 0@@\n';
// The same with /etc/modprobe.d/no-drbd.conf holding `install drbd /bin/false`.
const DRY_RUN_DISABLED = '@@hvc-cmd load-dry-run@@\ninstall /bin/false \n\n@@hvc-rc load-dry-run 0@@\n';
const RULES_DISABLED = '/etc/modprobe.d/no-drbd.conf:1:install drbd /bin/false';
// No drbd.ko for the running kernel (an upgrade removed it, or a kernel built without it).
const DRY_RUN_MISSING = '@@hvc-cmd load-dry-run@@\n\n@@hvc-err@@ modprobe: FATAL: Module drbd not found in directory /lib/modules/6.1.0-50-amd64\n@@hvc-rc load-dry-run 1@@\n';
const MODULE_FILES = '/lib/modules/6.1.0-50-amd64/kernel/drivers/block/drbd/drbd.ko';
const LOADED = '@@hvc-cmd proc-drbd@@\nversion: 8.4.11 (api:1/proto:86-101)\nsrcversion: B536C32A3EADA868561EFD9 \n\n@@hvc-rc proc-drbd 0@@\n';

describe('preflight: the DRBD module must be able to load', () => {
  it('passes a module modprobe would insmod', () => {
    const facts = [withModuleLoad(1, DRY_RUN_LOADS), withModuleLoad(2, DRY_RUN_LOADS)];
    expect(factsOk(facts[1]!).moduleLoad).toEqual({ state: 'loadable', detail: 'insmod /lib/modules/6.1.0-50-amd64/kernel/drivers/block/drbd/drbd.ko', rules: [] });
    expect(planErrors(facts)).toEqual([]);
  });

  it('refuses a module disabled with `install drbd /bin/false`, naming the node, the file and line, and what to do', () => {
    const facts = [withModuleLoad(1, DRY_RUN_LOADS), withModuleLoad(2, DRY_RUN_DISABLED, RULES_DISABLED)];
    expect(planErrors(facts)).toEqual([
      'site.yaml:11:13 spec.nodes[1].name: the DRBD module cannot load on hv2: modprobe drbd runs "/bin/false" instead of loading it (/etc/modprobe.d/no-drbd.conf:1: install drbd /bin/false); ' +
        'apply would stop at its drbd-module step after changing the network, volume group and DRBD configuration: remove that line from /etc/modprobe.d/no-drbd.conf, then run again',
    ]);
  });

  it('accepts an install rule that loads the module after all, and a disabled module that is loaded already', () => {
    const wrapper = '@@hvc-cmd load-dry-run@@\ninstall /sbin/modprobe --ignore-install drbd && logger drbd loaded \n\n@@hvc-rc load-dry-run 0@@\n';
    expect(planErrors([withModuleLoad(1, DRY_RUN_LOADS), withModuleLoad(2, wrapper)])).toEqual([]);
    const loaded = withModuleLoad(2, DRY_RUN_DISABLED, RULES_DISABLED, MODULE_FILES, LOADED);
    expect(factsOk(loaded).moduleLoad?.state).toBe('loaded');
    expect(planErrors([withModuleLoad(1, DRY_RUN_LOADS), loaded])).toEqual([]);
  });

  it('refuses a module missing for the running kernel, naming the kernel that has one', () => {
    const facts = [
      withModuleLoad(1, DRY_RUN_LOADS),
      labFactsEdited(2, [/(@@hvc-rc modinfo 0@@\n)/, `$1${DRY_RUN_MISSING}@@hvc-cmd module-files@@\n/lib/modules/6.1.0-18-amd64/kernel/drivers/block/drbd/drbd.ko\n\n@@hvc-rc module-files 0@@\n`]),
    ];
    expect(planErrors(facts)).toEqual([
      'site.yaml:11:13 spec.nodes[1].name: no DRBD kernel module for the running kernel 6.1.0-50-amd64 on hv2 (modprobe -n -v drbd: modprobe: FATAL: Module drbd not found in directory /lib/modules/6.1.0-50-amd64); ' +
        "kernel 6.1.0-18-amd64 has one under /lib/modules: boot into it, or install a kernel that ships it (Debian's linux-image-amd64 does) or the DRBD 9 module for this kernel",
    ]);
  });

  it('says nothing when an older facts capture has no module-load commands (nothing known, nothing claimed)', () => {
    expect(factsOk(labFacts(2)).moduleLoad).toBeNull();
    expect(planErrors([labFacts(1), labFacts(2)])).toEqual([]);
  });
});

describe('preflight: the replication NICs must take the MTU asked', () => {
  const ens4MaxMtu = (node: 1 | 2, max: number) => labFactsEdited(node, [/("ifname":"ens4"[^}]*?"max_mtu":)65535/, `$1${max}`]);

  it('reads maxmtu from ip -d link', () => {
    expect(factValueOf(labFacts(1)).nics.find((n) => n.name === 'ens4')?.maxMtu).toBe(65535);
    expect(factValueOf(labFacts(1)).nics.find((n) => n.name === 'lo')?.maxMtu).toBeNull(); // 0: no limit given
  });

  it('refuses replicationMtu 9000 when a NIC takes at most 1500, pointing at the key', () => {
    const facts = [labFacts(1), ens4MaxMtu(2, 1500)];
    const jumbo = (answers: Answers) => {
      answers.spec.network.replicationMtu = 9000;
    };
    expect(planErrors(facts, jumbo)).toEqual([
      "site.yaml:6:3 spec.network.replicationMtu: hv2's replication NIC ens4 (virtio_net) accepts an MTU of at most 1500 (ip -d link: maxmtu 1500), not 9000: set replicationMtu: 1500 or less, or use a NIC that carries jumbo frames",
    ]);
    expect(planErrors(facts)).toEqual([]); // 1500 fits
  });
});

function factsOk(facts: ServerFacts) {
  if (!facts.drbd.ok) throw new Error(`no DRBD facts: ${facts.drbd.reason}`);
  return facts.drbd.value;
}

function factValueOf(facts: ServerFacts) {
  if (!facts.network.ok) throw new Error(`no network facts: ${facts.network.reason}`);
  return facts.network.value;
}
