// Gathers small buffers into ~256 KiB ones. A restore streams a tar into the device over ADB,
// where every buffer becomes one WRTE that waits for the device's OKAY: 512-byte headers and
// small files sent one by one would make a tree of small files cost a round trip each.

const SIZE = 256 * 1024;

export async function* batched(source: AsyncIterable<Buffer>, size = SIZE): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of source) {
    if (chunk.length >= size && bytes === 0) {
      yield chunk;
      continue;
    }
    parts.push(chunk);
    bytes += chunk.length;
    if (bytes >= size) {
      yield Buffer.concat(parts, bytes);
      parts = [];
      bytes = 0;
    }
  }
  if (bytes > 0) yield Buffer.concat(parts, bytes);
}
