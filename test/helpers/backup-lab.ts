/**
 * The lab's backup repository: an NFS export served by the witness VM (inside the lab's namespace,
 * on the management subnet: nothing on the host, no other address), as a customer's NAS would be.
 * nfs-kernel-server is in the prepared image, its service disabled (test/lab/recipe.ts).
 */
import type { LabHandle } from './lab.js';

export const BACKUP_EXPORT = '/srv/hvbackup';
/** The passphrase the lab's encrypted repository is made with (an env var, as an integrator's would be). */
export const BACKUP_PASSPHRASE_ENV = 'HVCLUSTER_BACKUP_PASSPHRASE';

/** Exports BACKUP_EXPORT from the witness to the management subnet (root on the nodes stays root: borg writes as root). Idempotent. */
export async function serveBackups(lab: LabHandle): Promise<string> {
  const witness = lab.info.witness;
  if (!witness) throw new Error('the lab has no witness to serve the backup repository');
  const subnet = `${witness.management.address.replace(/\.\d+$/, '.0')}/24`;
  const r = await lab.ssh(
    'witness',
    `set -e; mkdir -p ${BACKUP_EXPORT} /etc/exports.d
echo '${BACKUP_EXPORT} ${subnet}(rw,sync,no_root_squash,no_subtree_check)' > /etc/exports.d/hvbackup.exports
systemctl start nfs-server
exportfs -ra
exportfs -v`,
    { timeoutMs: 120_000 },
  );
  if (r.code !== 0 || !r.stdout.includes(BACKUP_EXPORT)) throw new Error(`serving ${BACKUP_EXPORT} from the witness: exit ${r.code}: ${r.stderr}${r.stdout}`);
  return witness.management.address;
}

/** spec.backup for the lab (YAML under spec): the witness's export, encrypted, a timer that never fires on its own during a run; `guests` when given. */
export function backupYaml(server: string, guests?: readonly string[]): string {
  return `  backup:
    repository:
      nfs:
        server: ${server}
        export: ${BACKUP_EXPORT}
    encryption: repokey-blake2
    passphraseFrom:
      env: ${BACKUP_PASSPHRASE_ENV}
    schedule: "*-01-01 03:00:00"
    retention:
      daily: 7
      weekly: 4
      monthly: 6
${guests ? `    guests: [${guests.join(', ')}]\n` : ''}`;
}
