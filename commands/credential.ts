import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'

export default class Credential extends JitCommand {
  static summary = 'Print a cached credential, for scripts. The one command that prints a secret on purpose.'
  static examples = [
    'eval "$(<%= config.bin %> credential ses_4f... --format env)"',
    '<%= config.bin %> credential ses_4f... --format raw | my-tool --token-stdin',
    'eval "$(<%= config.bin %> credential ses_4f... --target)"; psql',
  ]
  static args = { id: Args.string({ required: true, description: 'Session id' }) }
  static flags = {
    format: Flags.string({ options: ['env', 'json', 'raw'], default: 'env', summary: 'env: export lines; json: a document; raw: the token alone.' }),
    target: Flags.boolean({ summary: "The session's own account on the asset's target instead (PGHOST, PGUSER, PGPASSWORD, ...): env or json." }),
  }

  async run() {
    const { args, flags } = await this.parse(Credential)
    const { cachedCredential, credentialEnv } = await import('../src/cli/sessions/local-sessions.js')
    const entry = await cachedCredential(this.cli(flags), args.id)
    if (flags.target) {
      const { UsageError } = await import('../src/errors.js')
      if (!entry.target) throw new UsageError(`No target login cached for ${args.id}: its asset names no target, or the login went to a jit exec that held it in memory.`, ['jit exec / jit shell hand it to the command as PGHOST, PGUSER, PGPASSWORD, ...'])
      if (flags.format === 'raw') throw new UsageError('--target prints env or json, not raw.')
      const doc = { sessionId: entry.session.id, target: entry.target.target, account: entry.target.account, env: entry.target.env }
      if (this.jsonEnabled()) return doc
      if (flags.format === 'json') this.log(JSON.stringify(doc, null, 2))
      else for (const [name, value] of Object.entries(entry.target.env)) this.log(`export ${name}='${value.replace(/'/g, `'\\''`)}'`)
      return undefined
    }
    const env = credentialEnv({ session: entry.session, credential: entry.credential })
    if (this.jsonEnabled() || flags.format === 'json') {
      const doc = { sessionId: entry.session.id, asset: entry.session.asset, scope: entry.session.scope, ticket: entry.session.ticket, expiresAt: entry.session.expiresAt, token: entry.credential }
      if (this.jsonEnabled()) return doc
      this.log(JSON.stringify(doc, null, 2))
    } else if (flags.format === 'raw') {
      process.stdout.write(`${entry.credential}\n`)
    } else {
      for (const [name, value] of Object.entries(env)) this.log(`export ${name}='${value.replace(/'/g, `'\\''`)}'`)
    }
    return undefined
  }
}
