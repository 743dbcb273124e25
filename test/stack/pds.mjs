// Starts a real PLC directory (@did-plc/server, in-memory database) and a real
// PDS (@atproto/pds) on 127.0.0.1, creates the test accounts with app passwords,
// writes a JSON file describing them, and stays up until SIGTERM or SIGINT.
//
//   node pds.mjs --mode local|e2e --data DIR --out FILE
//                [--plc-port N --pds-port N] [--plc-multikey-docs]
//
// local: plain HTTP on loopback for `make run`. The PDS only allows an http
//        public URL in devMode, so devMode is on; the public URL (the
//        #atproto_pds endpoint in every DID document) is http://127.0.0.1:2583.
//        Handles: alice.test, bob.test. PLC: http://127.0.0.1:2582.
// e2e:   production-shaped, behind Caddy in a private network namespace
//        (test/stack/e2e.sh): https://pds.test, PLC https://plc.test, handles
//        alice.pds.test and bob.pds.test, no devMode.
//
// --plc-port/--pds-port (local mode only; default 2582/2583) let a test run its
// own PLC and PDS next to a running stack (the Jetstream tests do).
// --plc-multikey-docs makes the PLC serve DID documents the way plc.directory
// does today (a Multikey verification method) instead of @did-plc/server
// 0.0.1's legacy EcdsaSecp256k1VerificationKey2019 form, which Jetstream
// (atmos) cannot read: it refuses every commit ("unknown multicodec prefix").
// Off by default; every other PLC request is served unchanged.
//
// Both servers are bound to 127.0.0.1 here: PDS.start() and PlcServer.start()
// would listen on every interface.
import crypto from 'node:crypto'
import events from 'node:events'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import module, { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

const require = createRequire(import.meta.url)

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'local' },
    data: { type: 'string' },
    out: { type: 'string' },
    'plc-port': { type: 'string', default: '2582' },
    'pds-port': { type: 'string', default: '2583' },
    'plc-multikey-docs': { type: 'boolean', default: false },
  },
})
const port = (v) => (/^[0-9]{1,5}$/.test(v) && +v > 0 && +v < 65536 ? +v : NaN)
const PLC_PORT = port(args['plc-port'])
const PDS_PORT = port(args['pds-port'])
const LOCAL_URL = `http://127.0.0.1:${PDS_PORT}`

const MODES = {
  local: {
    pdsEnv: { hostname: 'localhost', devMode: true, serviceHandleDomains: ['.test'], didPlcUrl: `http://127.0.0.1:${PLC_PORT}` },
    publicUrl: LOCAL_URL,
    plcUrl: `http://127.0.0.1:${PLC_PORT}`,
    handles: ['alice.test', 'bob.test'],
  },
  e2e: {
    pdsEnv: { hostname: 'pds.test', serviceHandleDomains: ['.pds.test'], didPlcUrl: 'https://plc.test', disableSsrfProtection: true },
    publicUrl: 'https://pds.test',
    plcUrl: 'https://plc.test',
    handles: ['alice.pds.test', 'bob.pds.test'],
  },
}

const mode = MODES[args.mode]
const customPorts = PLC_PORT !== 2582 || PDS_PORT !== 2583
if (!mode || !args.data || !args.out || Number.isNaN(PLC_PORT) || Number.isNaN(PDS_PORT) || (customPorts && args.mode !== 'local')) {
  console.error('usage: node pds.mjs --mode local|e2e --data DIR --out FILE [--plc-port N --pds-port N (local mode only)] [--plc-multikey-docs]')
  process.exit(2)
}

const t0 = Date.now()
const log = (msg) => console.log(`[pds.mjs +${Date.now() - t0}ms] ${msg}`)
const secret = (bytes = 18) => crypto.randomBytes(bytes).toString('base64url')

// Loading the PDS compiles a few thousand modules; Node 22 can keep the compiled code
// between runs (kept in node_modules, so a reinstall starts it afresh).
module.enableCompileCache?.(path.join(import.meta.dirname, '..', 'node_modules', '.cache', 'node-compile-cache'))

// The PDS reads LOG_ENABLED when its modules load; keep it quiet unless asked.
process.env.LOG_ENABLED ??= process.env.STACK_PDS_LOG === '1' ? 'true' : 'false'
const pdsMod = await import('@atproto/pds')
const { createHttpTerminator } = require('http-terminator')
const plcMod = require('@did-plc/server')

let plc, plcServer, pds
let stopping = false
async function stop(reason, code = 0) {
  if (stopping) return
  stopping = true
  log(`${reason}: stopping`)
  try {
    await pds?.destroy()
  } catch (err) {
    console.error('pds destroy:', err)
  }
  try {
    await plc?.destroy()
  } catch (err) {
    console.error('plc destroy:', err)
  }
  log('stopped')
  process.exit(code)
}
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))

async function listen(app, port) {
  const server = app.listen(port, '127.0.0.1')
  await events.once(server, 'listening')
  return server
}

