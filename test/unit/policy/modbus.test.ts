// A rule's `modbus:` block: loaded into per-scope write ranges and programming scopes; mistakes
// named at their place; and the grant a session of each scope gets from it.
import { describe, expect, it } from 'vitest'
import { parsePolicy, PolicyLoadError } from '../../../src/policy/load.js'
import { modbusGrant } from '../../../src/policy/modbus.js'

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
