import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one API instance (its own registry, so several can live in one process). */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'cloudphone_api_requests_total',
    help: 'API requests by Action and result Code (OK for success)',
    labelNames: ['action', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'cloudphone_api_request_duration_seconds',
    help: 'API request duration by Action',
    labelNames: ['action'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    registry,
    /** `action` must come from the known action list (or be a fixed word) to bound label cardinality. */
    observe(action: string, code: string, seconds: number): void {
      requests.inc({ action, code });
      duration.observe({ action }, seconds);
    },
  };
}
