/** Every script that runs on the servers (installer/remote/*.sh) is POSIX sh that shellcheck and dash accept. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REMOTE_DIR } from '../../../installer/paths.js';

const scripts = readdirSync(REMOTE_DIR).filter((f) => f.endsWith('.sh'));

describe('remote scripts', () => {
  it('are there', () => {
    expect(scripts.length).toBeGreaterThan(0);
  });
  for (const script of scripts) {
    it(`${script} passes shellcheck (POSIX sh) and dash -n`, () => {
      const path = join(REMOTE_DIR, script);
      const sc = spawnSync('shellcheck', ['-s', 'sh', path], { encoding: 'utf8' });
      expect(sc.error, 'shellcheck must be installed (bin/test-prereqs.mjs installs it)').toBeUndefined();
      expect(sc.stdout + sc.stderr).toBe('');
      expect(sc.status).toBe(0);
      const dash = spawnSync('dash', ['-n', path], { encoding: 'utf8' });
      expect(dash.stderr).toBe('');
      expect(dash.status).toBe(0);
    });
  }
});
