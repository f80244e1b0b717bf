import cliProgress from 'cli-progress';
import { isSettled, RateMeter, type TaskSnapshot } from './task-snapshot.ts';
import { formatBytes, formatSeconds } from './units.ts';

// How watched tasks are shown while they run: one live bar per instance task on a terminal
// (cli-progress), plain lines on anything else (a line when a task's status changes, and each
// running task's progress at most every `plainEveryMs`), nothing with --json (the summary is the
// output).

export type ViewMode = 'bars' | 'plain' | 'json';

export interface ProgressView {
  update(tasks: readonly TaskSnapshot[]): void;
  stop(): void;
}

export interface ViewOptions {
  mode: ViewMode;
  out?: NodeJS.WriteStream;
  plainEveryMs?: number;
}

/** bars on a terminal, plain lines elsewhere, unless --json */
export function viewModeFor(json: boolean | undefined, out: NodeJS.WriteStream = process.stdout): ViewMode {
  return json ? 'json' : out.isTTY ? 'bars' : 'plain';
}

export function createView(opts: ViewOptions): ProgressView {
  const out = opts.out ?? process.stdout;
  if (opts.mode === 'json') return { update() {}, stop() {} };
  return opts.mode === 'bars' ? new BarsView(out) : new PlainView(out, opts.plainEveryMs ?? 5_000);
}

/** the figures a bar or a line shows for one task */
function figures(t: TaskSnapshot, meter: RateMeter) {
  const total = Math.max(t.BytesTotal, t.BytesDone);
  const percent = total > 0 ? Math.floor((t.BytesDone * 100) / total) : isSettled(t) ? 100 : 0;
  const eta = meter.eta(t.TaskId, t.BytesDone, total);
  return {
    label: t.InstanceId || t.TaskId,
    status: t.TaskStatus,
    done: formatBytes(t.BytesDone),
    size: formatBytes(total),
    percent: String(percent).padStart(3),
    rate: `${formatBytes(Math.max(0, Math.round(meter.rate(t.TaskId))))}/s`,
    left: isSettled(t) ? '-' : eta === null ? '?' : formatSeconds(eta),
  };
}

class BarsView implements ProgressView {
  private readonly meter = new RateMeter();
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private readonly multi: cliProgress.MultiBar;

  constructor(out: NodeJS.WriteStream) {
    this.multi = new cliProgress.MultiBar(
      {
        stream: out,
        // `total`, `eta`, `value` are the library's own tokens; ours have other names. About 80
        // columns for a short instance id: a longer line is cut at the terminal's width
        format: '{label} {status} {bar} {percent}% {done}/{size} {rate} ETA {left}',
        barsize: 12,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        autopadding: true,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(tasks: readonly TaskSnapshot[]): void {
    const width = Math.max(...tasks.map((t) => (t.InstanceId || t.TaskId).length));
    for (const t of tasks) {
      this.meter.add(t.TaskId, t.BytesDone);
      const f = figures(t, this.meter);
      const payload = { ...f, label: f.label.padEnd(width), status: f.status.padEnd(10) };
      const total = Math.max(1, t.BytesTotal, t.BytesDone);
      const value = isSettled(t) && t.TaskStatus !== 'Failed' ? total : t.BytesDone;
      const bar = this.bars.get(t.TaskId);
      if (!bar) this.bars.set(t.TaskId, this.multi.create(total, value, payload));
      else {
        bar.setTotal(total);
        bar.update(value, payload);
      }
    }
  }

  stop(): void {
    this.multi.stop();
  }
}

class PlainView implements ProgressView {
  private readonly meter = new RateMeter();
  private readonly shown = new Map<string, { status: string; at: number }>();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly everyMs: number,
  ) {}

  update(tasks: readonly TaskSnapshot[]): void {
    const now = Date.now();
    for (const t of tasks) {
      this.meter.add(t.TaskId, t.BytesDone, now);
      const last = this.shown.get(t.TaskId);
      const changed = last?.status !== t.TaskStatus;
      if (!changed && (isSettled(t) || now - (last?.at ?? 0) < this.everyMs)) continue;
      this.shown.set(t.TaskId, { status: t.TaskStatus, at: now });
      const f = figures(t, this.meter);
      const moving = t.TaskStatus === 'Processing' ? `  ${f.rate}  ETA ${f.left}` : '';
      this.out.write(`${f.label}  ${t.TaskId}  ${f.status}  ${f.done} / ${f.size}  ${f.percent.trim()}%${moving}\n`);
    }
  }

  stop(): void {}
}
