// The optional store of `jit admin ticket …`: with the data folder (or the brokers' PostgreSQL
// database), the register on the broker host; without either, the register over the API as this
// device's user (admin or maintenance-planner).
import { Flags } from '@oclif/core'
import { databaseFlags } from '../operator.js'

export const registerDataFlag = {
  data: Flags.string({ env: 'JIT_DATA', summary: 'The broker data folder (on the broker host). Without it (or --database), the command goes through the broker API.' }),
  ...databaseFlags,
}
