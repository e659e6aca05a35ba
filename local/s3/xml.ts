/**
 * The little XML the S3 REST API needs: escaping for responses, and tag extraction for the few
 * request bodies the local server reads (CompleteMultipartUpload, DeleteObjects,
 * VersioningConfiguration). Request bodies come from SDKs and the CLI, never from untrusted
 * users, so a tag scanner is enough; no DTDs, no namespaces beyond S3's default one.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes text for an XML element or attribute. */
function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Reverses {@link xmlEscape}, plus numeric character references. */
function xmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    const map: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    return map[entity] ?? '';
  });
}

/** Every `<tag>…</tag>` body in `xml`, in order (not nested in itself). */
function xmlElements(xml: string, tag: string): string[] {
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g');
  return [...xml.matchAll(pattern)].map((m) => m[1] ?? '');
}

/** The unescaped text of the first `<tag>`, or undefined. */
function xmlText(xml: string, tag: string): string | undefined {
  const first = xmlElements(xml, tag)[0];
  return first === undefined ? undefined : xmlUnescape(first.trim());
}

/** An element with text children, or nested elements given as pre-rendered strings. */
type XmlValue = string | number | boolean | undefined | XmlNode | XmlNode[];
interface XmlNode {
  readonly [tag: string]: XmlValue;
}

function renderValue(tag: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => renderValue(tag, v)).join('');
  if (typeof value === 'object') return `<${tag}>${renderNode(value)}</${tag}>`;
  return `<${tag}>${xmlEscape(String(value))}</${tag}>`;
}

function renderNode(node: XmlNode): string {
  return Object.entries(node)
    .map(([tag, value]) => renderValue(tag, value))
    .join('');
}

/** A complete S3 response document with the S3 namespace on the root element. */
function xmlDocument(root: string, body: XmlNode): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${renderNode(body)}</${root}>`;
}

export type { XmlNode, XmlValue };
export { xmlDocument, xmlElements, xmlEscape, xmlText };
