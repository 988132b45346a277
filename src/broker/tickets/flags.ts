// The optional data folder of `jit admin ticket …`: with it, the register on the broker host;
// without it, the register over the API as this device's user (admin or maintenance-planner).
import { Flags } from '@oclif/core'

export const registerDataFlag = {
  data: Flags.string({ env: 'JIT_DATA', summary: 'The broker data folder (on the broker host). Without it, the command goes through the broker API.' }),
}
