import { Flags } from '@oclif/core'
import { JitCommand } from '../src/cli/base-command.js'
import { UsageError } from '../src/errors.js'

export default class Login extends JitCommand {
  static reviewGate = false
  static summary = 'Enroll this device with a broker; the device key goes to the OS keychain.'
  static description = 'The one-time enrollment code comes from the operator (jit admin enroll-code). It can also be given as JIT_ENROLL_CODE or typed at the prompt, so it need not appear in your shell history.'
  static examples = ['<%= config.bin %> login --broker https://broker.plant-a.example:8443 --code ABCD-EFGH-JKLM-NPQR', 'JIT_ENROLL_CODE=... <%= config.bin %> login --broker http://127.0.0.1:8443']
  static flags = {
    code: Flags.string({ env: 'JIT_ENROLL_CODE', summary: 'One-time enrollment code from the operator.' }),
    'device-name': Flags.string({ summary: 'Name of this device as the broker will show it (default: host name).' }),
  }

  async run() {
    const { flags } = await this.parse(Login)
    const broker = flags.broker
    if (!broker) throw new UsageError('Which broker? Pass --broker URL (or JIT_BROKER).')
    let code = flags.code
    if (!code && this.canPrompt(flags)) {
      const { password } = await import('@inquirer/prompts')
      code = await password({ message: 'Enrollment code' })
    }
    if (!code) throw new UsageError('An enrollment code is needed.', ['Pass --code CODE or set JIT_ENROLL_CODE.'])
    const { login } = await import('../src/cli/device/login.js')
    const result = await login(this.cli(flags), broker, code, flags['device-name'])
    if (!this.jsonEnabled()) {
      const { ui } = await import('../src/cli/output.js')
      ui.ok(`Enrolled this device as ${result.user} (${result.roles.join(', ')}) with ${result.broker}; device ${result.deviceId}.`)
    }
    return result
  }
}
