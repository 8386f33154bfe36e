/**
 * The wizard: servers -> connect and inspect (host keys confirmed) -> inventory and layout -> plan
 * and confirmation -> apply with live progress -> done (site.yaml and the log). It only shows what
 * the backend (the engine) reports and answers its questions.
 */
import { Spinner } from '@inkjs/ui';
import { Box, Text, useApp, useInput } from 'ink';
import React, { useEffect, useReducer, useRef, useState } from 'react';
import { AnswerFileError, formatIssue } from '../answers/issues.js';
import type { Answers } from '../answers/schema.js';
import { HvError } from '../errors.js';
import type { ServerFacts } from '../facts/types.js';
import { layoutDisk, proposeLayout, type Layout, type ServerLogin } from '../plan/propose.js';
import type { ApplyFailure, MigrationOutcome, PlanResult, VerifyOutcome, WizardBackend } from './backend.js';
import { Choice, YesNo } from './components.js';
import { initialProgress, progressReducer } from './progress-state.js';
import { InspectView, type HostKeyQuestion, type ServerProgress } from './screens/Inspect.js';
import { InventoryView } from './screens/Inventory.js';
import { LayoutScreen } from './screens/Layout.js';
import { PlanScreen, type DiskToErase } from './screens/Plan.js';
import { FailureView, ProgressView } from './screens/Progress.js';
import { ServersForm } from './screens/ServersForm.js';

type Phase =
  | { name: 'servers' }
  | { name: 'inspect' }
  | { name: 'layout'; notice?: string[] }
  | { name: 'planning' }
  | { name: 'plan'; result: PlanResult }
  | { name: 'migration-choice'; result: PlanResult }
  | { name: 'applying' }
  | { name: 'verifying'; siteFile: string; logFile: string }
  | { name: 'done'; siteFile: string; logFile: string; verify?: VerifyOutcome; verifyError?: string }
  | { name: 'failed'; failures: ApplyFailure[]; logFile: string; siteFile: string };

export interface WizardProps {
  backend: WizardBackend;
  fileExists?: (path: string) => boolean;
  /** The environment the servers' secrets are read from (the backend's; default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Called once when the wizard ends, with the exit code. */
  onExit?: (code: number) => void;
}

function errorText(error: unknown): { message: string; hint?: string } {
  return { message: error instanceof Error ? error.message : String(error), hint: error instanceof HvError ? error.hint : undefined };
}

