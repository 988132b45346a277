import { Flags } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'
import type { DeviceListing } from '../../../src/broker/offboarding.js'

export default class AdminDeviceList extends JitCommand {
  static reviewGate = false
  static summary = 'List enrolled devices: whose, their name, when enrolled, whether revoked.'
  static examples = ['<%= config.bin %> admin device list --user vic']
  static flags = { ...dataOrApiFlag, ...databaseFlags, user: Flags.string({ summary: 'Only this user\'s devices.' }) }

  async run(): Promise<{ devices: DeviceListing[] }> {
    const { flags } = await this.parse(AdminDeviceList)
    const devices = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.listDevices(store, flags.user))
      : (await (await this.cli(flags).client()).get<{ devices: DeviceListing[] }>(`/admin/devices${flags.user ? `?${new URLSearchParams({ user: flags.user })}` : ''}`)).devices
    if (!this.jsonEnabled()) {
      const { table } = await import('../../../src/cli/output.js')
      this.log(await table(['device', 'user', 'name', 'enrolled', 'revoked'], devices.map((d) => [d.id, d.user, d.name, d.createdAt, d.revokedAt ?? ''])))
    }
    return { devices }
  }
}
