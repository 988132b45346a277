// Runs every benchmark section in bench/sections/ (or those named by --only), prints one table
// and writes the figures with the machine they were measured on to a JSON file.
//
//   node bench/run.ts [--quick] [--only name,name] [--out FILE]
//
// npm run bench builds first and runs this inside a real keychain (scripts/with-keyring.sh).
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { PartialSectionError, formatTable, markdownTable, nowMs, type BenchReport, type BenchRow, type MachineInfo, type Section } from './lib.ts'

const ROOT = resolve(import.meta.dirname, '..')
const SECTIONS_DIR = join(ROOT, 'bench/sections')

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench/results/latest.json') },
  },
})

const available = readdirSync(SECTIONS_DIR)
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
  .map((file) => basename(file, '.ts'))
  .sort()
const wanted = values.only ? values.only.split(',').map((name) => name.trim()).filter(Boolean) : available
const unknown = wanted.filter((name) => !available.includes(name))
if (unknown.length > 0) {
  process.stderr.write(`No such bench section: ${unknown.join(', ')}. There are: ${available.join(', ')}.\n`)
  process.exit(2)
}

const machine = (): MachineInfo => ({
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  platform: process.platform,
  arch: process.arch,
  totalMemoryMb: Math.round(totalmem() / 2 ** 20),
  loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
})

const report: BenchReport = {
  timestamp: new Date().toISOString(),
  quick: values.quick,
  machine: machine(),
  notes: [
    'Load generators and CLI processes run on the same machine as the broker, sharing its cores.',
    'Figures are medians over repeated runs; ratios compare with a baseline measured in the same run.',
    ...(values.quick ? ['QUICK RUN: tiny sizes that only check the harness; the figures mean nothing.'] : []),
  ],
  sections: [],
  rows: [],
}

for (const name of wanted) {
  process.stderr.write(`bench: ${name} ...\n`)
  const start = nowMs()
  try {
    const section = (await import(pathToFileURL(join(SECTIONS_DIR, `${name}.ts`)).href)).default as Section
    if (typeof section !== 'function') throw new Error(`bench/sections/${name}.ts does not export a default Section function`)
    const rows: BenchRow[] = await section({ quick: values.quick, root: ROOT })
    report.rows.push(...rows)
    report.sections.push({ name, seconds: round((nowMs() - start) / 1000) })
  } catch (error) {
    if (error instanceof PartialSectionError) report.rows.push(...error.rows)
    const message = (error as Error).message ?? String(error)
    process.stderr.write(`bench: ${name} failed: ${message}\n`)
    report.sections.push({ name, seconds: round((nowMs() - start) / 1000), error: message })
  }
}

const outFile = resolve(values.out)
mkdirSync(dirname(outFile), { recursive: true })
writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`)
writeFileSync(outFile.replace(/\.json$/, '') + '.md', `${markdownTable(report.rows)}\n`)

const m = report.machine
process.stdout.write(`jit bench ${report.timestamp}${report.quick ? ' (QUICK: figures mean nothing)' : ''}\n`)
process.stdout.write(`machine: ${m.cpus} x ${m.cpuModel}, node ${m.node}, ${m.platform}-${m.arch}, load ${m.loadAverage.join(' ')}\n`)
for (const note of report.notes) process.stdout.write(`note: ${note}\n`)
process.stdout.write(`\n${formatTable(report.rows)}\n\n`)
process.stdout.write(`results: ${outFile}\n`)
const failed = report.sections.filter((s) => s.error)
if (failed.length > 0) {
  process.stdout.write(`FAILED sections: ${failed.map((s) => `${s.name} (${s.error})`).join('; ')}\n`)
  process.exitCode = 1
}

function round(n: number): number {
  return Math.round(n * 100) / 100
}
