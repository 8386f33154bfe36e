import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { answersJsonSchema, renderJsonSchema } from '../../../installer/answers/index.js';

describe('site.schema.json', () => {
  it('is what write-json-schema.ts generates (run `npx tsx installer/answers/write-json-schema.ts` after changing the schema)', () => {
    const committed = readFileSync(fileURLToPath(new URL('../../../installer/answers/site.schema.json', import.meta.url)), 'utf8');
    expect(committed).toBe(renderJsonSchema());
  });

  it('is strict, lets defaults be left out, and carries the descriptions', () => {
    const schema = answersJsonSchema() as any;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    const node = schema.properties.spec.properties.nodes;
    expect([node.minItems, node.maxItems]).toEqual([2, 3]);
    expect(node.items.required).toEqual(['name', 'management', 'replication', 'storage']);
    expect(node.items.properties.storage.properties.wipe).toMatchObject({ type: 'boolean', default: false });
    expect(node.items.properties.storage.properties.wipe.description).toMatch(/^DANGER/);
    expect(node.items.properties.ssh.properties.passwordFrom.oneOf).toEqual([{ required: ['env'] }, { required: ['file'] }]);
    expect(schema.properties.spec.properties.network.properties.replicationMtu).toMatchObject({ minimum: 576, maximum: 9216, default: 1500 });
  });

  it('documents the default of every key that has one, and describes every key', () => {
    const undocumented: string[] = [];
    const walk = (node: any, path: string) => {
      for (const [key, child] of Object.entries<any>(node.properties ?? {})) {
        const here = path ? `${path}.${key}` : key;
        if (typeof child.description !== 'string') undocumented.push(`${here}: no description`);
        else if ('default' in child && !/Default: |whole block is optional/.test(child.description) && !isObjectDefault(child)) {
          undocumented.push(`${here}: default ${JSON.stringify(child.default)} not in its description`);
        }
        walk(child, here);
        if (child.items) walk(child.items, `${here}[]`);
      }
    };
    // A block whose default is {} takes the defaults of its keys, each documented on its own.
    const isObjectDefault = (child: any) => child.type === 'object' && JSON.stringify(child.default) === '{}';
    walk(answersJsonSchema(), '');
    expect(undocumented).toEqual([]);
  });
});
