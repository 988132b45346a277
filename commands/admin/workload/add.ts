import { Args, Flags } from '@oclif/core'
import { databaseFlags, dataOrApiFlag, namesStore, withStore } from '../../../src/broker/operator.js'
import { JitCommand } from '../../../src/cli/base-command.js'
import type { WorkloadRecord } from '../../../src/broker/store/repositories/workloads.js'

export default class AdminWorkloadAdd extends JitCommand {
  static reviewGate = false
  static summary = 'Register a workload (a machine or job that gets access by itself), with the person or group answerable for it.'
  static description = 'Its SPIFFE ID is spiffe://TRUST-DOMAIN/workload/NAME. On the data folder the trust domain is --trust-domain (the broker\'s, set at its start); through the admin API it is the broker\'s own. Then make a join token: jit admin workload join-token NAME.'
  static examples = ['<%= config.bin %> admin workload add fw-updater --owner alice --attest join-token --data /var/lib/jit --trust-domain plant-a.example', '<%= config.bin %> admin workload add backup --owner group:plant-ops --attest join-token']
  static args = { name: Args.string({ required: true }) }
  static flags = {
    ...dataOrApiFlag,
    ...databaseFlags,
    owner: Flags.string({ required: true, summary: 'The person (user name) or group (group:ROLE) answerable for it.' }),
    attest: Flags.string({ required: true, options: ['join-token'], summary: 'How it proves itself.' }),
    'trust-domain': Flags.string({ env: 'JIT_TRUST_DOMAIN', summary: 'The broker\'s SPIFFE trust domain (on the data folder; default jit.local).' }),
  }

  async run(): Promise<WorkloadRecord> {
    const { args, flags } = await this.parse(AdminWorkloadAdd)
    const spec = { name: args.name, owner: flags.owner, attest: flags.attest }
    const { DEFAULT_TRUST_DOMAIN } = await import('../../../src/broker/spiffe/spiffe-id.js')
    const result = namesStore(flags)
      ? await withStore(flags, (store, admin) => admin.addWorkload(store, { ...spec, trustDomain: flags['trust-domain'] ?? DEFAULT_TRUST_DOMAIN }))
      : await (await this.cli(flags).client()).post<WorkloadRecord>('/admin/workloads', spec)
    if (!this.jsonEnabled()) (await import('../../../src/cli/output.js')).ui.ok(`Registered ${result.name} as ${result.spiffeId}, owned by ${result.owner}. Next: jit admin workload join-token ${result.name}`)
    return result
  }
}
