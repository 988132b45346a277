import { JitCommand } from '../src/cli/base-command.js'
import type { LogoutResult } from '../src/cli/device/logout.js'

export default class Logout extends JitCommand {
  static summary = 'Revoke my active sessions on this device, clear its cached credentials and device key, and deregister it.'
  static description = 'The broker goes first: if it cannot be reached (exit 5) nothing is deleted, so you can try again. Afterwards the old device key is refused; enroll again with jit login.'
  static examples = ['<%= config.bin %> logout', '<%= config.bin %> logout --profile vendor --json']

  async run(): Promise<LogoutResult> {
    const { flags } = await this.parse(Logout)
    const { logout } = await import('../src/cli/device/logout.js')
    const result = await logout(this.cli(flags))
    if (!this.jsonEnabled()) {
      const { ui } = await import('../src/cli/output.js')
      for (const s of result.revoked) ui.ok(`Revoked ${s.id} (${s.scope} on ${s.asset}).`)
      ui.ok(`Logged out: device ${result.deviceId} deregistered at ${result.broker}; ${result.credentialsCleared} cached credential(s) and the device key removed from the keychain.`)
    }
    return result
  }
}
