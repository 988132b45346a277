import { Flags } from '@oclif/core'
import { readFileSync } from 'node:fs'
import { databaseFlags } from '../../src/broker/operator.js'
import { JitCommand } from '../../src/cli/base-command.js'
import { AuditChainBrokenError, UsageError } from '../../src/errors.js'
import type { AuditVerifyResult } from '../../src/wire/api.js'

export default class AuditVerify extends JitCommand {
  static reviewGate = false
  static summary = 'Check the audit log: its hash chain, and that it still fits every signed checkpoint (none of the newest records deleted, nothing rewritten).'
  static description = [
    'Asks the broker (admin or security), or with --data reads a broker data folder directly (on the broker host, also when it is down; with --database, the log in that PostgreSQL database, checked with the key in --data), or with --file checks a `jit audit export --format jsonl` copy or a `jit report session` evidence file on its own.',
    'The newest checkpoint seen is kept in the config folder and checked on the next run; --checkpoint adds one held elsewhere.',
    'A file alone proves only that it is consistent with itself: anchor it with --checkpoint (a checkpoint kept from the broker) and/or --key or --jwks (the broker\'s public key); the output says what anchored it (anchoredBy in --json, empty when nothing did).',
    'Exits 10 when the chain is broken.',
  ].join(' ')
  static examples = ['<%= config.bin %> audit verify', '<%= config.bin %> audit verify --data /var/lib/jit', '<%= config.bin %> audit verify --data /var/lib/jit --database postgres://jit@db.plant:5432/jit', '<%= config.bin %> audit verify --file audit.jsonl --checkpoint held.jws --jwks broker-jwks.json']
  static flags = {
    data: Flags.string({ env: 'JIT_DATA', summary: 'Verify this broker data folder directly.', exclusive: ['file'] }),
    file: Flags.string({ summary: 'Verify a JSON-lines export on its own.', exclusive: ['data'] }),
    ...databaseFlags,
    checkpoint: Flags.string({ summary: 'A file holding a signed checkpoint (compact JWS) kept outside the database (or, with --file, outside the export).' }),
    key: Flags.string({ dependsOn: ['file'], exclusive: ['jwks'], summary: 'With --file: the broker\'s public signing key (a JWK or PEM file), known from elsewhere; the export must be signed with it.' }),
    jwks: Flags.string({ dependsOn: ['file'], exclusive: ['key'], summary: 'With --file: the broker\'s key set (its /.well-known/jwks.json, saved); the export must be signed with a key in it.' }),
  }

  async run(): Promise<AuditVerifyResult> {
    const { flags } = await this.parse(AuditVerify)
    if (flags.database && !flags.data) throw new UsageError('--database needs --data: the folder of the broker\'s signing key, which checks the checkpoints.')
    const extra = flags.checkpoint ? [readText(flags.checkpoint).trim()] : []
    let result: AuditVerifyResult
    if (flags.file) {
      const [{ verifyExport }, { isEvidenceFile, verifyEvidence }, { pinnedKeys }] = await Promise.all([import('../../src/audit/export.js'), import('../../src/audit/evidence.js'), import('../../src/cli/audit/pinned-key.js')])
      const text = readText(flags.file)
      // An evidence file (jit report session) carries a segment of the chain, not all of it.
      result = (isEvidenceFile(text) ? verifyEvidence : verifyExport)(text, { keys: await pinnedKeys(flags), checkpoints: extra })
    } else if (flags.data) {
      const [{ verifyAudit, dataFolderKid }, held] = await Promise.all([import('../../src/broker/audit-verify.js'), import('../../src/cli/audit/held-checkpoints.js')])
      const kid = await dataFolderKid(flags.data)
      const kept = kid ? held.heldCheckpoint(kid) : undefined
      result = await verifyAudit({ dataDir: flags.data, database: flags.database, passwordFile: flags['database-password-file'] }, [...extra, ...(kept ? [kept] : [])])
      if (result.ok && kid && result.checkpoint) held.keepCheckpoint(kid, result.checkpoint)
    } else {
      const { verifyThroughBroker } = await import('../../src/cli/audit/verify-remote.js')
      result = await verifyThroughBroker(this.cli(flags), extra)
    }
    if (!result.ok) {
      throw new AuditChainBrokenError(`Audit chain broken at record ${result.firstBad!.seq}: ${result.firstBad!.problem}.`, ['Treat the log after this point as untrusted and investigate who had write access to the store.'], { ...result })
    }
    if (!this.jsonEnabled()) {
      const { ui } = await import('../../src/cli/output.js')
      const anchored = result.anchoredAt ? `, fits the checkpoint of record ${result.anchoredAt.seq} signed at ${result.anchoredAt.at}` : ', no signed checkpoint yet'
      ui.ok(`Audit chain intact: ${result.events} records${anchored}.`)
      if (result.anchoredBy) for (const line of fileAnchoring(result)) ui.warn(line)
    }
    return result
  }
}

/** What a file's verdict rests on, said plainly: a file alone proves only that it is consistent with itself. */
function fileAnchoring(result: AuditVerifyResult): string[] {
  const lines: string[] = []
  if (result.anchoredBy!.length === 0) {
    lines.push('Nothing outside the file anchors it: whoever wrote it could have cut or rewritten it and signed it again with a key of their own.')
    lines.push('Check it against --checkpoint FILE (a checkpoint kept from the broker) or --key/--jwks (the broker\'s public key).')
  } else if (!result.anchoredBy!.includes('checkpoint')) {
    lines.push('Signed by the pinned key; records newer than its newest checkpoint could still have been cut. --checkpoint with one kept from the broker shows they were not.')
  }
  const [signed, last] = [result.anchoredAt?.seq ?? 0, result.head?.seq ?? 0]
  if (result.anchoredBy!.length > 0 && last > signed) lines.push(`Records ${signed + 1} to ${last} are covered by no checkpoint yet.`)
  return lines
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    throw new UsageError(`Cannot read ${file}.`)
  }
}
