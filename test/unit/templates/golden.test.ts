/**
 * Golden files: every template rendered for every node of both fixture clusters, compared byte for
 * byte with test/fixtures/templates/<cluster>/<node>/<template without .hbs> (DRBD resources under
 * <cluster>/resources/). These files go onto real servers: review every change to them.
 *
 * UPDATE_GOLDEN=1 npx vitest run test/unit/templates   rewrites them from the templates.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TemplateEnvironment } from '../../../installer/render/environment.js';
import { BACKUP_CONF_TEMPLATE, BACKUP_CONFS, FIXTURES, GUESTS, GUEST_TEMPLATE, NODE_TEMPLATES, RESOURCE_TEMPLATE } from './fixtures.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../fixtures/templates/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const env = new TemplateEnvironment();

function checkGolden(relative: string, actual: string): void {
  const path = join(GOLDEN_DIR, relative);
  if (UPDATE) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) {
    throw new Error(`golden file ${path} is missing: run UPDATE_GOLDEN=1 npx vitest run test/unit/templates and review it`);
  }
  expect(actual, `${relative} differs from its golden file (UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(path, 'utf8'));
}

describe.each(FIXTURES)('golden files of $id', (fixture) => {
  for (const model of fixture.models) {
    it.each(Object.keys(NODE_TEMPLATES))(`${model.node.name}: %s`, (template) => {
      checkGolden(join(fixture.id, model.node.name, template.replace(/\.hbs$/, '')), env.render(template, model));
    });
  }

  it.each(fixture.resources.map((resource) => [resource.name, resource] as const))('resource %s', (name, resource) => {
    checkGolden(join(fixture.id, 'resources', `${name}.res`), env.render(RESOURCE_TEMPLATE, resource));
  });
});

describe('guest domains', () => {
  it.each(GUESTS.map((g) => [g.name, g] as const))('guest %s', (name, guest) => {
    checkGolden(join('guests', `${name}.xml`), env.render(GUEST_TEMPLATE, guest));
  });
});

describe('backup.conf', () => {
  it.each(BACKUP_CONFS.map((c) => [c.id, c.model] as const))('%s', (id, model) => {
    checkGolden(join('backup', `${id}.conf`), env.render(BACKUP_CONF_TEMPLATE, model));
  });
});

describe('coverage', () => {
  it('has a golden file for every template in templates/', async () => {
    const { readdirSync } = await import('node:fs');
    const templates = readdirSync(fileURLToPath(new URL('../../../templates/', import.meta.url))).filter((f) => f.endsWith('.hbs') && !f.startsWith('_'));
    expect(templates.sort()).toEqual([...Object.keys(NODE_TEMPLATES), RESOURCE_TEMPLATE, GUEST_TEMPLATE, BACKUP_CONF_TEMPLATE].sort());
  });
});
