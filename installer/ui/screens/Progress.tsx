/**
 * The apply screen, fed by engine events: finished steps are printed once above (ink <Static>),
 * a small live region below holds each server's current step, with a bar for long progress (a
 * DRBD full sync). On failure: the server, the step, the command and its stderr, and the log file.
 */
import { Spinner } from '@inkjs/ui';
import { Box, Static, Text } from 'ink';
import React from 'react';
import { doneCount, type FinishedRow, type ProgressState } from '../progress-state.js';
import { Bar, Title } from '../components.js';

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function Row(props: { row: FinishedRow; width: number; dryRun: boolean }) {
  const { row } = props;
  const mark =
    row.status === 'failed' ? <Text color="red">✗</Text> : row.status === 'changed' ? <Text color="yellow">●</Text> : row.status === 'skipped' ? <Text dimColor>-</Text> : <Text color="green">✓</Text>;
  const label =
    row.status === 'changed' ? (props.dryRun ? 'would change' : 'changed') : row.status === 'failed' ? 'FAILED' : row.status;
  return (
    <Box flexDirection="column">
      <Text>
        {mark} {row.server.padEnd(props.width)} {row.step.padEnd(18)} <Text color={row.status === 'failed' ? 'red' : row.status === 'changed' ? 'yellow' : undefined} dimColor={row.status === 'unchanged' || row.status === 'skipped'}>{label.padEnd(12)}</Text>
        <Text dimColor>{seconds(row.durationMs)}</Text>
      </Text>
      {row.changes.map((change, i) => (
        <Text key={i} dimColor>
          {' '.repeat(props.width + 4)}- {change}
        </Text>
      ))}
    </Box>
  );
}

export function ProgressView(props: { state: ProgressState }) {
  const { state } = props;
  const width = Math.max(4, ...state.servers.map((s) => s.length));
  return (
    <Box flexDirection="column">
      {/* Static prints each item once: the header only when the run has started (it names the cluster
          and the run), never an empty one while the run waits for the cluster lock. */}
      <Static items={state.runId ? [{ id: -1 } as unknown as FinishedRow, ...state.finished] : state.finished}>
        {(row) =>
          row.id === -1 ? (
            <Box key="header" flexDirection="column">
              <Title step="5/6">{state.dryRun ? 'Dry run of' : 'Applying'} {state.cluster}</Title>
              <Text dimColor>
                {state.servers.join(', ')}: {state.steps.length} steps each. Run {state.runId}, log {state.logFile}
              </Text>
            </Box>
          ) : (
            <Row key={row.id} row={row} width={width} dryRun={state.dryRun} />
          )
        }
      </Static>
      {state.result ? null : (
        <Box flexDirection="column" marginTop={1}>
          {state.servers.map((server) => {
            const running = state.running[server];
            const count = `${doneCount(state, server)}/${state.steps.length}`;
            return (
              <Box key={server} flexDirection="column">
                {running ? (
                  <Box>
                    <Spinner label={`${server.padEnd(width)} ${count.padStart(5)}  ${running.title}`} />
                  </Box>
                ) : (
                  <Text dimColor>
                    {'  '}
                    {server.padEnd(width)} {count.padStart(5)}  {doneCount(state, server) >= state.steps.length ? 'done' : 'waiting for the other servers'}
                  </Text>
                )}
                {running?.percent !== undefined ? (
                  <Box marginLeft={width + 9}>
                    <Bar percent={running.percent} />
                    {running.text ? <Text dimColor> {running.text}</Text> : null}
                  </Box>
                ) : null}
              </Box>
            );
          })}
        </Box>
      )}
      {state.warnings.slice(-3).map((w, i) => (
        <Text key={i} color="yellow">
          ! {w}
        </Text>
      ))}
    </Box>
  );
}

export interface Failure {
  server: string;
  step: string;
  message: string;
  hint?: string;
}

/** Why the apply stopped: per failed server its step and the error (command, exit status, stderr), and the log. */
export function FailureView(props: { failures: Failure[]; logFile: string }) {
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="red" paddingX={1} marginTop={1}>
      <Text bold color="red">
        Apply stopped
      </Text>
      {props.failures.map((f, i) => (
        <Box key={i} flexDirection="column" marginTop={1}>
          <Text>
            server <Text bold>{f.server}</Text>, step <Text bold>{f.step}</Text>
          </Text>
          {f.message.split('\n').slice(0, 12).map((line, j) => (
            <Text key={j} color={j === 0 ? 'red' : undefined}>
              {'  '}
              {line}
            </Text>
          ))}
          {f.hint ? <Text dimColor>  {f.hint}</Text> : null}
        </Box>
      ))}
      <Box marginTop={1}>
        <Text>
          The full transcript is in <Text bold>{props.logFile}</Text>. Correct the cause and run the wizard again, or replay the saved answer file with
          `hvcluster apply -f site.yaml --yes`: finished steps are checked and kept.
        </Text>
      </Box>
    </Box>
  );
}
