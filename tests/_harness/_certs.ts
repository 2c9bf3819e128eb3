/**
 * Test PKI of the control-plane harness, made with the `openssl` CLI: a CA,
 * one serving certificate for every component (SAN 127.0.0.1/localhost), an
 * admin client certificate (group system:masters) and the service-account
 * signing key pair.
 *
 * @module
 */
import { join } from "node:path";

/** Paths of the generated PKI files. */
export interface Pki {
  /** CA certificate (PEM); trusted by every client. */
  caCert: string;
  /** CA private key. */
  caKey: string;
  /** Serving certificate shared by apiserver, scheduler and KCM. */
  servingCert: string;
  /** Key of the serving certificate. */
  servingKey: string;
  /** Admin client certificate: CN=linstor-suite:admin-cert, O=system:masters. */
  adminCert: string;
  /** Key of the admin client certificate. */
  adminKey: string;
  /** Service-account signing key (RSA, PKCS#8). */
  serviceAccountKey: string;
  /** Service-account public key. */
  serviceAccountPub: string;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new Error(
      'Cannot run "openssl": install it (apt-get install openssl)',
      { cause: error },
    );
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`Cannot run "openssl ${args[0]}": ${stderr}`);
  }
}

async function issue(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
): Promise<void> {
  await openssl(dir, [
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
  ]);
  await Deno.writeTextFile(join(dir, `${name}.ext`), extensions);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "30",
    "-sha256",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`,
  ]);
}

/** Generates the PKI into `dir` (which must exist). */
export async function generatePki(dir: string): Promise<Pki> {
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "30",
    "-subj",
    "/CN=linstor-suite-test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await issue(
    dir,
    "serving",
    "/CN=linstor-suite-test-server",
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc",
      "",
    ].join("\n"),
  );
  await issue(
    dir,
    "admin",
    "/O=system:masters/CN=linstor-suite:admin-cert",
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=clientAuth",
      "",
    ].join("\n"),
  );
  await openssl(dir, [
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-out",
    "sa.key",
  ]);
  await openssl(dir, ["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
  return {
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    servingCert: join(dir, "serving.crt"),
    servingKey: join(dir, "serving.key"),
    adminCert: join(dir, "admin.crt"),
    adminKey: join(dir, "admin.key"),
    serviceAccountKey: join(dir, "sa.key"),
    serviceAccountPub: join(dir, "sa.pub"),
  };
}
