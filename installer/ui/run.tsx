/** Starts the wizard on the terminal (only called when stdin and stdout are TTYs and CI is not set). */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { render } from 'ink';
import React from 'react';
import { SshBackend, type BackendOptions } from './backend.js';
import { Wizard } from './Wizard.js';

export async function runWizard(options: BackendOptions): Promise<number> {
  const backend = new SshBackend(options);
  const home = options.env.HOME ?? homedir();
  let code = 0;
  const app = render(<Wizard backend={backend} env={options.env} fileExists={(path) => existsSync(path.replace(/^~(?=\/)/, home))} onExit={(c) => (code = c)} />, {
    // The wizard handles Ctrl-C: during apply it stops after the current step, as `apply` does.
    exitOnCtrlC: false,
  });
  try {
    await app.waitUntilExit();
  } finally {
    await backend.close();
  }
  return code;
}