export function Wizard(props: WizardProps) {
  const { exit } = useApp();
  const { backend } = props;
  const [phase, setPhase] = useState<Phase>({ name: 'servers' });
  const [logins, setLogins] = useState<ServerLogin[]>([]);
  const [servers, setServers] = useState<ServerProgress[]>([]);
  const [questions, setQuestions] = useState<HostKeyQuestion[]>([]);
  const [layout, setLayout] = useState<Layout | null>(null);
  const [answers, setAnswers] = useState<Answers | null>(null);
  const [progress, dispatch] = useReducer(progressReducer, initialProgress);
  const exited = useRef(false);
  const [stopping, setStopping] = useState(false);
  /** The migration test's current phase, shown beside the verify spinner. */
  const [verifyStatus, setVerifyStatus] = useState('');

  const finish = (code: number) => {
    if (exited.current) return;
    exited.current = true;
    void backend.close().finally(() => {
      props.onExit?.(code);
      exit();
    });
  };

  // Ctrl-C: during apply, stop after the steps under way (twice: at once); elsewhere, leave.
  useInput((input, key) => {
    if (!(key.ctrl && input === 'c')) return;
    if (phase.name === 'applying' && !stopping && backend.stop) {
      backend.stop();
      setStopping(true);
    } else finish(130);
  });

  // Exit from an effect once the last screen is on (React 19 renders asynchronously).
  useEffect(() => {
    if (phase.name === 'done') finish(phase.verify && !phase.verify.ok ? 1 : 0);
    if (phase.name === 'failed') finish(1);
  }, [phase.name]);

  const update = (index: number, change: Partial<ServerProgress>) => setServers((all) => all.map((s, i) => (i === index ? { ...s, ...change } : s)));

  const inspectAll = (all: ServerLogin[]) => {
    setLogins(all);
    setServers(all.map((login) => ({ label: `${login.user}@${login.address}`, stage: 'connecting' })));
    setPhase({ name: 'inspect' });
    void Promise.all(
      all.map(async (login, index) => {
        try {
          const { fingerprint, facts } = await backend.inspect(login, {
            onStage: (stage) => update(index, { stage }),
            askHostKey: (keyType, fingerprint) =>
              new Promise<boolean>((resolve) => {
                update(index, { stage: 'host-key' });
                setQuestions((q) => [
                  ...q,
                  {
                    server: `${login.user}@${login.address}`,
                    keyType,
                    fingerprint,
                    answer: (trust) => {
                      setQuestions((rest) => rest.slice(1));
                      update(index, { stage: trust ? 'connecting' : 'failed', ...(trust ? {} : { error: 'host key not trusted' }) });
                      resolve(trust);
                    },
                  },
                ]);
              }),
          });
          update(index, { stage: 'done', fingerprint, facts });
          return { fingerprint, facts };
        } catch (error) {
          const { message, hint } = errorText(error);
          update(index, { stage: 'failed', error: message, hint });
          return null;
        }
      }),
    ).then((results) => {
      if (results.every((r) => r !== null)) {
        const found = results as { fingerprint: string; facts: ServerFacts }[];
        setLogins(all.map((login, i) => ({ ...login, hostKey: found[i]!.fingerprint })));
        setLayout(proposeLayout(found.map((r) => r.facts)));
        setPhase({ name: 'layout' });
      }
    });
  };

  const makePlan = (next: Answers) => {
    setAnswers(next);
    setPhase({ name: 'planning' });
    backend.plan(next).then(
      (result) => setPhase({ name: 'plan', result }),
      (error) => {
        const notice =
          error instanceof AnswerFileError
            ? [error.message.split('\n')[0]!, ...error.errors.map((i) => `  ${formatIssue(i)}`)]
            : [`the plan could not be made: ${errorText(error).message}`];
        setPhase({ name: 'layout', notice });
      },
    );
  };

  const apply = (migrationTest: boolean) => {
    const siteFile = backend.save(answers!);
    setPhase({ name: 'applying' });
    backend.apply(answers!, dispatch).then(
      (result) => {
        if (!result.ok) return setPhase({ name: 'failed', failures: result.failures, logFile: result.logFile, siteFile });
        if (!backend.verify) return setPhase({ name: 'done', siteFile, logFile: result.logFile });
        setPhase({ name: 'verifying', siteFile, logFile: result.logFile });
        backend.verify(answers!, { migrationTest, onPhase: setVerifyStatus }).then(
          (verify) => setPhase({ name: 'done', siteFile, logFile: result.logFile, verify }),
          (error) => setPhase({ name: 'done', siteFile, logFile: result.logFile, verifyError: errorText(error).message }),
        );
      },
      (error) => setPhase({ name: 'failed', failures: [{ server: '-', step: '-', ...errorText(error) }], logFile: progress.logFile || '(none)', siteFile }),
    );
  };

  const facts = servers.map((s) => s.facts).filter((f): f is ServerFacts => f !== undefined);

  switch (phase.name) {
    case 'servers':
      // Entered again (after a server could not be inspected): the last answers are the defaults.
      return <ServersForm defaults={logins} fileExists={props.fileExists} env={props.env} onDone={inspectAll} />;
    case 'inspect': {
      const failed = servers.some((s) => s.stage === 'failed') && servers.every((s) => s.stage === 'failed' || s.stage === 'done');
      return (
        <Box flexDirection="column">
          <InspectView servers={servers} question={questions[0]} />
          {failed ? (
            <Box marginTop={1}>
              <YesNo
                question="Not every server could be inspected. Enter the servers again?"
                defaultYes
                onAnswer={(again) => {
                  if (!again) return finish(4);
                  void backend.close();
                  setPhase({ name: 'servers' });
                }}
              />
            </Box>
          ) : null}
        </Box>
      );
    }
    case 'layout':
      return (
        <Box flexDirection="column">
          <InventoryView servers={servers.map((s) => ({ label: s.label, facts: s.facts! }))} />
          <LayoutScreen
            initial={layout!}
            logins={logins}
            facts={facts}
            notice={phase.notice}
            onDone={(next, checked) => {
              setLayout(next);
              makePlan(checked);
            }}
          />
        </Box>
      );
    case 'planning':
      return <Spinner label="Reading the servers' files and making the plan…" />;
    case 'plan': {
      const erase: DiskToErase[] = answers!.spec.nodes.flatMap((node, i) => {
        if (!node.storage.wipe) return [];
        const disk = layoutDisk(facts[i]!, node.storage.disk);
        return [{ node: node.name, disk: node.storage.disk, name: disk?.name ?? node.storage.disk, reasons: disk?.verdict.reasons ?? [] }];
      });
      const result = phase.result;
      return (
        <PlanScreen
          comparison={result.comparison}
          changes={result.changes}
          erase={erase}
          warnings={result.warnings}
          onApply={() => (backend.verify ? setPhase({ name: 'migration-choice', result }) : apply(false))}
          onBack={() => setPhase({ name: 'layout' })}
        />
      );
    }
    case 'migration-choice':
      return (
        <Box flexDirection="column">
          <Choice
            label="After the install, the health checks of `hvcluster verify` run. Prove live migration too?"
            options={[
              { label: 'yes: a small test guest live-migrates between every pair of servers and back, then is removed', value: 'yes' },
              { label: 'no: the health checks only', value: 'no' },
            ]}
            defaultValue="yes"
            hint="Enter: choose · Esc: back to the plan"
            onSelect={(value) => apply(value === 'yes')}
            onBack={() => setPhase({ name: 'plan', result: phase.result })}
          />
        </Box>
      );
    case 'applying':
    case 'verifying':
    case 'failed':
    case 'done':
      // One tree for the three: the <Static> rows of the progress view are printed once, never again.
      return (
        <Box flexDirection="column">
          <ProgressView state={progress} />
          {stopping && phase.name === 'applying' ? <Text color="yellow">stopping after the current step (press Ctrl-C again to stop now)</Text> : null}
          {phase.name === 'failed' ? (
            <Box flexDirection="column">
              <FailureView failures={phase.failures} logFile={phase.logFile} />
              <Text>
                The answers are saved in <Text bold>{phase.siteFile}</Text>.
              </Text>
            </Box>
          ) : phase.name === 'verifying' ? (
            <Box marginTop={1}>
              <Spinner label={`6/6 Verifying the cluster (the health checks of \`hvcluster verify\`)…${verifyStatus ? ` ${verifyStatus}` : ''}`} />
            </Box>
          ) : phase.name === 'done' ? (
            <Box flexDirection="column">
              {phase.verify ? <VerifyView outcome={phase.verify} /> : null}
              {phase.verify?.migration ? <MigrationView outcome={phase.verify.migration} /> : null}
              {phase.verifyError ? <Text color="red">The verification could not run: {phase.verifyError}</Text> : null}
              <DoneView siteFile={phase.siteFile} logFile={phase.logFile} cluster={answers!.metadata.name} reportFile={phase.verify?.reportFile} />
            </Box>
          ) : null}
        </Box>
      );
  }
}

