import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'

export default class Credential extends JitCommand {
  static summary = 'Print a cached credential, for scripts. The one command that prints a secret on purpose.'
  static examples = ['eval "$(<%= config.bin %> credential ses_4f... --format env)"', '<%= config.bin %> credential ses_4f... --format raw | my-tool --token-stdin']
  static args = { id: Args.string({ required: true, description: 'Session id' }) }
  static flags = { format: Flags.string({ options: ['env', 'json', 'raw'], default: 'env', summary: 'env: export lines; json: a document; raw: the token alone.' }) }

  async run() {
    const { args, flags } = await this.parse(Credential)
    const { cachedCredential, credentialEnv } = await import('../src/cli/sessions/local-sessions.js')
    const entry = await cachedCredential(this.cli(flags), args.id)
    const env = credentialEnv(entry)
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
