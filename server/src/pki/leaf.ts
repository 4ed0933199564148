// The one certificate profile this PKI issues, written directly as DER and signed with Node's
// crypto (building it through @peculiar/x509's ASN.1 object model cost ~7 ms per certificate;
// this costs well under one). The profile (RFC 5280):
//   version 3; serial = the given positive integer; signature ecdsa-with-SHA256 (the CA key is EC
//   P-256); issuer = the CA certificate's subject, bytes copied; validity UTCTime up to 2049,
//   GeneralizedTime from 2050; subject = CN only (PrintableString, or UTF8String when the CN has
//   '_' as @peculiar/x509 chose); the key's SubjectPublicKeyInfo as given; extensions, in this order:
//   basicConstraints (critical, CA:FALSE), keyUsage (critical, digitalSignature), extKeyUsage
//   (clientAuth or serverAuth), authorityKeyIdentifier (keyIdentifier = SHA-1 of the CA key's bits,
//   which is how @peculiar/x509 and openssl derive the CA's subjectKeyIdentifier),
//   subjectKeyIdentifier (SHA-1 of the key's bits), subjectAltName for server certificates with names.
import { createECDH, createHash, createPublicKey, KeyObject, sign as signData } from 'node:crypto';
import { isIP } from 'node:net';
import type { CertificateAuthority } from './ca.js';
import {
  bitString, BOOLEAN_TRUE, children, DerError, explicit, implicitPrimitive, octetString, oid, pem, readWhole,
  sequence, set, Tag, tlv, unsignedInteger, x509Time,
} from './der.js';
import { assertSimpleCommonName, PkiError } from './x509.js';

/** A subject alternative name of a server certificate. */
export interface SubjectAltName {
  type: 'dns' | 'ip';
  value: string;
}

/** What leaf certificates need of the CA, derived once per CA (leafIssuerOf). */
export interface LeafIssuer {
  /** The CA certificate's subject Name, DER, as it appears in the CA certificate. */
  subjectDer: Buffer;
  /** SHA-1 of the CA public key's bits: the authorityKeyIdentifier of every leaf. */
  keyId: Buffer;
  signingKey: KeyObject;
  notAfter: Date;
}

/** A public key accepted in a leaf certificate: its SubjectPublicKeyInfo DER and the key it describes. */
export interface LeafPublicKey {
  spkiDer: Buffer;
}

export interface LeafFields {
  /** Lower-case hex of a positive serial (as randomSerialHex makes; at most 20 bytes). */
  serialHex: string;
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  publicKey: LeafPublicKey;
  usage: 'client' | 'server';
  /** Server certificates only: the subjectAltName entries (none: no extension). */
  sans?: readonly SubjectAltName[];
}

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const CN = oid('2.5.4.3');
const EXT_BASIC_CONSTRAINTS = sequence(oid('2.5.29.19'), BOOLEAN_TRUE, octetString(sequence()));
// keyUsage digitalSignature: bit 0 set, the 7 unused bits of the one byte named
const EXT_KEY_USAGE = sequence(oid('2.5.29.15'), BOOLEAN_TRUE, octetString(tlv(Tag.bitString, Buffer.of(7, 0x80))));
const EXT_EKU_CLIENT = sequence(oid('2.5.29.37'), octetString(sequence(oid('1.3.6.1.5.5.7.3.2'))));
const EXT_EKU_SERVER = sequence(oid('2.5.29.37'), octetString(sequence(oid('1.3.6.1.5.5.7.3.1'))));
const AKI = oid('2.5.29.35');
const SKI = oid('2.5.29.14');
const SAN = oid('2.5.29.17');
const VERSION_3 = explicit(0, tlv(Tag.integer, Buffer.of(2)));

/** The bits of a SubjectPublicKeyInfo's subjectPublicKey (checks the SPKI's outer structure). */
function subjectPublicKeyBits(spkiDer: Uint8Array): Buffer {
  const spki = readWhole(spkiDer, Tag.sequence, 'SubjectPublicKeyInfo');
  const parts = children(spkiDer, spki);
  if (parts.length !== 2 || parts[0]!.tag !== Tag.sequence || parts[1]!.tag !== Tag.bitString) {
    throw new DerError('SubjectPublicKeyInfo: expected SEQUENCE { AlgorithmIdentifier, BIT STRING }');
  }
  const bits = parts[1]!;
  if (bits.end - bits.contentStart < 2 || spkiDer[bits.contentStart] !== 0) throw new DerError('SubjectPublicKeyInfo: the key is not a whole number of bytes');
  return Buffer.from(spkiDer.subarray(bits.contentStart + 1, bits.end));
}

const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();

/** "EC prime256v1", "RSA 1024 bits", "ed25519": for error messages. */
function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return `EC ${d.namedCurve ?? '(unknown curve)'}`;
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') return `${key.asymmetricKeyType.toUpperCase()} ${d.modulusLength ?? '?'} bits`;
  return key.asymmetricKeyType ?? key.type;
}

