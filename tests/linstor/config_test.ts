import assert from "node:assert/strict";
import {
  type LinstorClientOptions,
  parseControllerUrl,
  parseLinstorConfig,
} from "../../src/linstor/mod.ts";

const TLS_DIR = new URL("../_fixtures/tls/", import.meta.url);
const CA = Deno.readTextFileSync(new URL("ca.pem", TLS_DIR));
const CERT = Deno.readTextFileSync(new URL("client.pem", TLS_DIR));
const KEY = Deno.readTextFileSync(new URL("client-key.pem", TLS_DIR));

/** A `readFile` over an in-memory file map that throws like Deno for misses. */
function files(map: Record<string, string>): (path: string) => string {
  return (path) => {
    const content = map[path];
    if (content === undefined) {
      throw new Deno.errors.NotFound(`No such file or directory: ${path}`);
    }
    return content;
  };
}

const FILES = files({
  "/etc/linstor/ca.pem": CA,
  "/etc/linstor/tls.crt": CERT,
  "/etc/linstor/tls.key": KEY,
  "/etc/linstor/garbage": "hello",
  "/var/lib/linstor.d/auth.json": '{"token": "tok-json"}\n',
  "/run/token": "  tok-plain\n",
  "/run/empty-token": "\n",
  "/run/json-no-token": '{"other": 1}',
  "/run/bad-json": "{not json",
  "/run/spaced-token": "two words",
});

function parse(env: Record<string, string>): LinstorClientOptions {
  return parseLinstorConfig(env, { readFile: FILES });
}

/** One step per case: parsing `env` throws a TypeError or SyntaxError matching `message`. */
async function assertRejected(
  t: Deno.TestContext,
  cases: [string, Record<string, string>, RegExp][],
): Promise<void> {
  for (const [name, env, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => parse(env), (error: unknown) => {
        assert.ok(error instanceof TypeError || error instanceof SyntaxError);
        assert.match(error.message, message);
        return true;
      });
    });
  }
}

Deno.test("`parseLinstorConfig()` normalizes every LS_CONTROLLERS form", async (t) => {
  const cases: [string, Record<string, string>, string[]][] = [
    ["unset → localhost", {}, ["http://localhost:3370"]],
    ["empty → localhost", { LS_CONTROLLERS: "" }, ["http://localhost:3370"]],
    ["blank → localhost", { LS_CONTROLLERS: " , " }, ["http://localhost:3370"]],
    ["bare host", { LS_CONTROLLERS: "just.domain" }, [
      "http://just.domain:3370",
    ]],
    ["linstor://", { LS_CONTROLLERS: "linstor://x" }, ["http://x:3370"]],
    ["linstor+ssl://", { LS_CONTROLLERS: "linstor+ssl://x" }, [
      "https://x:3371",
    ]],
    ["host:port", { LS_CONTROLLERS: "x:4000" }, ["http://x:4000"]],
    ["https:// default port", { LS_CONTROLLERS: "https://x" }, [
      "https://x:3371",
    ]],
    ["http:// explicit port", { LS_CONTROLLERS: "http://x:8080/" }, [
      "http://x:8080",
    ]],
    ["explicit default port of the scheme", {
      LS_CONTROLLERS: "https://x:443",
    }, ["https://x:443"]],
    ["upper-case scheme", { LS_CONTROLLERS: "HTTPS://X.Example" }, [
      "https://x.example:3371",
    ]],
    ["bare IPv4:port", { LS_CONTROLLERS: "10.0.0.1:3370" }, [
      "http://10.0.0.1:3370",
    ]],
    ["bare IPv4", { LS_CONTROLLERS: "10.0.0.1" }, ["http://10.0.0.1:3370"]],
    ["bracketed IPv6 with port", {
      LS_CONTROLLERS: "http://[fe80::5054:ff:fe00:a]:3370",
    }, ["http://[fe80::5054:ff:fe00:a]:3370"]],
    ["bare bracketed IPv6", { LS_CONTROLLERS: "[::1]" }, [
      "http://[::1]:3370",
    ]],
    ["list with spaces, in order", {
      LS_CONTROLLERS: " a , linstor+ssl://b:9 ,c:1,",
    }, ["http://a:3370", "https://b:9", "http://c:1"]],
    ["duplicates (after normalization) are tried once", {
      LS_CONTROLLERS: "a, linstor://a:3370, http://A, b",
    }, ["http://a:3370", "http://b:3370"]],
    [
      "bare host + LS_ROOT_CA → https",
      { LS_CONTROLLERS: "x", LS_ROOT_CA: CA },
      [
        "https://x:3371",
      ],
    ],
    ["host:port + LS_ROOT_CA → https", {
      LS_CONTROLLERS: "x:4000",
      LS_ROOT_CA: CA,
    }, ["https://x:4000"]],
    ["linstor:// + a _FILE variable → https", {
      LS_CONTROLLERS: "linstor://x",
      LS_ROOT_CA_FILE: "/etc/linstor/ca.pem",
    }, ["https://x:3371"]],
    ["explicit http:// stays http with TLS set", {
      LS_CONTROLLERS: "http://x",
      LS_ROOT_CA: CA,
    }, ["http://x:3370"]],
    ["empty + TLS → https localhost", { LS_ROOT_CA: CA }, [
      "https://localhost:3371",
    ]],
  ];
  for (const [name, env, want] of cases) {
    await t.step(name, () => {
      assert.deepEqual(parse(env).controllers, want);
    });
  }
});

