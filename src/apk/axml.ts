// Android's binary XML (AXML) as aapt writes AndroidManifest.xml: a string pool, a resource map
// (attribute name index → resource id, which is what identifies android: attributes even when
// their names are stripped) and start/end element chunks. Only what a manifest needs is decoded.

export interface AxmlAttribute {
  name: string;
  /** android:… resource id, 0 when none */
  resourceId: number;
  /** strings and raw values as text, integers and booleans as numbers / booleans */
  value: string | number | boolean;
}

export interface AxmlElement {
  name: string;
  depth: number;
  attributes: AxmlAttribute[];
}

const XML = 0x0003;
const STRING_POOL = 0x0001;
const RESOURCE_MAP = 0x0180;
const START_ELEMENT = 0x0102;
const END_ELEMENT = 0x0103;
const UTF8_FLAG = 0x100;
const NO_INDEX = 0xffffffff;

const TYPE_STRING = 0x03;
const TYPE_INT_DEC = 0x10;
const TYPE_INT_HEX = 0x11;
const TYPE_BOOLEAN = 0x12;

export function parseAxml(buf: Buffer): AxmlElement[] {
  if (buf.length < 8 || buf.readUInt16LE(0) !== XML) throw new Error('not a binary XML file');
  let strings: string[] = [];
  let resourceIds: number[] = [];
  const elements: AxmlElement[] = [];
  let depth = 0;
  for (let p = buf.readUInt16LE(2); p + 8 <= buf.length; ) {
    const type = buf.readUInt16LE(p);
    const size = buf.readUInt32LE(p + 4);
    if (size < 8 || p + size > buf.length) throw new Error('corrupt binary XML chunk');
    const chunk = buf.subarray(p, p + size);
    if (type === STRING_POOL) strings = readStringPool(chunk);
    else if (type === RESOURCE_MAP) {
      resourceIds = [];
      for (let i = chunk.readUInt16LE(2); i + 4 <= size; i += 4) resourceIds.push(chunk.readUInt32LE(i));
    } else if (type === START_ELEMENT) {
      depth++;
      elements.push(readElement(chunk, depth, strings, resourceIds));
    } else if (type === END_ELEMENT) depth--;
    p += size;
  }
  return elements;
}

function readElement(chunk: Buffer, depth: number, strings: string[], resourceIds: number[]): AxmlElement {
  const ext = chunk.readUInt16LE(2);
  const str = (i: number) => (i === NO_INDEX ? '' : (strings[i] ?? ''));
  const attrStart = ext + chunk.readUInt16LE(ext + 8);
  const attrSize = chunk.readUInt16LE(ext + 10);
  const count = chunk.readUInt16LE(ext + 12);
  const attributes: AxmlAttribute[] = [];
  for (let i = 0; i < count; i++) {
    const a = attrStart + i * attrSize;
    const nameIndex = chunk.readUInt32LE(a + 4);
    const raw = chunk.readUInt32LE(a + 8);
    const dataType = chunk.readUInt8(a + 15);
    const data = chunk.readUInt32LE(a + 16);
    let value: string | number | boolean;
    if (dataType === TYPE_STRING) value = str(data);
    else if (dataType === TYPE_INT_DEC || dataType === TYPE_INT_HEX) value = data | 0;
    else if (dataType === TYPE_BOOLEAN) value = data !== 0;
    else value = raw !== NO_INDEX ? str(raw) : `@0x${data.toString(16).padStart(8, '0')}`;
    attributes.push({ name: str(nameIndex), resourceId: resourceIds[nameIndex] ?? 0, value });
  }
  return { name: str(chunk.readUInt32LE(ext + 4)), depth, attributes };
}

function readStringPool(chunk: Buffer): string[] {
  const count = chunk.readUInt32LE(8);
  const utf8 = (chunk.readUInt32LE(16) & UTF8_FLAG) !== 0;
  const stringsStart = chunk.readUInt32LE(20);
  const offsets = chunk.readUInt16LE(2);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = stringsStart + chunk.readUInt32LE(offsets + i * 4);
    out.push(utf8 ? readUtf8(chunk, at) : readUtf16(chunk, at));
  }
  return out;
}

function readUtf8(buf: Buffer, at: number): string {
  // character count, then byte count; each one or two bytes (high bit = two)
  let p = at + ((buf[at] as number) & 0x80 ? 2 : 1);
  let bytes = buf[p] as number;
  if (bytes & 0x80) {
    bytes = ((bytes & 0x7f) << 8) | (buf[p + 1] as number);
    p += 2;
  } else p += 1;
  return buf.toString('utf8', p, p + bytes);
}

function readUtf16(buf: Buffer, at: number): string {
  let chars = buf.readUInt16LE(at);
  let p = at + 2;
  if (chars & 0x8000) {
    chars = ((chars & 0x7fff) << 16) | buf.readUInt16LE(p);
    p += 2;
  }
  return buf.toString('utf16le', p, p + chars * 2);
}