// multikeyDocs answers GET /<did> with the DID document in today's
// plc.directory shape, built from the PLC's own GET /<did>/data; anything
// else (and any failure) goes to the PLC app unchanged.
function multikeyDocs(app) {
  const plcURL = `http://127.0.0.1:${PLC_PORT}`
  return async (req, res) => {
    const m = req.method === 'GET' && /^\/(did:plc:[a-z2-7]{24})$/.exec(req.url)
    if (!m) return app(req, res)
    try {
      const r = await fetch(`${plcURL}/${m[1]}/data`)
      if (!r.ok) return app(req, res)
      const d = await r.json()
      const doc = {
        '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1', 'https://w3id.org/security/suites/secp256k1-2019/v1'],
        id: d.did,
        alsoKnownAs: d.alsoKnownAs,
        verificationMethod: Object.entries(d.verificationMethods).map(([id, key]) => ({
          id: `${d.did}#${id}`,
          type: 'Multikey',
          controller: d.did,
          publicKeyMultibase: key.replace(/^did:key:/, ''),
        })),
        service: Object.entries(d.services).map(([id, s]) => ({ id: `#${id}`, type: s.type, serviceEndpoint: s.endpoint })),
      }
      res.writeHead(200, { 'content-type': 'application/did+ld+json; charset=utf-8' })
      res.end(JSON.stringify(doc))
    } catch (err) {
      console.error('plc multikey docs:', err)
      app(req, res)
    }
  }
}

async function startPLC() {
  plc = plcMod.PlcServer.create({ db: plcMod.Database.mock(), port: PLC_PORT })
  // What plc.app.listen() does, with the shim in front when asked for.
  plcServer = await listen(http.createServer(args['plc-multikey-docs'] ? multikeyDocs(plc.app) : plc.app), PLC_PORT)
  plc.server = plcServer
  plc.terminator = createHttpTerminator({ server: plcServer })
  log(`plc listening on 127.0.0.1:${PLC_PORT}${args['plc-multikey-docs'] ? ' (Multikey DID documents)' : ''}`)
}

async function startPDS() {
  fs.mkdirSync(args.data, { recursive: true })
  const env = {
    ...mode.pdsEnv,
    port: PDS_PORT,
    inviteRequired: false,
    dataDirectory: args.data,
    blobstoreDiskLocation: path.join(args.data, 'blobs'),
    jwtSecret: secret(32),
    adminPassword: secret(),
    // A secp256k1 private key is 32 random bytes (below the curve order with overwhelming odds).
    plcRotationKeyK256PrivateKeyHex: crypto.randomBytes(32).toString('hex'),
    crawlers: [],
  }
  const cfg = pdsMod.envToCfg(env)
  // envToCfg derives http://localhost:PORT for hostname "localhost"; use the address we
  // actually listen on so DID documents point at it.
  cfg.service.publicUrl = mode.publicUrl
  if (cfg.oauth && !cfg.entryway) cfg.oauth.issuer = mode.publicUrl
  pds = await pdsMod.PDS.create(cfg, pdsMod.envToSecrets(env))
  await pds.ctx.sequencer.start()
  pds.server = await listen(pds.app, PDS_PORT)
  pds.server.keepAliveTimeout = 90_000
  pds.terminator = createHttpTerminator({ server: pds.server })
  log(`pds listening on 127.0.0.1:${PDS_PORT} (public URL ${mode.publicUrl})`)
}

async function xrpc(nsid, body, jwt) {
  const res = await fetch(`${LOCAL_URL}/xrpc/${nsid}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
    body: JSON.stringify(body),
  })
  const json = await res.json()
  if (!res.ok) throw new Error(`${nsid}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

async function createAccount(handle) {
  const name = handle.split('.')[0]
  const password = secret()
  const acct = await xrpc('com.atproto.server.createAccount', { handle, email: `${name}@example.com`, password })
  const app = await xrpc('com.atproto.server.createAppPassword', { name: 'atcr-stack' }, acct.accessJwt)
  log(`account ${handle} ${acct.did}`)
  return { handle, did: acct.did, password, appPassword: app.password }
}

try {
  await startPLC()
  await startPDS()
  const accounts = []
  for (const handle of mode.handles) accounts.push(await createAccount(handle))
  const out = {
    mode: args.mode,
    pdsUrl: mode.publicUrl,
    plcUrl: mode.plcUrl,
    pdsListen: LOCAL_URL,
    plcListen: `http://127.0.0.1:${PLC_PORT}`,
    accounts,
  }
  fs.writeFileSync(`${args.out}.tmp`, JSON.stringify(out, null, 2) + '\n', { mode: 0o600 })
  fs.renameSync(`${args.out}.tmp`, args.out)
  log(`ready: wrote ${args.out}`)
} catch (err) {
  console.error('pds.mjs: start-up failed:', err)
  await stop('start-up failure', 1)
}
