// Policy evaluation at plant scale: a generated plant of 100,000 assets and 5,000 rules. Reports
// how long the policy and the inventory take to load (YAML → validated, indexed model) and the
// latency of one decision (p50/p99), against the brief's target of p99 < 0.2 ms.
import type { BenchOptions, BenchRow, Section } from '../lib.ts'
import { nowMs, percentile } from '../lib.ts'

const SECTION = 'policy'

interface Plant {
  policyText: string
  inventoryText: string
  paths: string[]
}

/** sites × areas × lines × cells × machines; rules per site, area, line and cell. */
function generatePlant(quick: boolean): Plant {
  const [sites, areas, lines, cells, machines] = quick ? [2, 2, 3, 4, 5] : [5, 10, 10, 20, 10]
  const kinds = ['plc', 'hmi', 'robot', 'drive', 'scanner']
  const paths: string[] = []
  const assets: Record<string, unknown>[] = []
  let n = 0
  for (let s = 0; s < sites; s++)
    for (let a = 0; a < areas; a++)
      for (let l = 0; l < lines; l++)
        for (let c = 0; c < cells; c++)
          for (let m = 0; m < machines; m++) {
            const path = `site-${s}/area-${a}/line-${l}/cell-${c}/${kinds[m % kinds.length]}-${m}`
            paths.push(path)
            const critical = m % kinds.length === 0 || m % kinds.length === 2
            assets.push({
              path,
              owner: `line-${s}-${a}-${l}-leads`,
              safety_critical: critical,
              state: ['running', 'running', 'stopped', 'maintenance'][n % 4],
              ...(critical ? { maintenance_windows: [{ days: [['sat', 'sun', 'fri'][l % 3]], from: l % 2 ? '22:00' : '02:00', to: '06:00' }] } : {}),
              ...(n++ % 3 === 0 ? { vendors: [`vendor-${(s + l) % 7}`] } : {}),
            })
          }
  const rules: string[] = []
  const rule = (text: string) => rules.push(`  - ${text}`)
  const target = quick ? 200 : 5000
  // Broad rules first, as plants write them; then one group per line, then per cell until 5,000.
  for (let s = 0; s < sites; s++) {
    rule(`{ name: s${s}-read, who: { roles: [operator-s${s}] }, assets: ['site-${s}/**'], scopes: [read], max_ttl: 8h }`)
    rule(`{ name: s${s}-vendor, who: { orgs: [vendor-0, vendor-1, vendor-2, vendor-3, vendor-4, vendor-5, vendor-6] }, assets: ['site-${s}/**'], scopes: [diagnose], max_ttl: 30m, approval: { count: 1, from_roles: [shift-lead] }, cache: false }`)
  }
  outer: for (let s = 0; s < sites; s++)
    for (let a = 0; a < areas; a++)
      for (let l = 0; l < lines; l++) {
        const base = `site-${s}/area-${a}/line-${l}`
        const id = `s${s}a${a}l${l}`
        rule(`{ name: ${id}-diagnose, who: { roles: [tech-${id}, technician] }, assets: ['${base}/**'], scopes: [read, diagnose], max_ttl: 2h }`)
        rule(`{ name: ${id}-control-window, who: { roles: [tech-${id}] }, assets: ['${base}/**'], scopes: [control], max_ttl: 1h, ticket: { systems: [workorder] }, conditions: { in_maintenance_window: true }, approval: { count: 1, from_owner_group: true }, exclusive: true }`)
        rule(`{ name: ${id}-control-stopped, who: { roles: [tech-${id}] }, assets: ['${base}/*/plc-*', '${base}/*/robot-*'], asset_attributes: { safety_critical: true }, scopes: [control], max_ttl: 30m, conditions: { asset_state: [stopped, maintenance] }, approval: { count: 2, from_roles: [shift-lead], from_owner_group: true }, exclusive: true }`)
        rule(`{ name: ${id}-hmi, who: { roles: [tech-${id}] }, assets: ['${base}/*/hmi-*'], scopes: [configure], max_ttl: 1h, conditions: { time_of_day: { from: '06:00', to: '22:00', days: [mon, tue, wed, thu, fri] } } }`)
        for (let c = 0; c < cells && rules.length < target; c += 2) {
          rule(`{ name: ${id}c${c}-flash, who: { users: [eng-${s}-${c}] }, assets: ['${base}/cell-${c}/**'], scopes: [flash], max_ttl: 4h, approval: { count: 2, from_roles: [engineering-lead] }, exclusive: true }`)
        }
        if (rules.length >= target) break outer
      }
  const policyText = `version: 1\ntimezone: Europe/Berlin\ntickets:\n  formats:\n    - { system: workorder, pattern: '^WO-[0-9]{6}$' }\nrules:\n${rules.slice(0, target).join('\n')}\n`
  // A plant system exports its inventory; as JSON (which is YAML) it takes the loader's fast path.
  const inventoryText = JSON.stringify({ version: 1, timezone: 'Europe/Berlin', assets })
  return { policyText, inventoryText, paths }
}

