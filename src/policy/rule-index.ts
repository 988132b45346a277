// Finds the rules that could apply to an asset without scanning them all: a tree keyed by the
// literal leading segments of each asset pattern ("plant-a/line-3/*/plc-*" files under
// plant-a → line-3). Walking an asset's path collects every rule filed along the way; the
// full match (wildcards, who, scope, conditions) is then checked on those few. explain.ts
// still walks every rule, to say why each one did not match.
import { isLiteralSegment } from './asset-pattern.js'
import type { Rule, RuleIndex } from './types.js'

interface Node {
  rules: Rule[]
  children: Map<string, Node>
}

const newNode = (): Node => ({ rules: [], children: new Map() })

export function buildRuleIndex(rules: readonly Rule[]): RuleIndex {
  const root = newNode()
  for (const rule of rules) {
    for (const pattern of rule.assets) {
      let node = root
      for (const segment of pattern.split('/')) {
        if (!isLiteralSegment(segment)) break
        let child = node.children.get(segment)
        if (!child) node.children.set(segment, (child = newNode()))
        node = child
      }
      // A rule with two patterns under the same prefix is filed once.
      if (node.rules.at(-1) !== rule) node.rules.push(rule)
    }
  }
  return {
    candidates(path: string): readonly Rule[] {
      const found: Rule[][] = []
      let node: Node | undefined = root
      if (root.rules.length > 0) found.push(root.rules)
      let start = 0
      while (node && start <= path.length) {
        let end = path.indexOf('/', start)
        if (end === -1) end = path.length
        node = node.children.get(path.slice(start, end))
        if (node && node.rules.length > 0) found.push(node.rules)
        start = end + 1
      }
      if (found.length === 0) return []
      if (found.length === 1) return found[0]
      // Rules keep their file order: first match wins.
      const merged = [...new Set(found.flat())]
      return merged.sort((a, b) => a.index - b.index)
    },
  }
}