Deno.test("`parseLinstorConfig()` rejects bad LS_CONTROLLERS entries naming the variable", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["unknown scheme", "ftp://x", /unsupported scheme "ftp"/],
    ["path", "http://x:3370/api", /path/],
    ["query", "x?y=1", /path, query or fragment/],
    ["user info (not echoed)", "http://admin:secret@x", /user info/],
    ["unbracketed IPv6", "fe80::1", /brackets/],
    ["non-numeric port", "x:abc", /invalid port "abc"/],
    ["empty port", "x:", /invalid port ""/],
    ["port out of range", "x:70000", /out of range/],
    ["port zero", "x:0", /out of range/],
    ["no host", "http://:3370", /no host/],
    ["invalid host", "bad host", /invalid host/],
    ["broken brackets", "[fe80::1", /bracketed IPv6/],
  ];
  for (const [name, value, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => parse({ LS_CONTROLLERS: `ok, ${value}` }),
        (error: unknown) => {
          assert.ok(error instanceof SyntaxError);
          assert.match(error.message, /^Cannot parse "LS_CONTROLLERS": /);
          assert.match(error.message, message);
          assert.doesNotMatch(error.message, /secret/);
          return true;
        },
      );
    });
  }
});

Deno.test("`parseLinstorConfig()` reads TLS material from PEM variables and _FILE paths", async (t) => {
  const cases: [string, Record<string, string>, LinstorClientOptions["tls"]][] =
    [
      ["no TLS variable", {}, undefined],
      ["root CA contents", { LS_ROOT_CA: CA }, { caCerts: [CA] }],
      ["root CA file", { LS_ROOT_CA_FILE: "/etc/linstor/ca.pem" }, {
        caCerts: [CA],
      }],
      ["client pair as contents", {
        LS_USER_CERTIFICATE: CERT,
        LS_USER_KEY: KEY,
      }, { cert: CERT, key: KEY }],
      ["client pair as files", {
        LS_USER_CERTIFICATE_FILE: "/etc/linstor/tls.crt",
        LS_USER_KEY_FILE: " /etc/linstor/tls.key ",
      }, {
        cert: CERT,
        key: KEY,
        certFile: "/etc/linstor/tls.crt",
        keyFile: "/etc/linstor/tls.key",
      }],
      ["mixed forms for the pair", {
        LS_USER_CERTIFICATE: CERT,
        LS_USER_KEY_FILE: "/etc/linstor/tls.key",
      }, { cert: CERT, key: KEY, keyFile: "/etc/linstor/tls.key" }],
      ["all three", {
        LS_ROOT_CA_FILE: "/etc/linstor/ca.pem",
        LS_USER_CERTIFICATE: CERT,
        LS_USER_KEY: KEY,
      }, { caCerts: [CA], cert: CERT, key: KEY }],
      ["empty values count as unset", {
        LS_ROOT_CA: "",
        LS_USER_KEY_FILE: " ",
      }, undefined],
    ];
  for (const [name, env, want] of cases) {
    await t.step(name, () => {
      assert.deepEqual(parse(env).tls, want);
    });
  }
});

