import { useEffect, useRef, useState } from 'preact/hooks';

// Live updates by polling: `load` runs now and again `everyMs` after each answer while the
// component is shown and the tab is visible; its latest result or error is returned.

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
  /** runs `load` now (after an action changed what it reads) */
  refresh: () => void;
}

export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: unknown[] = []): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const kick = useRef<() => void>(() => {});
  // the caller names what `load` depends on (deps)
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      clearTimeout(timer);
      if (stopped) return;
      if (document.visibilityState !== 'hidden') {
        try {
          const value = await load();
          if (stopped) return;
          setData(value);
          setError(undefined);
        } catch (err) {
          if (!stopped) setError(err as Error);
        }
      }
      if (!stopped) timer = setTimeout(run, everyMs);
    };
    kick.current = () => void run();
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
  return { data, error, refresh: () => kick.current() };
}
