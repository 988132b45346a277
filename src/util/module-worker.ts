// A worker thread that runs a module of jit's own. From the repository that module is a file
// (its import.meta.url); in the single executable nothing is a file, so the build embeds each
// such module, bundled on its own, as an asset named `worker/NAME.cjs`, and the worker evaluates it.
import { Worker, type WorkerOptions } from 'node:worker_threads'
import type * as Sea from 'node:sea'
import { isSingleExecutable } from './self-command.js'
import type { WORKER_MODULES } from './worker-modules.js'

/** A worker running the module `name` (one of WORKER_MODULES) whose import.meta.url is `moduleUrl`. */
export function moduleWorker(name: keyof typeof WORKER_MODULES, moduleUrl: string, options: WorkerOptions): Worker {
  if (!isSingleExecutable()) return new Worker(new URL(moduleUrl), options)
  const sea = process.getBuiltinModule('node:sea') as typeof Sea
  return new Worker(sea.getAsset(`worker/${name}.cjs`, 'utf8'), { ...options, eval: true })
}
