import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

// moto's S3 server on a free port (a Python package; .ci/run installs it), for tests that need
// real multipart uploads, ListMultipartUploads and server-side conditional writes.

export interface Moto {
  url: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const server: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // moto logs every request to stderr: keep reading it all, or the pipe fills and the server stalls
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    server.stderr?.on('data', (chunk: Buffer) => {
      if (seen.length > 10_000) return;
      seen += chunk.toString();
      const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (m?.[1]) resolve(m[1]);
    });
    server.once('exit', (code) => reject(new Error(`moto_server exited with ${code}: ${seen}`)));
  });
  return {
    url,
    credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' },
    async close() {
      if (server.exitCode !== null || server.signalCode !== null) return;
      server.kill();
      await once(server, 'exit');
    },
  };
}
