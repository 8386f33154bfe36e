/**
 * Data one step hands to later ones, per node, by declared key (a step kind's `produces` and
 * `requires`): the playbook is checked at load time, so a step that needs a key no earlier step
 * produces is an error there, not a crash mid-run.
 */
import type { NodeKeys } from './steps/trust.js';

export interface StepData {
  /** node-keys: the node's migration, host and legacy keys (migrateKey null: this dry run would create it). */
  'node-keys': NodeKeys;
  /** volume-group: the node's volume group was created in this run on a disk found blank (never after a wipe). */
  'fresh-volume-group': boolean;
}

export const STEP_DATA_KEYS: readonly (keyof StepData)[] = ['node-keys', 'fresh-volume-group'];
