// Policy files with mistakes: every problem with file, line, column and what was expected; and
// no input, however broken, makes the loader throw anything but PolicyLoadError.
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { loadPolicyFile, parsePolicy, PolicyLoadError } from '../../../src/policy/load.js'

const FIXTURES = join(import.meta.dirname, '../../fixtures')

function problemsOf(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyLoadError)
    return (error as PolicyLoadError).problems.map((p) => `${p.line}:${p.column}: ${p.message}`)
  }
  throw new Error('expected the policy to be refused')
}

const rule = (extra: string) => `version: 1
tickets:
  formats:
    - { system: workorder, pattern: '^WO-[0-9]{6}$' }
rules:
  - name: r1
    who: { roles: [technician] }
    assets: ['plant-a/**']
    scopes: [read]
    max_ttl: 1h
${extra}`

describe('valid policies', () => {
  it('loads the fixture policies', () => {
    const fixture = loadPolicyFile(join(FIXTURES, 'policy.yaml'))
    expect(fixture.rules.map((r) => r.name)).toEqual(['line3-diagnose', 'line3-control', 'vendor-diagnose'])
    expect(fixture.rules[1]).toMatchObject({ maxTtlSeconds: 3600, approval: { count: 1, fromRoles: ['shift-lead'], fromOwnerGroup: false }, cache: true, exclusive: false, line: 12 })
    const plant = loadPolicyFile(join(FIXTURES, 'plant/policy.yaml'))
    expect(plant.rules).toHaveLength(7)
    expect(plant.timeZone).toBe('Europe/Berlin')
    expect(plant.breakGlass).toEqual({
      who: { roles: ['shift-lead', 'maintenance-lead'] },
      assets: ['plant-a/**'],
      scopes: ['control'],
      maxTtlSeconds: 1800,
      notify: ['role:security', 'mailto:plant-a-security@example.com'],
      reviewDueSeconds: 86400,
    })
    const window = plant.rules.find((r) => r.name === 'night-watch')!
    expect(window.conditions.timeOfDay).toEqual({ from: 22 * 60, to: 6 * 60, days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], timeZone: undefined })
    expect(window.ticket).toEqual({ required: false, systems: [], onUnreachable: 'deny' })
    expect(plant.digest).toMatch(/^[0-9a-f]{64}$/)
  })

  it('a missing file is a located problem, not a crash', () => {
    expect(() => loadPolicyFile('/nonexistent/policy.yaml')).toThrow(/\/nonexistent\/policy.yaml:1:1: cannot read the file \(ENOENT\)/)
  })
})

