import { Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import { UsageError } from '../src/errors.js'

export default class Login extends JitCommand {
  static reviewGate = false
  static summary = 'Enroll this device with a broker; the device key goes to the OS keychain.'
  static description = 'The one-time enrollment code comes from the operator (jit admin enroll-code). It can also be given as JIT_ENROLL_CODE or typed at the prompt, so it need not appear in your shell history.\n\nWith --oidc you sign in with the plant\'s identity provider instead: the browser opens at its sign-in page (the URL is printed on stderr too) and comes back to this computer; the device is enrolled in the same step. --device-code is for a terminal without a browser: you sign in on another device with a short code (opt-in, as such a code can be phished).'
  static examples = [
    '<%= config.bin %> login --broker https://broker.plant-a.example:8443 --code ABCD-EFGH-JKLM-NPQR',
    'JIT_ENROLL_CODE=... <%= config.bin %> login --broker http://127.0.0.1:8443',
    '<%= config.bin %> login --broker https://broker.plant-a.example:8443 --oidc',
    '<%= config.bin %> login --broker https://broker.plant-a.example:8443 --oidc --device-code',
  ]
  static flags = {
    code: Flags.string({ env: 'JIT_ENROLL_CODE', summary: 'One-time enrollment code from the operator.', exclusive: ['oidc'] }),
    'device-name': Flags.string({ summary: 'Name of this device as the broker will show it (default: host name).' }),
    oidc: Flags.boolean({ summary: "Sign in with the plant's identity provider (browser, authorization code with PKCE)." }),
    'device-code': Flags.boolean({ summary: 'With --oidc: sign in on another device with a code (no browser here).', dependsOn: ['oidc'] }),
    'no-browser': Flags.boolean({ summary: 'With --oidc: print the sign-in URL, do not open a browser.', dependsOn: ['oidc'] }),
    provider: Flags.string({ summary: 'With --oidc: which identity provider, when the broker trusts several.', dependsOn: ['oidc'] }),
  }

  async run() {
    const { flags } = await this.parse(Login)
    const broker = flags.broker
    if (!broker) throw new UsageError('Which broker? Pass --broker URL (or JIT_BROKER).')
    if (flags.oidc) {
      const { oidcLogin } = await import('../src/cli/device/oidc-login.js')
      const options = { broker, provider: flags.provider, deviceName: flags['device-name'], deviceCode: flags['device-code'], noBrowser: flags['no-browser'], say: (line: string) => process.stderr.write(`${line}\n`) }
      return this.done(await oidcLogin(this.cli(flags), options), 'Signed in')
    }
    let code = flags.code
    if (!code && this.canPrompt(flags)) {
      const { password } = await import('@inquirer/prompts')
      code = await password({ message: 'Enrollment code' })
    }
    if (!code) throw new UsageError('An enrollment code is needed.', ['Pass --code CODE or set JIT_ENROLL_CODE.'])
    const { login } = await import('../src/cli/device/login.js')
    return this.done(await login(this.cli(flags), broker, code, flags['device-name']), 'Enrolled this device')
  }

  private async done<T extends { user: string; roles: string[]; broker: string; deviceId: string }>(result: T, what: string): Promise<T> {
    if (!this.jsonEnabled()) {
      const { ui } = await import('../src/cli/output.js')
      ui.ok(`${what} as ${result.user} (${result.roles.join(', ')}) with ${result.broker}; device ${result.deviceId}.`)
    }
    return result
  }
}
