/** The step kinds a playbook may name. */
import { backupStep } from './backup.js';
import { clusterConfigStep } from './cluster-config.js';
import { fenceCheckStep } from './fence-check.js';
import { guestsStep } from './guests.js';
import { filesStep } from './files.js';
import { qdeviceStep } from './qdevice.js';
import { sbdStep } from './sbd.js';
import { networkStep } from './network.js';
import { packagesStep } from './packages.js';
import { replicationPathStep } from './replication-path.js';
import { replicationProbeStep } from './replication-probe.js';
import { drbdModuleStep, servicesStep } from './services.js';
import type { StepKind } from './step.js';
import { storageStep } from './storage.js';
import { nodeKeysStep, nodeTrustStep } from './trust.js';

export const STEP_KINDS: Record<string, StepKind> = {
  packages: packagesStep,
  files: filesStep,
  network: networkStep,
  'replication-path': replicationPathStep,
  'volume-group': storageStep,
  'drbd-module': drbdModuleStep,
  services: servicesStep,
  'node-keys': nodeKeysStep,
  'node-trust': nodeTrustStep,
  'replication-probe': replicationProbeStep,
  'fence-check': fenceCheckStep,
  qdevice: qdeviceStep,
  sbd: sbdStep,
  'cluster-config': clusterConfigStep,
  guests: guestsStep,
  backup: backupStep,
};
