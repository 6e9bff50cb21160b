/**
 * A self-signed certificate for loopback (`localhost`, `127.0.0.1`, `::1`),
 * made with the `selfsigned` package. For examples only: in production use a
 * certificate from a CA (or libp2p's auto-TLS).
 */
import { generate } from 'selfsigned'

/** PEM key and certificate */
export interface Certificate {
  /** PEM private key */
  key: string
  /** PEM certificate */
  cert: string
}

/** Generates a fresh 2048-bit RSA key and a certificate valid for loopback */
export async function loopbackCertificate (commonName = 'localhost'): Promise<Certificate> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    extensions: [{
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' }
      ]
    }]
  } as any)

  return { key: pems.private, cert: pems.cert }
}
