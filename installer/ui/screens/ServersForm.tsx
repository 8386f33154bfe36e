/** The first screen: how many servers, and for each its address, login user and authentication. */
import { Select } from '@inkjs/ui';
import { Box, Text } from 'ink';
import React, { useState } from 'react';
import { checkLogin, type ServerLogin } from '../../plan/propose.js';
import { Question, Title } from '../components.js';

type Field = 'address' | 'user' | 'auth' | 'secret';

export interface ServersFormProps {
  /** Defaults offered for each server's questions (a previous answer, or none). */
  defaults?: Partial<ServerLogin>[];
  /** Whether a local key file exists (the real file system in the wizard, a stub in tests). */
  fileExists?: (path: string) => boolean;
  onDone: (logins: ServerLogin[]) => void;
}

const AUTH_OPTIONS = [
  { label: 'a private key file', value: 'key' },
  { label: 'the keys of my ssh-agent', value: 'agent' },
  { label: 'a password read from an environment variable', value: 'password' },
];

function describe(login: ServerLogin): string {
  const how = login.auth === 'key' ? `key ${login.identityFile}` : login.auth === 'agent' ? 'ssh-agent' : `password from $${login.passwordEnv}`;
  return `${login.user}@${login.address}${login.port !== 22 ? `:${login.port}` : ''}  (${how})`;
}

/** `host`, `host:port` or `[v6]:port`. */
export function splitAddress(text: string): { address: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { address: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : 22 };
  const withPort = /^([^:]+):(\d+)$/.exec(text);
  if (withPort) return { address: withPort[1]!, port: Number(withPort[2]) };
  return { address: text, port: 22 };
}

export function ServersForm(props: ServersFormProps) {
  const [count, setCount] = useState<number | null>(null);
  const [done, setDone] = useState<ServerLogin[]>([]);
  const [current, setCurrent] = useState<ServerLogin>({ address: '', port: 22, user: 'root', auth: 'key' });
  const [field, setField] = useState<Field>('address');
  const index = done.length;
  const defaults = props.defaults?.[index] ?? {};
  const exists = props.fileExists ?? (() => true);

  const finish = (login: ServerLogin) => {
    const all = [...done, login];
    setDone(all);
    setCurrent({ address: '', port: 22, user: 'root', auth: 'key' });
    setField('address');
    if (all.length === count) props.onDone(all);
  };

  return (
    <Box flexDirection="column">
      <Title step="1/6">The servers</Title>
      {count === null ? (
        <Box flexDirection="column">
          <Text bold>How many servers make the cluster?</Text>
          <Select
            options={[
              { label: '2 servers (a mirrored pair)', value: '2' },
              { label: '3 servers', value: '3' },
            ]}
            onChange={(value) => setCount(Number(value))}
          />
        </Box>
      ) : (
        <Box flexDirection="column">
          {done.map((login, i) => (
            <Text key={i}>
              <Text color="green">✓</Text> server {i + 1}: {describe(login)}
            </Text>
          ))}
          {index < count ? (
            <Box flexDirection="column" marginTop={done.length > 0 ? 1 : 0}>
              <Text dimColor>Server {index + 1} of {count}</Text>
              {field === 'address' ? (
                <Question
                  key={`address-${index}`}
                  label="Address (host name or IP, optionally :port):"
                  defaultValue={defaults.address}
                  placeholder="198.18.1.11"
                  validate={(value) => {
                    const { address, port } = splitAddress(value);
                    if (address === '') return 'expected a host name or IP address to reach the server over SSH, like 198.18.1.11';
                    if (done.some((d) => d.address === address && d.port === port)) return `${value} is server ${done.findIndex((d) => d.address === address) + 1} already`;
                    const issues = checkLogin({ ...current, address, port });
                    return issues.get('address') ?? issues.get('port') ?? null;
                  }}
                  onSubmit={(value) => {
                    setCurrent({ ...current, ...splitAddress(value) });
                    setField('user');
                  }}
                />
              ) : field === 'user' ? (
                <Question
                  key={`user-${index}`}
                  label="Login user:"
                  defaultValue={defaults.user ?? 'root'}
                  hint="root, or a user with sudo rights"
                  validate={(value) => checkLogin({ ...current, user: value }).get('user') ?? null}
                  onSubmit={(value) => {
                    setCurrent({ ...current, user: value });
                    setField('auth');
                  }}
                />
              ) : field === 'auth' ? (
                <Box flexDirection="column">
                  <Text bold>How does {current.user}@{current.address} log in?</Text>
                  <Select
                    key={`auth-${index}`}
                    options={AUTH_OPTIONS}
                    onChange={(value) => {
                      const next = { ...current, auth: value as ServerLogin['auth'] };
                      setCurrent(next);
                      if (value === 'agent') finish(next);
                      else setField('secret');
                    }}
                  />
                </Box>
              ) : current.auth === 'key' ? (
                <Question
                  key={`key-${index}`}
                  label="Private key file:"
                  defaultValue={defaults.identityFile ?? done.at(-1)?.identityFile ?? '~/.ssh/id_ed25519'}
                  validate={(value) => {
                    const message = checkLogin({ ...current, identityFile: value }).get('identityFile');
                    if (message) return message;
                    return exists(value) ? null : `${value} does not exist (or cannot be read); give the path of the private key`;
                  }}
                  onSubmit={(value) => finish({ ...current, identityFile: value })}
                />
              ) : (
                <Question
                  key={`password-${index}`}
                  label="Environment variable holding the password:"
                  defaultValue={defaults.passwordEnv ?? done.at(-1)?.passwordEnv ?? 'HVCLUSTER_SSH_PASSWORD'}
                  hint="the password itself is never written to the answer file, only where to read it"
                  validate={(value) => {
                    const message = checkLogin({ ...current, passwordEnv: value }).get('passwordFrom');
                    if (message) return message;
                    return process.env[value] === undefined ? `the environment variable ${value} is not set; export ${value}=... before running hvcluster` : null;
                  }}
                  onSubmit={(value) => finish({ ...current, passwordEnv: value })}
                />
              )}
            </Box>
          ) : null}
        </Box>
      )}
    </Box>
  );
}
