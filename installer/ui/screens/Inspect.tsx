/** Connecting and inspecting: one row per server with a spinner, and the host-key question when a key is unknown. */
import { Spinner } from '@inkjs/ui';
import { Box, Text } from 'ink';
import React from 'react';
import { factValue, type ServerFacts } from '../../facts/types.js';
import { humanBytes } from '../../facts/format.js';
import { Title, YesNo } from '../components.js';

export type InspectStage = 'connecting' | 'host-key' | 'inspecting' | 'done' | 'failed';

export interface ServerProgress {
  label: string;
  stage: InspectStage;
  fingerprint?: string;
  facts?: ServerFacts;
  error?: string;
  hint?: string;
}

export interface HostKeyQuestion {
  server: string;
  keyType: string;
  fingerprint: string;
  answer: (trust: boolean) => void;
}

export function summary(facts: ServerFacts): string {
  const os = factValue(facts.os);
  const cpu = factValue(facts.cpu);
  const memory = factValue(facts.memory);
  const name = factValue(facts.hostname)?.nodeName ?? '?';
  return `${name}: ${os?.prettyName ?? os?.id ?? 'unknown OS'}, ${cpu?.threads ?? '?'} CPUs, ${memory ? humanBytes(memory.totalBytes) : '?'} memory`;
}

export function HostKeyConfirm(props: { question: HostKeyQuestion }) {
  const { server, keyType, fingerprint } = props.question;
  const file = `/etc/ssh/ssh_host_${keyType.toLowerCase().replace(/^ssh-/, '').replace(/^ecdsa-sha2-nistp\d+$/, 'ecdsa')}_key.pub`;
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="yellow" paddingX={1}>
      <Text>
        The host key of <Text bold>{server}</Text> is not known.
      </Text>
      <Text>
        {'  '}
        {keyType} <Text bold color="yellow">{fingerprint}</Text>
      </Text>
      <Text dimColor>Compare it with `ssh-keygen -lf {file}` on the server's console.</Text>
      <YesNo question="Trust this key (it is saved in site.yaml as the pinned host key)?" onAnswer={props.question.answer} />
    </Box>
  );
}

export function InspectView(props: { servers: ServerProgress[]; question?: HostKeyQuestion }) {
  return (
    <Box flexDirection="column">
      <Title step="2/6">Connecting and inspecting</Title>
      {props.servers.map((server) => (
        <Box key={server.label} flexDirection="column">
          {server.stage === 'done' ? (
            <Text>
              <Text color="green">✓ </Text>
              <Text bold>{server.label}</Text> {server.facts ? summary(server.facts) : ''}
              <Text dimColor> {server.fingerprint}</Text>
            </Text>
          ) : server.stage === 'failed' ? (
            <Box flexDirection="column">
              <Text>
                <Text color="red">✗ </Text>
                <Text bold>{server.label}</Text> <Text color="red">{server.error}</Text>
              </Text>
              {server.hint ? <Text dimColor>    {server.hint}</Text> : null}
            </Box>
          ) : server.stage === 'host-key' ? (
            <Text>
              <Text color="yellow">? </Text>
              <Text bold>{server.label}</Text> waiting for your answer about its host key
            </Text>
          ) : (
            <Spinner label={`${server.label}  ${server.stage === 'connecting' ? 'connecting…' : 'reading facts…'}`} />
          )}
        </Box>
      ))}
      {props.question ? (
        <Box marginTop={1}>
          <HostKeyConfirm question={props.question} />
        </Box>
      ) : null}
    </Box>
  );
}
