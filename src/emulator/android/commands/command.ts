import type { Readable } from 'node:stream';

// One Android command run by the system server for the bridge script.

export interface CommandIo {
  args: string[];
  /** the caller's stdin: only streamed for installs that read the APK from stdin, otherwise at its end */
  stdin: Readable;
  out(text: string): void;
  err(text: string): void;
}

/** resolves to the exit status */
export type Command = (io: CommandIo) => Promise<number>;