describe('mistakes are reported where they are', () => {
  const cases: { name: string; text: string; problems: string[] }[] = [
    { name: 'YAML syntax', text: 'version: 1\nrules: [\n', problems: ['3:1: Flow sequence in block collection must be sufficiently indented and end with a ]'] },
    { name: 'unknown key points at the key', text: rule('    colour: red'), problems: ['11:5: rules.0.colour: unknown key "colour"'] },
    { name: 'missing key points at the map', text: 'version: 1\nrules:\n  - name: r1\n    who: { roles: [a] }\n    scopes: [read]\n    max_ttl: 1h\n', problems: ['3:5: rules.0: missing "assets"'] },
    { name: 'bad duration', text: rule('').replace('max_ttl: 1h', 'max_ttl: an hour'), problems: ['10:14: rules.0.max_ttl: expected a duration such as 30m, 2h or 1h30m'] },
    { name: 'TTL over the cap', text: rule('').replace('max_ttl: 1h', 'max_ttl: 8d'), problems: ['10:14: max_ttl must be more than 0 and at most 7d'] },
    { name: 'bad asset pattern', text: rule('').replace("'plant-a/**'", "'plant-a/**/plc'"), problems: ['8:14: asset pattern "**" may only end a pattern'] },
    { name: 'bad state', text: rule('    conditions: { asset_state: [broken] }'), problems: ['11:33: rules.0.conditions.asset_state.0: expected one of "running", "maintenance", "stopped", "offline"'] },
    { name: 'bad clock', text: rule("    conditions: { time_of_day: { from: '6am', to: '22:00' } }"), problems: ['11:40: rules.0.conditions.time_of_day.from: expected a clock time HH:MM, such as 06:00 or 22:30'] },
    { name: 'empty time of day', text: rule("    conditions: { time_of_day: { from: '06:00', to: '06:00' } }"), problems: ['11:53: time_of_day must not start and end at the same time'] },
    { name: 'unknown time zone', text: rule("    conditions: { time_of_day: { from: '06:00', to: '22:00', timezone: Mars/Olympus } }"), problems: ['11:72: "Mars/Olympus" is not a time zone; expected an IANA name such as Europe/Berlin'] },
    { name: 'unknown ticket system', text: rule('    ticket: { systems: [jira] }'), problems: ['11:25: unknown ticket system "jira"; tickets.formats names workorder'] },
    { name: 'approval from nobody', text: rule('    approval: { count: 2 }'), problems: ['11:15: say who approves: from_roles, from_owner_group: true, or both'] },
    { name: 'approval of the wrong shape', text: rule('    approval: always'), problems: ['11:15: rules.0.approval: expected "none" or { count, from_roles and/or from_owner_group }'] },
    { name: 'duplicate rule names', text: rule('  - { name: r1, who: { roles: [a] }, assets: [x], scopes: [read], max_ttl: 1h }'), problems: ['11:13: rule name "r1" is used twice'] },
    { name: 'duplicate keys', text: rule('    max_ttl: 2h'), problems: ['11:5: Map keys must be unique'] },
    { name: 'bad regular expression', text: rule('').replace("'^WO-[0-9]{6}$'", "'^WO-[0-9'"), problems: ['4:37: not a valid regular expression: ^WO-[0-9'] },
    {
      name: 'break-glass: TTL over the hard cap, bad notify target, missing review_due',
      text: rule("break_glass:\n  who: { roles: [shift-lead] }\n  assets: ['plant-a/**']\n  scopes: [control]\n  max_ttl: 8h\n  notify: [security@example.com]\n"),
      problems: ['12:3: break_glass: missing "review_due"'],
    },
    {
      name: 'break-glass: TTL over the hard cap and a bad notify target',
      text: rule("break_glass:\n  who: { roles: [shift-lead] }\n  assets: ['plant-a/**']\n  scopes: [control]\n  max_ttl: 8h\n  notify: [security@example.com, 'https://hooks.example.com/x']\n  review_due: 24h\n"),
      problems: [
        '15:12: break-glass max_ttl must be more than 0 and at most 4h',
        '16:12: "security@example.com" is not a notification target; expected mailto:someone@example.com, https://hooks.example.com/..., or role:NAME',
      ],
    },
    { name: 'wrong version', text: rule('').replace('version: 1', 'version: 2'), problems: ['1:10: version: must be equal to constant'] },
    { name: 'several problems, in file order', text: rule('    cache: sometimes\n    exclusive: 1'), problems: ['11:12: rules.0.cache: must be boolean', '12:16: rules.0.exclusive: must be boolean'] },
  ]
  it.each(cases)('$name', ({ text, problems }) => {
    expect(problemsOf(text)).toEqual(problems)
  })

  it('a JSON policy loads on the fast path, and its mistakes are still located', () => {
    const doc = { version: 1, rules: [{ name: 'r1', who: { roles: ['a'] }, assets: ['plant-a/**'], scopes: ['read'], max_ttl: '1h' }] }
    expect(parsePolicy(JSON.stringify(doc)).rules[0].maxTtlSeconds).toBe(3600)
    doc.rules[0].assets = ['plant-a/**/x']
    expect(problemsOf(JSON.stringify(doc, null, 2))).toEqual(['12:9: asset pattern "**" may only end a pattern'])
  })

  it('the file name is part of every problem', () => {
    expect(() => parsePolicy('version: 1\n', 'site/policy.yaml')).toThrow(/^site\/policy.yaml:1:1: missing "rules"$/)
  })
})

describe('no policy text crashes the loader', () => {
  const good = rule("    conditions: { time_of_day: { from: '06:00', to: '22:00' }, in_maintenance_window: true }\n    approval: { count: 1, from_owner_group: true }")
  it('a stray "*" (a YAML alias to nothing) is a located error, not a crash', () => {
    // Found by the property below: a cut that leaves `*$'` where a quoted pattern was.
    const text = "version: 1\ntickets:\n  formats:\n    - { system: workorder,*$' }\nrules: []\n"
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(PolicyLoadError)
    try {
      parsePolicy(text, 'p.yaml')
    } catch (error) {
      expect((error as PolicyLoadError).problems[0]).toMatchObject({ line: 4, message: expect.stringMatching(/alias/) })
    }
  })

  it('random damage to a valid policy yields a policy or a PolicyLoadError, nothing else', () => {
    fc.assert(
      fc.property(fc.nat(good.length), fc.nat(40), fc.string({ maxLength: 12 }), (at, cut, insert) => {
        const text = good.slice(0, at) + insert + good.slice(Math.min(good.length, at + cut))
        try {
          parsePolicy(text, 'p.yaml')
        } catch (error) {
          expect(error).toBeInstanceOf(PolicyLoadError)
          for (const p of (error as PolicyLoadError).problems) {
            expect(p.line).toBeGreaterThanOrEqual(1)
            expect(p.column).toBeGreaterThanOrEqual(1)
            expect(p.message.length).toBeGreaterThan(3)
          }
        }
      }),
      { numRuns: 500 },
    )
  })

  it('arbitrary JSON-shaped documents are refused cleanly', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parsePolicy(JSON.stringify(value), 'p.yaml')
        } catch (error) {
          expect(error).toBeInstanceOf(PolicyLoadError)
        }
      }),
      { numRuns: 300 },
    )
  })
})
