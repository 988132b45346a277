import { Flags } from '@oclif/core'
import { accessFlags } from '../src/cli/access-flags.js'
import { JitCommand } from '../src/cli/base-command.js'
import { PendingError, UsageError } from '../src/errors.js'

export default class Request extends JitCommand {
  static opensSession = true
  static summary = 'Ask for access to one asset for one ticket; waits for approval and caches the credential.'
  static description = 'Exit codes: 0 granted, 2 bad input, 3 denied by policy, 4 denied by an approver / cancelled / timed out, 8 pending (--no-wait).'
  static examples = [
    '<%= config.bin %> request --ticket WO-104233 --asset plant-a/line-3/cell-2/plc-07 --scope diagnose --ttl 30m --reason "conveyor fault E42"',
    '<%= config.bin %> request --ticket WO-104233 --asset plant-a/line-3/cell-2/plc-07 --scope control --reason "recipe change" --no-wait',
  ]
  static flags = {
    ...accessFlags,
    'no-wait': Flags.boolean({ summary: 'Submit and exit 8, printing the request id on stdout, instead of waiting for approval; collect it later with jit sessions pickup ID.' }),
    timeout: Flags.string({ default: '1h', summary: 'How long to wait for an approver.' }),
  }

  async run() {
    const { flags } = await this.parse(Request)
    if (!flags.reason) throw new UsageError('Say why you need the access: --reason "..."')
    const cli = this.cli(flags)
    const [{ requestAccess }, { ui, spinner, timeLeft }, { parseDuration }] = await Promise.all([
      import('../src/cli/sessions/request-access.js'),
      import('../src/cli/output.js'),
      import('../src/util/ttl.js'),
    ])
    let wait: ReturnType<typeof spinner> | undefined
    const result = await requestAccess(cli, { ...flags, reason: flags.reason }, {
      noWait: flags['no-wait'],
      timeoutSeconds: parseDuration(flags.timeout, 'timeout'),
      onPending: ({ request }) => {
        wait = spinner(`Waiting for approval of ${request.id} (${request.approvalsNeeded} from ${request.approverRoles.join(' or ')}); Ctrl-C cancels`)
      },
      onDone: () => wait?.stop(),
    }).catch((error: Error) => {
      // Left pending (--no-wait): the request id is the data, for REQ=$(jit request ... --no-wait).
      if (error instanceof PendingError && !this.jsonEnabled()) this.log(String(error.details.requestId))
      throw error
    })
    const grant = result.grant!
    const cached = grant.session.cacheAllowed
    if (cached) await cli.cache().put(grant)
    if (!this.jsonEnabled()) {
      ui.ok(`Session ${grant.session.id}: ${grant.session.scope} on ${grant.session.asset} for ${timeLeft(Date.now() + grant.expiresIn * 1000)}${cached ? ', credential cached in the keychain' : ''}.`)
      // The broker refuses a no-cache rule to a plain request; this covers a policy changed while it waited.
      if (!cached) ui.warn(`Policy forbids caching this credential: end it (jit revoke ${grant.session.id}) and use jit exec, jit shell or jit connect.`)
      else ui.info(`Use it: jit credential ${grant.session.id} --format env   ·   End it: jit revoke ${grant.session.id}`)
    }
    // The credential itself is printed only by `jit credential`, which exists for that.
    return { request: result.request, session: grant.session, cached }
  }
}
