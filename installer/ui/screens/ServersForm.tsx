/**
 * The first screen: how many servers, and for each how the installer logs in (address, jump host,
 * user, authentication, sudo). The questions' order, defaults and checks are in login-steps.ts;
 * Esc goes back one question (from a server's first question to the previous server's last one).
 */
import { Box, Text } from 'ink';
import React, { useState } from 'react';
import type { ServerLogin } from '../../plan/propose.js';
import { Choice, Question, Title } from '../components.js';
import { checkAnswer, defaultAnswer, describeLogin, draftOf, isChoice, loginOf, stepsOf, withAnswer, type ChoiceStep, type LoginDraft, type Step, type TextStep } from './login-steps.js';

export interface ServersFormProps {
  /** Answers offered again for each server (after going back from a later screen), or none. */
  defaults?: Partial<ServerLogin>[];
  /** Whether a local key file exists (the real file system in the wizard, a stub in tests). */
  fileExists?: (path: string) => boolean;
  /** The environment secrets are read from (the wizard's; default process.env). */
  env?: NodeJS.ProcessEnv;
  onDone: (logins: ServerLogin[]) => void;
}

const COUNT_OPTIONS = [
  { label: '2 servers (a mirrored pair)', value: '2' },
  { label: '3 servers', value: '3' },
];

const SECRET_HINT = 'the password itself is never written to the answer file, only where to read it';
const BACK = 'Esc: back';

const TEXT_QUESTIONS: Record<TextStep, { label: string; hint?: string; placeholder?: string }> = {
  address: { label: 'Address (host name or IP, optionally :port):', placeholder: '198.18.1.11' },
  jump: { label: 'Jump host (blank for none):', hint: 'user@host:port as ssh -J takes it, comma-separated for a chain' },
  user: { label: 'Login user:', hint: 'root, or a user with sudo rights' },
  identityFile: { label: 'Private key file:' },
  passwordEnv: { label: 'Environment variable holding the password:', hint: SECRET_HINT },
  sudoPasswordEnv: { label: 'Environment variable holding the sudo password:', hint: SECRET_HINT },
};

const CHOICES: Record<ChoiceStep, { label: (login: ServerLogin) => string; options: { label: string; value: string }[] }> = {
  auth: {
    label: (login) => `How does ${login.user}@${login.address} log in?`,
    options: [
      { label: 'a private key file', value: 'key' },
      { label: 'the keys of my ssh-agent', value: 'agent' },
      { label: 'a password read from an environment variable', value: 'password' },
    ],
  },
  sudo: {
    label: (login) => `How does sudo authenticate ${login.user}?`,
    options: [
      { label: 'passwordless sudo (sudo -n)', value: 'nopasswd' },
      { label: 'a sudo password read from an environment variable', value: 'password' },
    ],
  },
};

export function ServersForm(props: ServersFormProps) {
  const given = props.defaults ?? [];
  const [askingCount, setAskingCount] = useState(true);
  const [count, setCount] = useState(given.length === 3 ? 3 : 2);
  const [drafts, setDrafts] = useState<LoginDraft[]>(() => given.map(draftOf));
  const [index, setIndex] = useState(0);
  const [step, setStep] = useState<Step>('address');
  const draft = drafts[index] ?? {};
  const done = drafts.slice(0, index).map(loginOf);
  const context = { before: done, env: props.env ?? process.env, fileExists: props.fileExists ?? (() => true) };

  const answer = (value: string) => {
    const next = withAnswer(step, value, draft);
    const all = drafts.slice();
    all[index] = next;
    setDrafts(all);
    const steps = stepsOf(next);
    const following = steps[steps.indexOf(step) + 1];
    if (following) return setStep(following);
    setIndex(index + 1);
    setStep('address');
    if (index + 1 === count) props.onDone(all.slice(0, count).map(loginOf));
  };

  const back = () => {
    const steps = stepsOf(draft);
    const position = steps.indexOf(step);
    if (position > 0) setStep(steps[position - 1]!);
    else if (index > 0) {
      setIndex(index - 1);
      setStep(stepsOf(drafts[index - 1]!).at(-1)!);
    } else setAskingCount(true);
  };

  const question = () => {
    const key = `${index}-${step}`;
    const initial = defaultAnswer(step, draft, done.at(-1));
    if (isChoice(step)) {
      const choice = CHOICES[step];
      return <Choice key={key} label={choice.label(loginOf(draft))} options={choice.options} defaultValue={initial} hint={BACK} onSelect={answer} onBack={back} />;
    }
    const text = TEXT_QUESTIONS[step];
    return (
      <Question
        key={key}
        label={text.label}
        defaultValue={initial}
        placeholder={text.placeholder}
        hint={[text.hint, BACK].filter(Boolean).join(' · ')}
        validate={(value) => checkAnswer(step, value, draft, context)}
        onSubmit={answer}
        onCancel={back}
      />
    );
  };

  return (
    <Box flexDirection="column">
      <Title step="1/6">The servers</Title>
      {askingCount ? (
        <Choice
          label="How many servers make the cluster?"
          options={COUNT_OPTIONS}
          defaultValue={String(count)}
          onSelect={(value) => {
            setCount(Number(value));
            setAskingCount(false);
          }}
        />
      ) : (
        <Box flexDirection="column">
          {done.map((login, i) => (
            <Text key={i}>
              <Text color="green">✓</Text> server {i + 1}: {describeLogin(login)}
            </Text>
          ))}
          {index < count ? (
            <Box flexDirection="column" marginTop={done.length > 0 ? 1 : 0}>
              <Text dimColor>
                Server {index + 1} of {count}
              </Text>
              {question()}
            </Box>
          ) : null}
        </Box>
      )}
    </Box>
  );
}
