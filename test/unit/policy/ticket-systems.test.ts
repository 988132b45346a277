// The policy's ticket systems: which connector, its settings with bounded caching and polling,
// credentials only as references (environment or file), and each rule's on_unreachable.
import { describe, expect, it } from 'vitest'
import { parsePolicy, PolicyLoadError } from '../../../src/policy/load.js'

const policy = (systems: string, ticket = '') => `version: 1
tickets:
  formats:
    - { system: workorder, pattern: '^WO-[0-9]{6}$' }
    - { system: change, pattern: '^CHG[0-9]{7}$' }
  systems:
${systems}
rules:
  - name: r1
    who: { roles: [technician] }
    assets: ['plant-a/**']
    scopes: [read]
    max_ttl: 1h
${ticket}`

function problemsOf(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyLoadError)
    return (error as PolicyLoadError).problems.map((p) => `${p.line}: ${p.message}`)
  }
  throw new Error('expected the policy to be refused')
}

describe('ticket systems in the policy', () => {
  it('compiles connectors with their defaults and each rule on_unreachable (deny unless said)', () => {
    const loaded = parsePolicy(policy(`    workorder: { connector: builtin }
    change:
      connector: servicenow
      url: https://plant-a.service-now.example/
      table: wm_order
      auth: { basic: { username: svc-jit, password: { env: SN_PASSWORD } } }
      cache_ttl: 2m
      poll_interval: 15s
      webhook_secret: { file: /etc/jit/change-secret }`, '    ticket: { on_unreachable: allow }'))
    expect(loaded.ticketSystems.workorder).toMatchObject({ connector: 'builtin', cacheTtlSeconds: 30, pollIntervalSeconds: 30, timeoutSeconds: 5, userFormat: '{user}' })
    expect(loaded.ticketSystems.change).toMatchObject({
      connector: 'servicenow',
      url: 'https://plant-a.service-now.example',
      table: 'wm_order',
      auth: { basic: { username: 'svc-jit', password: { env: 'SN_PASSWORD' } } },
      cacheTtlSeconds: 120,
      pollIntervalSeconds: 15,
      webhookSecret: { file: '/etc/jit/change-secret' },
    })
    expect(loaded.rules[0].ticket.onUnreachable).toBe('allow')
    expect(parsePolicy(policy('    workorder: { connector: builtin }')).rules[0].ticket.onUnreachable).toBe('deny')
  })

  it('refuses a system without a format, missing connector settings and unbounded caching, with their lines', () => {
    expect(problemsOf(policy(`    incident: { connector: builtin }
    change: { connector: servicenow, url: 'https://x.example', cache_ttl: 1h }`))).toEqual([
      '7: ticket system "incident" has no format; tickets.formats names workorder, change',
      '8: the servicenow connector needs auth',
      '8: the servicenow connector needs table',
      '8: cache_ttl must be between 0s and 600s',
    ])
  })

  it('takes credentials only as references, never written in the policy', () => {
    const hint = 'expected { env: VARIABLE } or { file: PATH }: a credential is named in the policy, never written in it'
    expect(problemsOf(policy(`    change: { connector: jira, url: 'https://x.example', asset_field: customfield_1, auth: { bearer: 'tok-123' } }`))).toEqual([`7: tickets.systems.change.auth.bearer: ${hint}`])
    expect(problemsOf(policy(`    change: { connector: jira, url: 'https://x.example', asset_field: customfield_1, auth: { bearer: { value: 'tok' } } }`))).toEqual(['7: tickets.systems.change.auth.bearer.value: unknown key "value"'])
  })

  it('refuses an unknown on_unreachable', () => {
    expect(problemsOf(policy('    workorder: { connector: builtin }', '    ticket: { on_unreachable: maybe }')).join('\n')).toMatch(/^\d+: rules\.0\.ticket\.on_unreachable/)
  })
})