export function VerifyView(props: { outcome: VerifyOutcome }) {
  const { summary, problems } = props.outcome;
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text bold>Verify</Text>: <Text color="green">{summary.passed} passed</Text>, <Text color={summary.warnings ? 'yellow' : undefined}>{summary.warnings} warnings</Text>,{' '}
        <Text color={summary.errors ? 'red' : undefined}>{summary.errors} errors</Text>, {summary.skipped} skipped
        {summary.unreachable.length > 0 ? <Text color="red"> (not reachable: {summary.unreachable.join(', ')})</Text> : null}
      </Text>
      {problems.slice(0, 10).map((line, i) => (
        <Text key={i} color={line.startsWith('error') ? 'red' : 'yellow'}>
          {'  '}
          {line}
        </Text>
      ))}
      {problems.length > 10 ? <Text dimColor>  … {problems.length - 10} more in the report</Text> : null}
    </Box>
  );
}

export function MigrationView(props: { outcome: MigrationOutcome }) {
  const m = props.outcome;
  const ms = (value: number | null) => (value === null ? '?' : `${value} ms`);
  if (m.skipped) {
    return (
      <Text color="yellow">
        <Text bold>Live migration test</Text>: not run: {m.skipped}
      </Text>
    );
  }
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text bold>Live migration test</Text>: {m.ok ? <Text color="green">passed</Text> : <Text color="red">failed</Text>}
        {m.error ? <Text color="red"> at {m.error}</Text> : null}
      </Text>
      {m.moves.map((move, i) => (
        <Text key={i}>
          {'  '}
          {move.ok ? <Text color="green">✓</Text> : <Text color="red">✗</Text>} {move.from} → {move.to}: QEMU downtime {ms(move.qemuDowntimeMs)}, longest gap seen by the client{' '}
          {ms(move.clientMaxGapMs)}, data {move.dataIntact === true ? 'intact' : move.dataIntact === false ? <Text color="red">changed</Text> : 'not checked'}
        </Text>
      ))}
      {m.cleanedUp ? <Text dimColor>  the test guest, its DRBD resource and volume are removed</Text> : <Text color="red">  the clean-up left something behind: see the hand-over report</Text>}
    </Box>
  );
}

export function DoneView(props: { cluster: string; siteFile: string; logFile: string; reportFile?: string }) {
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="green" paddingX={1} marginTop={1}>
      <Text>
        <Text color="green">✓</Text> <Text bold>{props.cluster}</Text> is installed.
      </Text>
      <Text>
        Answer file: <Text bold>{props.siteFile}</Text>
      </Text>
      <Text dimColor>  replay it with `hvcluster apply -f {props.siteFile} --yes`; check it with `hvcluster plan -f {props.siteFile}`</Text>
      {props.reportFile ? (
        <Text>
          Hand-over report: <Text bold>{props.reportFile}</Text>
        </Text>
      ) : null}
      <Text>
        Log: <Text bold>{props.logFile}</Text>
      </Text>
      <Text dimColor>Check it again any time: `hvcluster verify -f {props.siteFile}` (add --migration-test to prove live migration).</Text>
    </Box>
  );
}