const section: Section = async (options: BenchOptions): Promise<BenchRow[]> => {
  const { parsePolicy } = await import(`${options.root}/dist/src/policy/load.js`)
  const { parseInventory, factsOf } = await import(`${options.root}/dist/src/policy/inventory.js`)
  const { evaluate } = await import(`${options.root}/dist/src/policy/evaluate.js`)

  const plant = generatePlant(options.quick)
  let t = nowMs()
  const policy = parsePolicy(plant.policyText, 'generated-policy.yaml')
  const policyMs = nowMs() - t
  t = nowMs()
  const inventory = parseInventory(plant.inventoryText, 'generated-inventory.yaml')
  const inventoryMs = nowMs() - t
  const attributes = new Map<string, Record<string, unknown>>(inventory.map((a: { path: string; attributes: Record<string, unknown> }) => [a.path, a.attributes]))

  // A deterministic mix of people and asks: technicians of the right and wrong line, vendors,
  // operators, scopes that exist and that do not.
  let seed = 42
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n)
  const decisions = options.quick ? 2000 : 100_000
  const start = Date.parse('2026-03-28T00:00:00Z')
  const makeInput = () => {
    const path = plant.paths[rand(plant.paths.length)]
    const [s, a, l] = path.split('/').map((p) => p.split('-')[1])
    const who = rand(5)
    const user =
      who === 0 ? { name: 'vic', roles: ['vendor'], org: `vendor-${rand(7)}` }
      : who === 1 ? { name: 'otto', roles: [`operator-s${s}`] }
      : { name: 'tess', roles: [`tech-s${s}a${a}l${who === 2 ? (Number(l) + 1) % 10 : l}`] }
    const scope = ['read', 'diagnose', 'control', 'configure', 'flash'][rand(5)]
    return {
      user, asset: path, scope, ttlSeconds: 600 + rand(4) * 1800, ticket: 'WO-104233',
      facts: factsOf(path, attributes.get(path)!), at: start + rand(7 * 86400) * 1000, holders: () => [],
    }
  }
  for (let i = 0; i < Math.min(5000, decisions); i++) evaluate(policy, makeInput())
  const latencies: number[] = []
  let allowed = 0
  for (let i = 0; i < decisions; i++) {
    const input = makeInput()
    const t0 = nowMs()
    const decision = evaluate(policy, input)
    latencies.push(nowMs() - t0)
    if (decision.allow) allowed++
  }
  const p50 = percentile(latencies, 50)
  const p99 = percentile(latencies, 99)
  const scale = `${plant.paths.length.toLocaleString('en')} assets, ${policy.rules.length.toLocaleString('en')} rules`
  return [
    { section: SECTION, name: 'load policy (YAML → validated, indexed)', value: policyMs, unit: 'ms', note: scale },
    { section: SECTION, name: 'load inventory (JSON export → validated)', value: inventoryMs, unit: 'ms', note: scale },
    {
      section: SECTION,
      name: 'decision latency',
      value: p99,
      unit: 'ms',
      p50,
      p99,
      target: 'p99 < 0.2 ms',
      met: options.quick ? undefined : p99 < 0.2,
      note: `${decisions.toLocaleString('en')} decisions, ${Math.round((100 * allowed) / decisions)}% allowed; ${scale}`,
    },
  ]
}

export default section
