// For the Wine test only: Wine 8.0 has no bcryptprimitives.dll (it came in 8.13), and the
// keychain binding imports ProcessPrng from it. This writes the smallest x64 DLL that stands in:
// one section holding an export table whose only export, ProcessPrng, is forwarded to
// advapi32's SystemFunction036 (RtlGenRandom), which Wine has. No code of its own.
const FILE_ALIGN = 0x200
const SECTION_RVA = 0x1000

export function bcryptPrimitivesDll(): Buffer {
  const dll = Buffer.alloc(FILE_ALIGN * 2)
  // The export directory and its strings, at the start of the section.
  const names = { module: 'bcryptprimitives.dll', forward: 'advapi32.SystemFunction036', name: 'ProcessPrng' }
  const dir = 0 // offset in the section
  const functions = 40
  const nameTable = functions + 4
  const ordinals = nameTable + 4
  let strings = ordinals + 2
  const place = (text: string) => {
    const at = strings
    dll.write(`${text}\0`, FILE_ALIGN + at, 'latin1')
    strings += text.length + 1
    return SECTION_RVA + at
  }
  const moduleName = place(names.module)
  const forward = place(names.forward)
  const exportName = place(names.name)
  const size = strings
  const s = FILE_ALIGN + dir
  dll.writeUInt32LE(moduleName, s + 12)
  dll.writeUInt32LE(1, s + 16) // ordinal base
  dll.writeUInt32LE(1, s + 20) // functions
  dll.writeUInt32LE(1, s + 24) // names
  dll.writeUInt32LE(SECTION_RVA + functions, s + 28)
  dll.writeUInt32LE(SECTION_RVA + nameTable, s + 32)
  dll.writeUInt32LE(SECTION_RVA + ordinals, s + 36)
  // An address inside the export directory's range is a forwarder string, not code.
  dll.writeUInt32LE(forward, FILE_ALIGN + functions)
  dll.writeUInt32LE(exportName, FILE_ALIGN + nameTable)
  dll.writeUInt16LE(0, FILE_ALIGN + ordinals)

  // DOS header → PE header.
  dll.write('MZ', 0, 'latin1')
  const pe = 0x40
  dll.writeUInt32LE(pe, 0x3c)
  dll.write('PE\0\0', pe, 'latin1')
  const coff = pe + 4
  dll.writeUInt16LE(0x8664, coff) // x64
  dll.writeUInt16LE(1, coff + 2) // sections
  dll.writeUInt16LE(240, coff + 16) // optional header size (PE32+)
  dll.writeUInt16LE(0x2022, coff + 18) // executable image, large address aware, DLL
  const opt = coff + 20
  dll.writeUInt16LE(0x20b, opt) // PE32+
  dll.writeUInt32LE(FILE_ALIGN, opt + 8) // initialized data
  dll.writeUInt32LE(SECTION_RVA, opt + 20) // base of code
  dll.writeBigUInt64LE(0x6f000000n, opt + 24) // image base
  dll.writeUInt32LE(0x1000, opt + 32) // section alignment
  dll.writeUInt32LE(FILE_ALIGN, opt + 36)
  dll.writeUInt16LE(6, opt + 40) // OS 6.0
  dll.writeUInt16LE(6, opt + 48) // subsystem 6.0
  dll.writeUInt32LE(SECTION_RVA + 0x1000, opt + 56) // image size
  dll.writeUInt32LE(FILE_ALIGN, opt + 60) // headers size
  dll.writeUInt16LE(3, opt + 68) // console subsystem
  dll.writeBigUInt64LE(0x100000n, opt + 72)
  dll.writeBigUInt64LE(0x1000n, opt + 80)
  dll.writeBigUInt64LE(0x100000n, opt + 88)
  dll.writeBigUInt64LE(0x1000n, opt + 96)
  dll.writeUInt32LE(16, opt + 108) // data directories
  dll.writeUInt32LE(SECTION_RVA, opt + 112) // export directory
  dll.writeUInt32LE(size, opt + 116)
  const section = opt + 240
  dll.write('.edata', section, 'latin1')
  dll.writeUInt32LE(size, section + 8)
  dll.writeUInt32LE(SECTION_RVA, section + 12)
  dll.writeUInt32LE(FILE_ALIGN, section + 16)
  dll.writeUInt32LE(FILE_ALIGN, section + 20)
  dll.writeUInt32LE(0x40000040, section + 36) // initialized data, readable
  return dll
}
