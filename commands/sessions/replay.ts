import { Args, Flags } from '@oclif/core'
import { JitCommand } from '../../src/cli/base-command.js'
import { UsageError } from '../../src/errors.js'
import type { ReplayResult } from '../../src/cli/sessions/replay.js'

export default class SessionsReplay extends JitCommand {
  static summary = 'Play back the terminal recording a gateway kept for a session (asciicast v2), after checking it against its audit record.'
  static description = 'Reads the files from the gateway\'s recordings folder (--recordings); each must match the SHA-256 in its connection\'s audit record, or nothing is played.'
  static examples = ['<%= config.bin %> sessions replay ses_4f... --recordings /var/lib/jit/recordings', '<%= config.bin %> sessions replay ses_4f... --recordings ./recordings --speed 4']
  static args = { id: Args.string({ required: true, description: 'Session id' }) }
  static flags = {
    recordings: Flags.string({ env: 'JIT_GATEWAY_RECORDINGS', required: true, summary: 'The gateway\'s recordings folder.' }),
    speed: Flags.string({ default: '1', summary: 'Playback speed (2 = twice as fast).' }),
    'max-idle': Flags.string({ default: '2', summary: 'Longest pause played, in seconds.' }),
  }

  async run(): Promise<ReplayResult> {
    const { args, flags } = await this.parse(SessionsReplay)
    const speed = Number(flags.speed)
    const maxIdle = Number(flags['max-idle'])
    if (!(speed > 0 && speed <= 1000)) throw new UsageError(`--speed ${flags.speed} is not a speed between 0 and 1000.`)
    if (!(maxIdle >= 0 && maxIdle <= 3600)) throw new UsageError(`--max-idle ${flags['max-idle']} is not between 0 and 3600 seconds.`)
    const { replaySession } = await import('../../src/cli/sessions/replay.js')
    // Under --json only the summary goes to stdout; the terminal output is not played.
    const write = this.jsonEnabled() ? undefined : (text: string) => process.stdout.write(text)
    return replaySession(this.cli(flags), args.id, { recordings: flags.recordings, speed, maxIdle, write })
  }
}
