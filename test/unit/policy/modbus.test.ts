// A rule's `modbus:` block: loaded into per-scope write ranges and programming scopes; mistakes
// named at their place; and the grant a session of each scope gets from it.
import { describe, expect, it } from 'vitest'
import { parsePolicy, PolicyLoadError } from '../../../src/policy/load.js'
import { explain } from '../../../src/policy/explain.js'
import { factsOf } from '../../../src/policy/inventory.js'
import { describeModbusGrant, modbusGrant } from '../../../src/policy/modbus.js'

const policy = (modbus: string) => `version: 1
rules:
  - name: plc-work
    who: { roles: [technician] }
    assets: ['plant-a/**']
    scopes: [diagnose, control, engineering]
    max_ttl: 1h
    ticket: { required: false }
    modbus:
${modbus}`

function problemsOf(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyLoadError)
    return (error as PolicyLoadError).problems.map((p) => `${p.line}: ${p.message}`)
  }
  throw new Error('expected the policy to be refused')
}

describe('modbus: in a rule', () => {
  it('gives each scope its write ranges and programming right', () => {
    const loaded = parsePolicy(policy(`      writes:
        control:
          - { unit: 1, coils: "0-15", registers: "100-199,300" }
          - { registers: "400-409" }
      programming: [engineering]
`), 'p.yaml')
    const rule = loaded.rules[0]
    expect(modbusGrant(rule, 'diagnose')).toEqual({ writes: [], programming: false })
    expect(modbusGrant(rule, 'control')).toEqual({ writes: [{ unit: 1, coils: [[0, 15]], registers: [[100, 199], [300, 300]] }, { registers: [[400, 409]] }], programming: false })
    expect(modbusGrant(rule, 'engineering')).toEqual({ writes: [], programming: true })
    expect(modbusGrant(undefined, 'control')).toEqual({ writes: [], programming: false })
  })

  it('refuses scopes the rule does not grant, ranges that are not ranges, entries that name nothing', () => {
    expect(problemsOf(policy(`      writes:
        contrl:
          - { registers: "100-199" }
        control:
          - { registers: "199-100" }
          - { coils: "0-70000" }
          - { unit: 1 }
      programming: [root]
`))).toEqual([
      expect.stringMatching(/^12: scope "contrl" is not one of this rule's scopes/),
      expect.stringMatching(/^14: "199-100" is not a list of addresses/),
      expect.stringMatching(/^15: "0-70000" is not a list of addresses/),
      expect.stringMatching(/^16: name the coils, the registers, or both/),
      expect.stringMatching(/^17: scope "root" is not one of this rule's scopes/),
    ])
  })
})

describe('jit policy explain on a Modbus asset', () => {
  const loaded = parsePolicy(policy(`      writes:
        control:
          - { unit: 1, coils: "0-15", registers: "100-199" }
`), 'p.yaml')
  const ask = (scope: string, attributes: Record<string, unknown>) =>
    explain(loaded, { user: { name: 'alice', roles: ['technician'] }, asset: 'plant-a/l/c/plc', scope, ttlSeconds: 600, facts: factsOf('plant-a/l/c/plc', attributes) })

  it('shows what each scope may send', () => {
    const control = ask('control', { state: 'running', protocol: 'modbus-tcp' })
    expect(control.modbus).toEqual({ writes: [{ unit: 1, coils: [[0, 15]], registers: [[100, 199]] }], programming: false })
    expect(describeModbusGrant(control.modbus!)).toEqual([
      'reads (1, 2, 3, 4, 43/14)',
      'writes (5, 6, 15, 16, 22, 23) to coils 0-15 and holding registers 100-199 of unit 1',
      'no diagnostic or programming functions (exception 01)',
    ])
    expect(describeModbusGrant(ask('diagnose', { protocol: 'modbus-tcp' }).modbus!)[1]).toBe('no writes (answered with exception 01)')
  })

  it('says nothing about Modbus when the request is refused', () => {
    expect(ask('root', { protocol: 'modbus-tcp' }).modbus).toBeUndefined()
  })
})