/** Device keys a leaf may certify: EC P-256 / P-384, RSA (rsaEncryption) of 2048 bits or more. */
function assertLeafKey(key: KeyObject, what: string): void {
  const d = key.asymmetricKeyDetails ?? {};
  const ok =
    key.type === 'public' &&
    ((key.asymmetricKeyType === 'ec' && (d.namedCurve === 'prime256v1' || d.namedCurve === 'secp384r1')) ||
      (key.asymmetricKeyType === 'rsa' && (d.modulusLength ?? 0) >= 2048));
  if (!ok) throw new PkiError('unsupported_key', `${what} ${describeKey(key)} is not accepted; use EC P-256 (or P-384, or RSA >= 2048 bits)`);
}

/** A leaf public key from a KeyObject (a key pair generated here). */
export function leafPublicKey(key: KeyObject, what = 'key'): LeafPublicKey {
  if (!(key instanceof KeyObject)) throw new PkiError('unsupported_key', `${what} is not a key object`);
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  assertLeafKey(pub, what);
  return { spkiDer: pub.export({ type: 'spki', format: 'der' }) };
}

/**
 * A leaf public key from SPKI PEM ("PUBLIC KEY"): the DER inside is used as it is (the device's
 * own encoding, e.g. a compressed EC point, is kept). PkiError invalid_public_key when it is not
 * such a PEM, unsupported_key when the key is of a kind not accepted.
 */
export function leafPublicKeyFromPem(publicKeyPem: string, what = 'key'): LeafPublicKey {
  const m = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----$/.exec(publicKeyPem.trim());
  if (!m) throw new PkiError('invalid_public_key', 'not a readable PEM public key: expected one "-----BEGIN PUBLIC KEY-----" block (SubjectPublicKeyInfo)');
  return leafPublicKeyFromDer(Buffer.from(m[1]!.replace(/[\r\n]/g, ''), 'base64'), what);
}

