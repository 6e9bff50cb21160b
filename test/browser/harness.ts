/**
 * Browser test harness: bundles `dist/test/browser/page.js` with esbuild
 * (the package's `browser` field swaps in the browser dialer), serves it from
 * 127.0.0.1 and opens it in Debian's headless Chromium through
 * playwright-core. Nothing is downloaded.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import type { AddressInfo } from 'node:net'
import type { BrowserContext, Page } from 'playwright-core'

/** Debian's `chromium` package */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * The machine's network is closed: without the background-networking flags
 * Chromium stalls on start trying to reach Google services.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage'
]

export function hasChromium (): boolean {
  return existsSync(CHROMIUM_PATH)
}

/** The page bundle: `dist/test/browser/page.js` and everything it imports */
export async function bundlePage (): Promise<string> {
  const entry = fileURLToPath(new URL('./page.js', import.meta.url))
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent'
  })

  return result.outputFiles[0].text
}

export interface PageServer {
  url: string
  close(): Promise<void>
}

/** Serves `/` (an HTML shell) and `/page.js` (the bundle) on 127.0.0.1:0 */
export async function servePage (bundle: string): Promise<PageServer> {
  const html = '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="/page.js"></script>'
  const server = http.createServer((req, res) => {
    if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' })
      res.end(bundle)
    } else if (req.url === '/' || req.url?.startsWith('/?') === true) {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(html)
    } else {
      res.writeHead(404)
      res.end()
    }
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })

  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

export interface BrowserSession {
  context: BrowserContext
  page: Page
  /** console messages and page errors, for failure messages */
  log: string[]
  close(): Promise<void>
}

/**
 * Launches Chromium with a fresh profile (playwright takes the profile
 * directory as `launchPersistentContext`'s argument, not as
 * `--user-data-dir`) and opens `url`, waiting until the page script ran.
 */
export async function openPage (url: string): Promise<BrowserSession> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'tolerant-ws-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000
  }).catch(async (err: Error) => {
    await rm(userDataDir, { recursive: true, force: true })
    throw err
  })
  const log: string[] = []
  const close = async (): Promise<void> => {
    await context.close()
    await rm(userDataDir, { recursive: true, force: true })
  }

  try {
    const page = context.pages()[0] ?? await context.newPage()
    page.on('console', (msg) => { log.push(`console.${msg.type()}: ${msg.text()}`) })
    page.on('pageerror', (err) => { log.push(`pageerror: ${err.stack ?? err.message}`) })
    await page.goto(url)
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 15_000 })

    return { context, page, log, close }
  } catch (err: any) {
    await close()
    throw new Error(`the test page did not load: ${err.message as string}\n${log.join('\n')}`)
  }
}
