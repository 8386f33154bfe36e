import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemplateEnvironment, TemplateError } from '../../../installer/render/environment.js';

function environmentWith(files: Record<string, string>): TemplateEnvironment {
  const dir = mkdtempSync(join(tmpdir(), 'hv-templates-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return new TemplateEnvironment(dir);
}

describe('template environment', () => {
  it('renders config text without HTML escaping', () => {
    const env = environmentWith({ 'a.hbs': 'option "{{value}}" <{{other}}> & done\n' });
    expect(env.render('a.hbs', { value: 'x"y', other: 'a&b' })).toBe('option "x"y" <a&b> & done\n');
  });

  it('names the template, line and context when a value is missing', () => {
    const env = environmentWith({ 'drbd.hbs': 'resource {{name}} {\n  on {{node.host}} {\n  }\n}\n' });
    let caught: unknown;
    try {
      env.render('drbd.hbs', { name: 'r0', node: {} });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TemplateError);
    const message = (caught as Error).message;
    expect(message).toContain('template drbd.hbs:2:');
    expect(message).toContain('"host" not defined');
    expect(message).toContain('>    2 |   on {{node.host}} {');
  });

  it('refuses an undefined block argument instead of rendering nothing', () => {
    const env = environmentWith({ 'hosts.hbs': 'start\n{{#each nodes}}{{name}}\n{{/each}}' });
    expect(() => env.render('hosts.hbs', {})).toThrow(/hosts\.hbs:2: .*\{\{#each\}\} at 2:0 was given an undefined value/);
    expect(env.render('hosts.hbs', { nodes: [{ name: 'hv1' }, { name: 'hv2' }] })).toBe('start\nhv1\nhv2\n');
  });

  it('offers partials from _NAME.hbs files and a join helper', () => {
    const env = environmentWith({ '_header.hbs': '# managed by hvcluster\n', 'x.hbs': '{{> header}}\nservers {{join servers ", "}}\n' });
    expect(env.render('x.hbs', { servers: ['a', 'b'] })).toBe('# managed by hvcluster\nservers a, b\n');
  });
});
