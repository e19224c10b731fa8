import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  dir: string;
  caPem: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** A client certificate from a CA the server does not trust. */
  rogueCert: Buffer;
  rogueKey: Buffer;
}

/** Makes a throwaway CA, a server certificate for 127.0.0.1 and client certificates, with openssl. */
export function makeTestCertificates(clientCommonName: string): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "osiris-tls-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const selfSignedCa = (name: string, subject: string) =>
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "1", "-subj", subject);
  const signed = (name: string, subject: string, ca: string, extensions: string) => signCertificate(dir, name, subject, ca, extensions);
  selfSignedCa("ca", "/CN=Osiris Test CA");
  selfSignedCa("rogue-ca", "/CN=Somebody Else");
  signed("server", "/CN=127.0.0.1", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  signed("client", `/CN=${clientCommonName}`, "ca", "extendedKeyUsage=clientAuth\n");
  signed("rogue", `/CN=${clientCommonName}`, "rogue-ca", "extendedKeyUsage=clientAuth\n");
  const read = (file: string) => readFileSync(join(dir, file));
  return {
    dir,
    caPem: read("ca.pem"),
    serverCert: read("server.pem"),
    serverKey: read("server.key"),
    clientCert: read("client.pem"),
    clientKey: read("client.key"),
    rogueCert: read("rogue.pem"),
    rogueKey: read("rogue.key"),
  };
}

/** One more client certificate signed by the trusted test CA, e.g. with another CN, or none: `signClientCertificate(c, "plain", "/O=Osiris Tests")`. */
export function signClientCertificate(certificates: TestCertificates, name: string, subject: string): { cert: Buffer; key: Buffer } {
  signCertificate(certificates.dir, name, subject, "ca", "extendedKeyUsage=clientAuth\n");
  return { cert: readFileSync(join(certificates.dir, `${name}.pem`)), key: readFileSync(join(certificates.dir, `${name}.key`)) };
}

function signCertificate(dir: string, name: string, subject: string, ca: string, extensions: string): void {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
  openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "1", "-extfile", `${name}.ext`);
}
