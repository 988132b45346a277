import { describe, expect, it } from 'vitest'
import { describeDelivery, outcomeOf, planTarget, undeliverable } from '../../../../src/broker/breakglass/notify-plan.js'

describe('which break-glass notification targets the broker can deliver', () => {
  it('security and admin roles read jit reviews; https targets are webhooks; mail and other roles reach nobody', () => {
    expect(planTarget('role:security')).toEqual({ target: 'role:security', via: 'jit reviews' })
    expect(planTarget('role:admin').via).toBe('jit reviews')
    expect(planTarget('https://hooks.example.com/x').via).toBe('webhook')
    expect(planTarget('mailto:sec@example.com')).toMatchObject({ problem: expect.stringMatching(/sends no mail/) })
    expect(planTarget('role:shift-lead')).toMatchObject({ problem: expect.stringMatching(/nothing reaches role shift-lead/) })
    expect(undeliverable(['role:security', 'mailto:a@b.example', 'role:shift-lead']).map((p) => p.target)).toEqual(['mailto:a@b.example', 'role:shift-lead'])
  })

  it('an inbox role is delivered only while someone holds it', () => {
    expect(outcomeOf(planTarget('role:security'), () => 2)).toEqual({ target: 'role:security', status: 'delivered', via: 'jit reviews' })
    expect(outcomeOf(planTarget('role:security'), () => 0)).toMatchObject({ status: 'undeliverable', detail: 'no user has the security role' })
    expect(outcomeOf(planTarget('https://siem.example/in'), () => 0)).toEqual({ target: 'https://siem.example/in', status: 'queued', via: 'webhook' })
  })

  it('the start-up statement names each channel, and warns for what nothing delivers', () => {
    const { lines, warnings } = describeDelivery(['role:security', 'mailto:a@b.example'], [{ url: 'https://hooks.chat.example/T/B/secret', style: 'chat' }], () => 1)
    expect(lines).toEqual(['role:security → jit reviews (1 user with the role)', 'every event → chat webhook hooks.chat.example'])
    expect(warnings).toEqual([expect.stringMatching(/^mailto:a@b\.example: NOT DELIVERED, this broker sends no mail/)])
    expect(JSON.stringify(lines)).not.toContain('secret')
  })
})
