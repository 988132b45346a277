// `jit policy test` over real files: the demo plant's cases pass, and a wrong expectation fails
// with a diff that names each differing field.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCasesFile } from '../../../src/policy/cases.js'
import { PolicyLoadError } from '../../../src/policy/yaml-source.js'

const PLANT = join(import.meta.dirname, '../../fixtures/plant')
const dir = mkdtempSync(join(tmpdir(), 'jit-cases-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function casesFile(body: string): string {
  const file = join(dir, `cases-${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, `version: 1\npolicy: ${join(PLANT, 'policy.yaml')}\ninventory: ${join(PLANT, 'inventory.yaml')}\nat: '2026-03-24T14:00:00+01:00'\nusers:\n  alice: { roles: [technician] }\n${body}`)
  return file
}

describe('policy test cases', () => {
  it('the demo plant passes all its cases', () => {
    const report = runCasesFile(join(PLANT, 'cases.yaml'))
    expect(report.results.filter((r) => !r.ok).map((r) => [r.name, r.diff])).toEqual([])
    expect(report).toMatchObject({ passed: 15, failed: 0 })
  })

  it('a mismatch reports each differing field', () => {
    const report = runCasesFile(casesFile(`cases:
  - name: expects the wrong things
    user: alice
    asset: plant-a/line-3/cell-2/plc-07
    scope: control
    ticket: WO-104233
    expect: { allow: true, rule: control-in-window, approvals: 1, reasons: ['stopped'] }
  - name: expects the right things
    user: alice
    asset: plant-a/line-3/cell-2/plc-07
    scope: diagnose
    ticket: WO-104233
    expect: { allow: true, rule: diagnose }
`))
    expect(report).toMatchObject({ passed: 1, failed: 1 })
    const [wrong] = report.results
    expect(wrong).toMatchObject({ name: 'expects the wrong things', line: 8, ok: false })
    expect(wrong.diff).toEqual([
      'allow: expected true, got false',
      'rule: expected control-in-window, got (none)',
      'approvals: expected 1, got 0',
    ])
  })

  it('a reason that is not given is shown with the reasons that were', () => {
    const report = runCasesFile(casesFile(`cases:
  - name: x
    user: alice
    asset: plant-a/line-3/cell-2/plc-07
    scope: diagnose
    ttl: 5h
    ticket: WO-104233
    expect: { allow: false, reasons: ['too long'] }
`))
    expect(report.results[0].diff).toEqual([
      'reasons: expected one containing "too long", got "5h is over the cap for diagnose on plant-a/line-3/cell-2/plc-07: ask for at most 2h"; "rule diagnose allows at most 2h; 5h was asked"',
    ])
  })

  it('mistakes in the cases file are located', () => {
    const file = casesFile(`cases:
  - name: x
    user: mallory
    asset: plant-a/line-9/plc
    scope: read
    at: yesterday
    expect: { allow: false, rule: no-such-rule }
`)
    try {
      runCasesFile(file)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyLoadError)
      expect((error as PolicyLoadError).problems.map((p) => `${p.line}:${p.column}: ${p.message}`)).toEqual([
        '9:11: unknown user "mallory"; define it under users:',
        `10:12: asset plant-a/line-9/plc is not in ${join(PLANT, 'inventory.yaml')}`,
        '12:9: "yesterday" is not a time; expected ISO 8601 such as 2026-03-28T02:30:00+01:00',
        '13:35: the policy has no rule "no-such-rule"',
      ])
    }
  })
})
