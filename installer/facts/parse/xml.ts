/**
 * A minimal XML reader for the cluster stack's own output (crm_mon --output-as=xml, cibadmin
 * --query): elements, attributes and nesting; text content, CDATA, comments and processing
 * instructions are skipped. Pure; throws XmlError on malformed input (an unclosed or mismatched tag).
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

export class XmlError extends Error {}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

const ATTR = /([\w:.-]+)\s*=\s*("([^"]*)"|'([^']*)')/g;

/** The document's root element. */
export function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: '#document', attrs: {}, children: [] };
  const stack: XmlElement[] = [root];
  const tag = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<(\/?)([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(text)) !== null) {
    const [, closing, name, attrText, selfClosing] = m;
    if (name === undefined) continue;
    if (closing) {
      const open = stack.pop();
      if (!open || open === root || open.name !== name) throw new XmlError(`unexpected </${name}>${open && open !== root ? ` (open: <${open.name}>)` : ''}`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of (attrText ?? '').matchAll(ATTR)) attrs[a[1]!] = decode(a[3] ?? a[4] ?? '');
    const el: XmlElement = { name, attrs, children: [] };
    stack[stack.length - 1]!.children.push(el);
    if (!selfClosing) stack.push(el);
  }
  if (stack.length > 1) throw new XmlError(`<${stack[stack.length - 1]!.name}> is not closed (output cut off?)`);
  const top = root.children[0];
  if (!top) throw new XmlError('no XML element');
  return top;
}

/** The first child named `name`, or undefined. */
export const child = (el: XmlElement | undefined, name: string): XmlElement | undefined => el?.children.find((c) => c.name === name);

/** Every child named `name`. */
export const children = (el: XmlElement | undefined, name: string): XmlElement[] => el?.children.filter((c) => c.name === name) ?? [];

/** Every descendant named `name`, depth first, in document order. */
export function descendants(el: XmlElement | undefined, name: string): XmlElement[] {
  if (!el) return [];
  return el.children.flatMap((c) => [...(c.name === name ? [c] : []), ...descendants(c, name)]);
}
