import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import type { PickupResult } from '../../src/cli/sessions/pickup.js'

export default class SessionsPickup extends JitCommand {
  static summary = 'Collect the credential of a request made with --no-wait, once it is approved (waits for the decision unless --no-wait).'
  static description = 'Exit codes: 0 approved and the credential cached, 4 denied / cancelled / expired / its session already ended, 8 still pending (--no-wait, or the wait timed out; the request stays open).'
  static examples = ['<%= config.bin %> sessions pickup req_4f...', '<%= config.bin %> sessions pickup req_4f... --no-wait --json']
  static args = { id: Args.string({ required: true, description: 'Request id (from jit request --no-wait or jit requests)' }) }
  static flags = {
    'no-wait': Flags.boolean({ summary: 'Answer at once: exit 8 while the request is still pending.' }),
    timeout: Flags.string({ default: '1h', summary: 'How long to wait for an approver; the request stays open afterwards.' }),
  }

  async run(): Promise<PickupResult> {
    const { args, flags } = await this.parse(SessionsPickup)
    const [{ pickUp }, { ui, spinner, timeLeft }, { parseDuration }] = await Promise.all([
      import('../../src/cli/sessions/pickup.js'),
      import('../../src/cli/output.js'),
      import('../../src/util/ttl.js'),
    ])
    let wait: ReturnType<typeof spinner> | undefined
    const result = await pickUp(this.cli(flags), args.id, {
      wait: !flags['no-wait'],
      timeoutSeconds: parseDuration(flags.timeout, 'timeout'),
      onPending: ({ request }) => {
        wait = spinner(`Waiting for approval of ${request.id}; Ctrl-C stops waiting (the request stays open)`)
      },
      onDone: () => wait?.stop(),
    })
    if (!this.jsonEnabled()) {
      const s = result.session
      ui.ok(`Session ${s.id}: ${s.scope} on ${s.asset} for ${timeLeft(Date.now() + result.expiresIn * 1000)}, credential cached in the keychain.`)
      ui.info(`Use it: jit credential ${s.id} --format env   ·   End it: jit revoke ${s.id}`)
    }
    return result
  }
}
