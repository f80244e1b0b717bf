import { Readable } from 'node:stream';

// A part's tar for the phone's `tar -x` as a byte stream that reads up to 2 MiB ahead: while the
// device acknowledges one WRTE (each waits for its OKAY), the archive goes on being decompressed
// and verified into the next, and Device.tarIn sends packets as large as the connection carries
// (src/devices/adb/shell.ts pumpStdin). In object mode the read-ahead would be 16 pieces, a few
// headers of small files, and the archive would wait for the phone at every round trip.

const READ_AHEAD = 2 * 1024 * 1024;

export const readAhead = (source: AsyncIterable<Buffer>): Readable =>
  Readable.from(source, { objectMode: false, highWaterMark: READ_AHEAD });