/** A leaf public key from SubjectPublicKeyInfo DER, used as it is (PkiError invalid_public_key / unsupported_key). */
export function leafPublicKeyFromDer(spkiDer: Buffer, what = 'key'): LeafPublicKey {
  let key: KeyObject;
  try {
    subjectPublicKeyBits(spkiDer);
    key = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch (err) {
    throw new PkiError('invalid_public_key', `not a readable PEM public key: ${(err as Error).message}`, { cause: err });
  }
  assertLeafKey(key, what);
  return { spkiDer };
}

const EC_PUBLIC_KEY_P256 = sequence(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7'));

/**
 * A new EC P-256 key pair for a device: its SubjectPublicKeyInfo and its private key as PKCS#8
 * DER, in the form OpenSSL writes it (PrivateKeyInfo { 0, id-ecPublicKey prime256v1,
 * ECPrivateKey { 1, d, [1] public point } }). Made with ECDH key generation (the same EC key),
 * which hands out the raw scalar and point without OpenSSL's slower key encoders.
 */
export function newP256KeyPair(): { publicKey: LeafPublicKey; pkcs8Der: Buffer } {
  const ecdh = createECDH('prime256v1');
  const point = ecdh.generateKeys(); // uncompressed: 04 || X || Y
  const raw = ecdh.getPrivateKey();
  const d = Buffer.alloc(32);
  raw.copy(d, 32 - raw.length); // the scalar comes without leading zero bytes
  const pkcs8Der = sequence(
    tlv(Tag.integer, Buffer.of(0)),
    EC_PUBLIC_KEY_P256,
    octetString(sequence(tlv(Tag.integer, Buffer.of(1)), octetString(d), explicit(1, bitString(point)))),
  );
  d.fill(0);
  return { publicKey: { spkiDer: sequence(EC_PUBLIC_KEY_P256, bitString(point)) }, pkcs8Der };
}

const issuers = new WeakMap<CertificateAuthority, LeafIssuer>();

/** What leaves need of `ca` (computed on first use, then kept with the CA object). */
export function leafIssuerOf(ca: CertificateAuthority): LeafIssuer {
  let issuer = issuers.get(ca);
  if (!issuer) {
    issuer = makeLeafIssuer(Buffer.from(ca.cert.rawData), KeyObject.from(ca.signingKey), ca.cert.notAfter);
    issuers.set(ca, issuer);
  }
  return issuer;
}

/** A LeafIssuer from the CA certificate (DER) and its P-256 private key. PkiError ca_invalid when they do not fit this profile. */
export function makeLeafIssuer(caCertDer: Uint8Array, signingKey: KeyObject, notAfter: Date): LeafIssuer {
  if (signingKey.type !== 'private' || signingKey.asymmetricKeyType !== 'ec' || signingKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new PkiError('ca_invalid', `the CA key must be an EC P-256 private key, found ${signingKey.type} ${describeKey(signingKey)}`);
  }
  try {
    // Certificate ::= SEQUENCE { tbsCertificate, ... }; TBSCertificate ::= SEQUENCE { [0] version,
    // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, ... }
    const cert = readWhole(caCertDer, Tag.sequence, 'CA certificate');
    const tbs = children(caCertDer, cert)[0];
    if (tbs?.tag !== Tag.sequence) throw new DerError('CA certificate: no tbsCertificate');
    const f = children(caCertDer, tbs);
    const v = f[0]?.tag === 0xa0 ? 1 : 0;
    const subject = f[v + 4];
    const spki = f[v + 5];
    if (subject?.tag !== Tag.sequence || spki?.tag !== Tag.sequence) throw new DerError('CA certificate: subject or subjectPublicKeyInfo missing');
    return {
      subjectDer: Buffer.from(caCertDer.subarray(subject.start, subject.end)),
      keyId: sha1(subjectPublicKeyBits(caCertDer.subarray(spki.start, spki.end))),
      signingKey,
      notAfter,
    };
  } catch (err) {
    throw new PkiError('ca_invalid', `the CA certificate could not be read: ${(err as Error).message}`, { cause: err });
  }
}

/** The 4 or 16 bytes of an IP address (IPv6 may end in a dotted IPv4 address). */
function ipBytes(ip: string): Buffer {
  const v = isIP(ip);
  if (v === 4) return Buffer.from(ip.split('.').map(Number));
  if (v !== 6) throw new PkiError('invalid_common_name', `subject alternative name ip:${JSON.stringify(ip)} is not a valid IP address`);
  let text = ip.replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function subjectAltNames(sans: readonly SubjectAltName[]): Buffer {
  const names = sans.map((n) => {
    if (n.type === 'ip') return implicitPrimitive(7, ipBytes(n.value));
    if (!/^[A-Za-z0-9*]([A-Za-z0-9.-]{0,252})$/.test(n.value)) {
      throw new PkiError('invalid_common_name', `subject alternative name dns:${JSON.stringify(n.value)} is not a valid DNS name`);
    }
    return implicitPrimitive(2, Buffer.from(n.value, 'latin1'));
  });
  return sequence(SAN, octetString(sequence(...names)));
}

function serialInteger(serialHex: string): Buffer {
  if (!/^[0-9a-f]{1,40}$/.test(serialHex)) throw new PkiError('invalid_serial', `serial ${JSON.stringify(serialHex)} is not 1..40 lower-case hex digits`);
  const bytes = Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, 'hex');
  if (bytes.every((b) => b === 0)) throw new PkiError('invalid_serial', 'a certificate serial must be positive (got zero)');
  return unsignedInteger(bytes);
}

/** The DER of a leaf certificate of this PKI's profile, signed by `issuer`. */
export function writeLeafCertificate(issuer: LeafIssuer, f: LeafFields): Buffer {
  assertSimpleCommonName(f.commonName);
  if (!(f.notBefore.getTime() < f.notAfter.getTime())) {
    throw new RangeError(`certificate notBefore (${f.notBefore.toISOString()}) must be before notAfter (${f.notAfter.toISOString()})`);
  }
  if (f.usage !== 'server' && f.sans?.length) throw new PkiError('invalid_common_name', 'subject alternative names are for server certificates only');
  const cnValue = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(f.commonName) ? Tag.printableString : Tag.utf8String;
  const subject = sequence(set(sequence(CN, tlv(cnValue, Buffer.from(f.commonName, 'utf8')))));
  let keyBits: Buffer;
  try {
    keyBits = subjectPublicKeyBits(f.publicKey.spkiDer);
  } catch (err) {
    throw new PkiError('invalid_public_key', `the public key is not a SubjectPublicKeyInfo: ${(err as Error).message}`, { cause: err });
  }
  const extensions = [
    EXT_BASIC_CONSTRAINTS,
    EXT_KEY_USAGE,
    f.usage === 'server' ? EXT_EKU_SERVER : EXT_EKU_CLIENT,
    sequence(AKI, octetString(sequence(implicitPrimitive(0, issuer.keyId)))),
    sequence(SKI, octetString(octetString(sha1(keyBits)))),
  ];
  if (f.usage === 'server' && f.sans && f.sans.length > 0) extensions.push(subjectAltNames(f.sans));
  const tbs = sequence(
    VERSION_3,
    serialInteger(f.serialHex),
    ECDSA_WITH_SHA256,
    issuer.subjectDer,
    sequence(x509Time(f.notBefore), x509Time(f.notAfter)),
    subject,
    f.publicKey.spkiDer,
    explicit(3, sequence(...extensions)),
  );
  const signature = signData('sha256', tbs, { key: issuer.signingKey, dsaEncoding: 'der' });
  return sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
}

/** A certificate DER as PEM ("CERTIFICATE"), ending in a newline. */
export const certificatePem = (der: Uint8Array): string => pem(der, 'CERTIFICATE') + '\n';
