/** `promise`, or a rejection with `why()` once `ms` passed: a hang becomes a failure that says what hung */
export function within<T>(
  promise: Promise<T>,
  ms: number,
  why: () => string = () => `no answer in ${ms} ms`,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(why())), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
