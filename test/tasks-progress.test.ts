import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProgressWriter } from '../src/tasks/progress-writer.ts';

describe('ProgressWriter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes at most once per interval, in order, and the latest value on flush', async () => {
    vi.useFakeTimers();
    const writes: number[] = [];
    const w = new ProgressWriter(250, async (done) => {
      writes.push(done);
    });
    for (let ms = 0; ms < 1000; ms += 10) {
      w.update(ms, 1000);
      await vi.advanceTimersByTimeAsync(10);
    }
    await w.flush();
    // 100 updates over 1 s: one write per 250 ms window plus the final flush
    expect(writes.length).toBeGreaterThanOrEqual(4);
    expect(writes.length).toBeLessThanOrEqual(6);
    expect(writes).toEqual([...writes].sort((a, b) => a - b));
    expect(writes.at(-1)).toBe(990);
  });

  it('keeps going after a failed write', async () => {
    let calls = 0;
    const w = new ProgressWriter(0, async () => {
      calls++;
      if (calls === 1) throw new Error('db down');
    });
    w.update(1, 2);
    await expect(w.flush()).rejects.toThrow('db down');
    w.update(2, 2);
    await w.flush();
    expect(calls).toBe(2);
  });
});
