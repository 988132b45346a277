// The modules of jit that run on worker threads, by name: in the single executable each is
// embedded as the asset `worker/NAME.cjs` (scripts/dist/sea-bundle.ts builds them from here).
export const WORKER_MODULES = { 'audit-verify-log': 'src/audit/verify-log.ts' } as const
