import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DataFolderInUse, RecordJournal } from '../../../src/gateway/record-journal.js'

const opened = (id: string, startedAt: string) => ({ connectionId: id, sessionId: 'ses_1', asset: 'plant-a/plc-07', from: '127.0.0.1:50000', startedAt })

describe('the record journal', () => {
  it('gives back what a killed run owed: an end it saw as it was, an end it did not see as gateway-stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-journal-'))
    const lines: string[] = []
    const { journal } = await RecordJournal.open(dir, (line) => lines.push(line))
    await journal.write({ opened: opened('con_b', '2027-01-15T08:00:02.000Z'), counts: { bytesToAsset: 5, bytesFromAsset: 7 } })
    const ended = { ...opened('con_a', '2027-01-15T08:00:01.000Z'), endedAt: '2027-01-15T08:00:03.000Z', bytesToAsset: 1, bytesFromAsset: 2, endCause: 'client-closed' as const }
    await journal.write({ opened: opened('con_a', '2027-01-15T08:00:01.000Z'), closed: ended })
    writeFileSync(join(dir, 'alive'), '2027-01-15T08:00:09.000Z\n')
    writeFileSync(join(dir, 'connections', 'con_x.json'), '{"opened":') // cut off mid-write by hand
    writeFileSync(join(dir, 'connections', 'con_y.json.tmp'), 'half')
    expect(statSync(join(dir, 'connections', 'con_b.json')).mode & 0o777).toBe(0o600)

    // The previous run's lock holds this process's own id (as after a restart that reused it): taken over.
    const again = await RecordJournal.open(dir, (line) => lines.push(line))
    expect(again.owed.map((kept) => kept.closed)).toEqual([
      ended,
      { ...opened('con_b', '2027-01-15T08:00:02.000Z'), endedAt: '2027-01-15T08:00:09.000Z', bytesToAsset: 5, bytesFromAsset: 7, endCause: 'gateway-stopped', recovered: true },
    ])
    // The closed record is on disk, so a second kill does not lose it either; the debris is gone.
    expect(JSON.parse(readFileSync(join(dir, 'connections', 'con_b.json'), 'utf8')).closed.endCause).toBe('gateway-stopped')
    expect(readdirSync(join(dir, 'connections')).sort()).toEqual(['con_a.json', 'con_b.json'])
    expect(lines.join('\n')).toMatch(/con_x\.json .* is not a record; removed/)
    await again.journal.remove('con_a')
    await again.journal.close()
    expect(readdirSync(join(dir, 'connections'))).toEqual(['con_b.json'])
  })

  it('refuses a folder another running gateway holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-journal-'))
    writeFileSync(join(dir, 'gateway.lock'), `${process.ppid}\n`)
    const refused = await RecordJournal.open(dir, () => {}).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(DataFolderInUse)
    expect((refused as Error).message).toBe(`another gateway (process ${process.ppid}) uses the data folder ${dir}`)
  })
})