Deno.test("`parseLinstorConfig()` rejects invalid TLS combinations naming the variable", async (t) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      "certificate without key",
      { LS_USER_CERTIFICATE: CERT },
      /^Cannot parse "LS_USER_CERTIFICATE": LS_USER_KEY or LS_USER_KEY_FILE is missing/,
    ],
    [
      "key file without certificate",
      {
        LS_USER_KEY_FILE: "/etc/linstor/tls.key",
      },
      /^Cannot parse "LS_USER_KEY_FILE": LS_USER_CERTIFICATE or LS_USER_CERTIFICATE_FILE is missing/,
    ],
    ["CA as PEM and file", {
      LS_ROOT_CA: CA,
      LS_ROOT_CA_FILE: "/etc/linstor/ca.pem",
    }, /^Cannot parse "LS_ROOT_CA": LS_ROOT_CA_FILE is set too/],
    ["key as PEM and file", {
      LS_USER_CERTIFICATE: CERT,
      LS_USER_KEY: KEY,
      LS_USER_KEY_FILE: "/etc/linstor/tls.key",
    }, /^Cannot parse "LS_USER_KEY": LS_USER_KEY_FILE is set too/],
    [
      "non-PEM CA",
      { LS_ROOT_CA: "not a cert" },
      /^Cannot parse "LS_ROOT_CA": not PEM/,
    ],
    [
      "non-PEM CA file",
      { LS_ROOT_CA_FILE: "/etc/linstor/garbage" },
      /^Cannot parse "LS_ROOT_CA_FILE": not PEM/,
    ],
    ["key given as certificate", {
      LS_USER_CERTIFICATE: KEY,
      LS_USER_KEY: KEY,
    }, /^Cannot parse "LS_USER_CERTIFICATE": not PEM/],
    ["certificate given as key", {
      LS_USER_CERTIFICATE: CERT,
      LS_USER_KEY: CERT,
    }, /^Cannot parse "LS_USER_KEY": not one PEM private key/],
    [
      "missing file",
      { LS_ROOT_CA_FILE: "/nope" },
      /^Cannot read "LS_ROOT_CA_FILE": \/nope: No such file/,
    ],
  ];
  await assertRejected(t, cases);
});

Deno.test("`parseLinstorConfig()` reads basic and bearer credentials", async (t) => {
  const cases: [
    string,
    Record<string, string>,
    LinstorClientOptions["auth"],
  ][] = [
    ["none", {}, undefined],
    ["basic", { LS_USERNAME: "admin", LS_PASSWORD: "pw" }, {
      type: "basic",
      username: "admin",
      password: "pw",
    }],
    ["basic with empty password", { LS_USERNAME: "admin" }, {
      type: "basic",
      username: "admin",
      password: "",
    }],
    ["bearer from JSON", {
      LS_BEARER_TOKEN_FILE: "/var/lib/linstor.d/auth.json",
    }, { type: "bearer", token: "tok-json" }],
    ["bearer from trimmed text", { LS_BEARER_TOKEN_FILE: "/run/token" }, {
      type: "bearer",
      token: "tok-plain",
    }],
    ["bearer overrides basic", {
      LS_USERNAME: "admin",
      LS_PASSWORD: "pw",
      LS_BEARER_TOKEN_FILE: "/run/token",
    }, { type: "bearer", token: "tok-plain" }],
  ];
  for (const [name, env, want] of cases) {
    await t.step(name, () => assert.deepEqual(parse(env).auth, want));
  }
});

Deno.test("`parseLinstorConfig()` rejects bad credentials naming the variable", async (t) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      "password without user",
      { LS_PASSWORD: "pw" },
      /^Cannot parse "LS_PASSWORD": LS_USERNAME is not set/,
    ],
    ["colon in user", { LS_USERNAME: "a:b" }, /^Cannot parse "LS_USERNAME"/],
    [
      "empty token file",
      { LS_BEARER_TOKEN_FILE: "/run/empty-token" },
      /^Cannot parse "LS_BEARER_TOKEN_FILE": the token is empty/,
    ],
    [
      "JSON without token",
      { LS_BEARER_TOKEN_FILE: "/run/json-no-token" },
      /no "token" string/,
    ],
    ["broken JSON", { LS_BEARER_TOKEN_FILE: "/run/bad-json" }, /invalid JSON/],
    [
      "token with whitespace",
      { LS_BEARER_TOKEN_FILE: "/run/spaced-token" },
      /whitespace/,
    ],
    [
      "missing token file",
      { LS_BEARER_TOKEN_FILE: "/run/nope" },
      /^Cannot read "LS_BEARER_TOKEN_FILE"/,
    ],
  ];
  await assertRejected(t, cases);
});

Deno.test("`parseLinstorConfig()` passes readFile through only when certificate files can rotate", () => {
  assert.equal(
    parse({ LS_ROOT_CA_FILE: "/etc/linstor/ca.pem" }).readFile,
    undefined,
  );
  assert.equal(
    parse({
      LS_USER_CERTIFICATE_FILE: "/etc/linstor/tls.crt",
      LS_USER_KEY_FILE: "/etc/linstor/tls.key",
    }).readFile,
    FILES,
  );
});

Deno.test("`parseControllerUrl()` uses the given setting name and default scheme", () => {
  assert.equal(
    parseControllerUrl("ctrl", { defaultScheme: "https" }),
    "https://ctrl:3371",
  );
  assert.throws(
    () =>
      parseControllerUrl("", { defaultScheme: "http", name: "controllers" }),
    /^SyntaxError: Cannot parse "controllers": "" is empty$/,
  );
});
