// The policy's workload selector (who.workloads: names, SPIFFE ID patterns, owners) and the job
// conditions (intent, source_host): who is selected, what is refused and why, what load rejects.
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../../src/policy/evaluate.js'
import { PolicyLoadError, parsePolicy } from '../../../src/policy/load.js'
import type { DecisionInput, Subject } from '../../../src/policy/types.js'
import { factsOf } from '../../../src/policy/inventory.js'

const PLC = 'plant-a/line-3/cell-2/plc-07'
const policy = parsePolicy(`version: 1
rules:
  - name: people
    who: { roles: [technician], users: ['spiffe://plant-a.example/workload/fw-updater'] }
    assets: ['plant-a/**']
    scopes: [read]
    max_ttl: 1h
    ticket: { required: false }
  - name: firmware
    who: { workloads: { spiffe_ids: ['spiffe://plant-a.example/workload/fw-*'] } }
    assets: ['plant-a/line-3/**']
    scopes: [control]
    max_ttl: 30m
    ticket: { required: false }
    conditions: { intent: ['firmware-*'], source_host: [10.20.0.0/16, '::1'] }
  - name: owned
    who: { workloads: { owners: ['group:plant-ops'], names: [backup] } }
    assets: ['plant-a/**']
    scopes: [diagnose]
    max_ttl: 30m
    ticket: { required: false }
`)

const workload = (name: string, owner = 'alice'): Subject => ({ name: `spiffe://plant-a.example/workload/${name}`, roles: [], workload: { name, spiffeId: `spiffe://plant-a.example/workload/${name}`, owner } })
const ask = (user: Subject, scope: string, more: Partial<DecisionInput> = {}): DecisionInput => ({ user, asset: PLC, scope, ttlSeconds: 600, facts: factsOf(PLC, { state: 'running' }), ...more })

describe('who.workloads', () => {
  it('selects a workload by SPIFFE ID pattern, name or owner', () => {
    expect(evaluate(policy, ask(workload('fw-updater'), 'control', { intent: 'firmware-update', sourceHost: '10.20.3.4' })).rule).toBe('firmware')
    expect(evaluate(policy, ask(workload('backup'), 'diagnose')).allow).toBe(true)
    expect(evaluate(policy, ask(workload('historian', 'group:plant-ops'), 'diagnose')).allow).toBe(true)
    expect(evaluate(policy, ask(workload('historian', 'alice'), 'diagnose')).allow).toBe(false)
  })

  it('a rule for people never selects a workload, even by its SPIFFE ID as a user name; a workload rule never a person', () => {
    expect(evaluate(policy, ask(workload('fw-updater'), 'read')).allow).toBe(false)
    expect(evaluate(policy, ask({ name: 'alice', roles: ['technician'] }, 'control', { intent: 'firmware-update', sourceHost: '10.20.3.4' })).allow).toBe(false)
  })
})

describe('conditions intent and source_host', () => {
  const fw = workload('fw-updater')
  it('allow a matching intent from an allowed address (IPv4 as a dual-stack socket shows it, and IPv6)', () => {
    expect(evaluate(policy, ask(fw, 'control', { intent: 'firmware-rollback', sourceHost: '::ffff:10.20.0.9' })).allow).toBe(true)
    expect(evaluate(policy, ask(fw, 'control', { intent: 'firmware-update', sourceHost: '::1' })).allow).toBe(true)
  })

  it('refuse another intent, none, or another address, saying which', () => {
    expect(evaluate(policy, ask(fw, 'control', { intent: 'backup', sourceHost: '10.20.0.9' })).reasons.join('\n')).toMatch(/allows only the intent firmware-\*; backup was declared/)
    expect(evaluate(policy, ask(fw, 'control', { sourceHost: '10.20.0.9' })).reasons.join('\n')).toMatch(/none was declared/)
    expect(evaluate(policy, ask(fw, 'control', { intent: 'firmware-update', sourceHost: '10.21.0.9' })).reasons.join('\n')).toMatch(/allows calls only from 10\.20\.0\.0\/16, ::1; this one came from 10\.21\.0\.9/)
    expect(evaluate(policy, ask(fw, 'control', { intent: 'firmware-update' })).allow).toBe(false)
  })
})

describe('loading', () => {
  const load = (extra: string) => () => parsePolicy(`version: 1
rules:
  - name: r
    who: { workloads: { names: [a] } }
    assets: ['plant-a/**']
    scopes: [read]
    max_ttl: 1h
${extra}`)
  it('rejects a source_host that is not an address or CIDR block, and an empty or unknown selector', () => {
    expect(load("    conditions: { source_host: ['plc-07.example'] }")).toThrow(PolicyLoadError)
    expect(load("    conditions: { source_host: ['10.0.0.0/33'] }")).toThrow(/prefix length outside 0-32/)
    expect(() => parsePolicy(`version: 1
rules:
  - { name: r, who: { workloads: {} }, assets: ['plant-a/**'], scopes: [read], max_ttl: 1h }
`)).toThrow(PolicyLoadError)
    expect(() => parsePolicy(`version: 1
rules:
  - { name: r, who: { workloads: { labels: [x] } }, assets: ['plant-a/**'], scopes: [read], max_ttl: 1h }
`)).toThrow(PolicyLoadError)
    expect(load("    conditions: { intent: [firmware-update], source_host: ['10.0.0.0/8'] }")).not.toThrow()
  })
})
