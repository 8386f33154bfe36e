/**
 * `hvcluster verify --migration-test`: the live-migration proof, as a module verify calls.
 *
 *   import { runMigrationTest } from './migration/index.js';
 *   const report = await runMigrationTest({ answers, plan, connections, facts, emit, guestAddress });
 *
 * Options (MigrationTestOptions, types.ts):
 *   answers       the loaded answer file (Answers)
 *   plan          planCluster(answers, facts): node models, drbdPairs, drbdMajor
 *   connections   Map<node name, ServerConnection>, open; the caller closes them
 *   facts?        ServerFacts[] in answer-file order (optional)
 *   emit?         (event: MigrationEvent) => void: EngineEvent `change` for every mutation (through the
 *                 engine's Guard, never a dry run), EngineEvent `log` warnings, plus
 *                 { type: 'migration-phase', phase, text, server? } and { type: 'migration-result', result }
 *   guestAddress? `A.B.C.D/P` in the management subnet; default host .200 of node 1's management subnet;
 *                 refused if a node has it or anything answers on it
 *   settleMs?     client probing after each migration (default 10 000), probeIntervalMs? (20)
 *   failAt?       fault injection for the clean-up test (also env HVCLUSTER_MIGRATION_FAIL_AT): one of
 *                 MIGRATION_PHASES; the test throws right after that phase, then cleans up as usual
 *   logFile?      the run log the caller's connections write to (verify keeps one), echoed in the report
 *
 * It never throws for a failure of the test itself: it resolves with a MigrationReport where
 *   ok                  true only if every migration worked, data was intact, and the clean-up left nothing
 *   migrations[]        MigrationResult per migration: from, to, qemuDowntimeMs, clientMaxGapMs,
 *                       clientMaxGapAtMs, clientRequests/clientAnswers, totalMs (virsh migrate wall
 *                       clock), qemuTotalMs, dataIntact (guest re-reads its 4 MiB after this move), ok, error?
 *   dataIntactOnDisk    the 4 MiB read back on the final primary's DRBD device (O_DIRECT) after the guest stopped
 *   error?              { phase, message }: the first failure
 *   cleanup             { ok, actions[], leftovers[] }: leftovers is what is still on a node (test domain,
 *                       resource up / Primary, .res, LV, guest files); must be empty
 *   guest, rounds, startedAt, durationMs
 * It throws only for programming errors (no connection for a planned node, a bad failAt value).
 *
 * What it does to the servers: see run.ts. Each dual-primary window is guarded by a timer on its
 * holders that closes it if this process dies inside it (engine/dual-primary.ts; 900 s, env
 * HVCLUSTER_DUAL_PRIMARY_CLOSE_S). It needs the cluster as apply leaves it (bridge, node
 * trust, libvirt with migration over the replication network, the volume group). A node without
 * busybox gets busybox-static from the answer file's package source on the first run (its initramfs
 * trigger takes seconds on a server, minutes on an emulated lab VM; apply does not install it, so that
 * an install without the migration test does not pay for it).
 * The installer must reach the management subnet directly (the client probe is plain HTTP to the guest).
 */
export { runMigrationTest, migrationRounds, migrationLegs, InjectedFailure, FAIL_AT_ENV } from './run.js';
export { cleanupMigrationTest } from './cleanup.js';
export { GUEST_NAME, TEST_RESOURCE, defaultGuestAddress } from './guest.js';
export { MIGRATION_PHASES } from './types.js';
export type { MigrationEvent, MigrationPhase, MigrationReport, MigrationResult, MigrationTestOptions } from './types.js';
