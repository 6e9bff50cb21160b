/**
 * Command line and the sizes of a quick and a full run.
 */
import { IMPLS } from './impls.js'
import type { ImplName } from './impls.js'

export const SCENARIOS = ['setup', 'stack', 'throughput', 'concurrency', 'discovery'] as const
export type ScenarioName = typeof SCENARIOS[number]

export interface Sizes {
  /** raw setup: sequential dials per repeat (≥ 1 000) */
  setupDials: number
  setupWarmup: number
  setupRepeats: number
  /** full stack: dial + first ping per repeat */
  stackDials: number
  stackWarmup: number
  stackRepeats: number
  /** bytes per transfer */
  transferBytes: number
  transferRepeats: number
  /** simultaneous raw dials */
  concurrentRaw: number[]
  concurrentStack: number
  concurrencyRepeats: number
  /** dialer processes sharing the simultaneous full-stack dials */
  stackSwarmProcesses: number
  discoveryNodes: number
  discoveryRepeats: number
  /** give up on convergence after this long */
  discoveryTimeoutMs: number
}

/** Under 2 minutes: smaller transfers, fewer simultaneous dials, 10 discovery nodes */
export const QUICK: Sizes = {
  setupDials: 1000,
  setupWarmup: 50,
  setupRepeats: 2,
  stackDials: 40,
  stackWarmup: 10,
  stackRepeats: 2,
  transferBytes: 32 * 1024 * 1024,
  transferRepeats: 1,
  concurrentRaw: [1000],
  concurrentStack: 50,
  concurrencyRepeats: 1,
  stackSwarmProcesses: 2,
  discoveryNodes: 10,
  discoveryRepeats: 1,
  discoveryTimeoutMs: 20_000
}

export const FULL: Sizes = {
  setupDials: 2000,
  setupWarmup: 200,
  setupRepeats: 5,
  stackDials: 300,
  stackWarmup: 30,
  stackRepeats: 5,
  transferBytes: 256 * 1024 * 1024,
  transferRepeats: 3,
  concurrentRaw: [500, 2000],
  concurrentStack: 500,
  concurrencyRepeats: 3,
  stackSwarmProcesses: 2,
  discoveryNodes: 20,
  discoveryRepeats: 3,
  discoveryTimeoutMs: 40_000
}

export interface Options {
  quick: boolean
  sizes: Sizes
  scenarios: ScenarioName[]
  impls: ImplName[]
  /** write `--cpu-prof` profiles of every child process here */
  profileDir?: string
  /** output file prefix under the output directory */
  name: string
  outDir: string
  /** another build's dist/src/index.js, measured as `tolerant-ws (compare)` */
  compare?: string
  /** another build's dist/src/discovery/index.js, measured as `ours (compare)` */
  compareDiscovery?: string
  /** pubsub router for the discovery scenario */
  router: 'gossipsub' | 'floodsub'
}

const HELP = `npm run bench -- [options]

  --quick                 smaller run (under 2 minutes)
  --only=a,b              scenarios: ${SCENARIOS.join(', ')}
  --impls=a,b             implementations: ${IMPLS.join(', ')}
  --profile[=DIR]         --cpu-prof every child process (default benchmarks/results/profiles)
  --name=NAME             output files NAME.json, NAME.md, NAME.svg (default quick or full)
  --out=DIR               output directory (default benchmarks/results)
  --router=R              discovery pubsub router: floodsub (default) or gossipsub
  --set=key=value         override one size (see benchmarks/config.ts)
  --compare=PATH          also measure another build of tolerant-ws (PATH = its dist/src/index.js)
  --compare-discovery=PATH  also measure another build's discovery (PATH = its dist/src/discovery/index.js)
`

// one case per option: splitting it would not make it clearer
// eslint-disable-next-line complexity
export function parseArgs (argv: string[], defaultOutDir: string): Options {
  const quick = argv.includes('--quick')
  const sizes: Sizes = { ...(quick ? QUICK : FULL) }
  const options: Options = {
    quick,
    sizes,
    scenarios: [...SCENARIOS],
    impls: [...IMPLS],
    name: quick ? 'quick' : 'full',
    outDir: defaultOutDir,
    router: 'floodsub'
  }

  for (const arg of argv) {
    const [key, ...rest] = arg.split('=')
    const value = rest.join('=')

    switch (key) {
      case '--quick':
        break
      case '--help':
      case '-h':
        process.stdout.write(HELP)
        process.exit(0)
        break
      case '--only':
        options.scenarios = value.split(',').map(s => {
          if (!(SCENARIOS as readonly string[]).includes(s)) {
            throw new Error(`unknown scenario ${s}`)
          }
          return s as ScenarioName
        })
        break
      case '--impls':
        options.impls = value.split(',').map(s => {
          if (!(IMPLS as readonly string[]).includes(s)) {
            throw new Error(`unknown implementation ${s}`)
          }
          return s as ImplName
        })
        break
      case '--profile':
        options.profileDir = value !== '' ? value : `${defaultOutDir}/profiles`
        break
      case '--compare-discovery':
        options.compareDiscovery = value
        break
      case '--compare':
        options.compare = value
        break
      case '--name':
        options.name = value
        break
      case '--out':
        options.outDir = value
        break
      case '--router':
        if (value !== 'gossipsub' && value !== 'floodsub') {
          throw new Error(`unknown router ${value}`)
        }
        options.router = value
        break
      case '--set': {
        const [k, v] = value.split('=')
        if (!(k in sizes)) {
          throw new Error(`unknown size ${k}`)
        }
        if (v.includes(',') || Array.isArray((sizes as any)[k])) {
          (sizes as any)[k] = v.split(',').map(Number)
        } else {
          (sizes as any)[k] = Number(v)
        }
        break
      }
      default:
        throw new Error(`unknown option ${arg}\n\n${HELP}`)
    }
  }

  return options
}
