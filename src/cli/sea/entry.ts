// The single executable's main script: the same CLI as bin/run.js, with everything (oclif, the
// commands, the broker and the gateway) bundled into this one file by scripts/dist/sea-bundle.ts.
import { pathToFileURL } from 'node:url'
import { run } from '../main.js'

// Node puts the executable's path in argv[1] too, where a script's path would be.
void run(process.argv.slice(2), pathToFileURL(process.execPath).href)
