/**
 * The Helm chart `deploy/helm/linstor-suite`, with the real helm (built by
 * tests/deploy_tools/build.sh): `helm lint --strict`, `helm template` with
 * default values and per-mode value sets, every linstor-suite container's
 * args through the binary's flag parser, probes against the endpoints the
 * mode serves, RBAC equal to deploy/<mode>/rbac.yaml, the kube-scheduler
 * image following the cluster's version, the generated extender certificate,
 * and the rendered objects created with a server-side dry run on the real
 * apiserver (and rendering against it, where `lookup` keeps and renews the
 * extender's certificate).
 */
import assert from "node:assert/strict";
import type { CommandContext } from "../../src/cli/mod.ts";
import type { FlagSpec } from "../../src/cli/flags.ts";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import {
  type ControlPlane,
  ignoreWithoutControlPlane,
  pinnedKubernetesVersion,
  startControlPlane,
} from "../_harness/control_plane.ts";
import {
  deployToolPath,
  ignoreWithoutDeployTool,
} from "../_harness/deploy_tools.ts";
import {
  assertProbesServed,
  createNamespaces,
  dryRunCreate,
  FLAG_TABLES,
  IMAGE,
  type Json,
  objectsOf,
  objectsOfText,
  parseContainer,
  podSpecOf,
  ROOT,
  suiteContainersOf,
} from "./_manifests.ts";

const CHART = new URL("deploy/helm/linstor-suite", ROOT).pathname;
const RELEASE = "linstor-suite";
const NAMESPACE = "linstor-suite";
const KUBE_VERSION = pinnedKubernetesVersion();
const MODES = ["extender", "affinity", "agent", "fencing"] as const;
/** Kinds whose CRDs (Prometheus Operator) the test apiserver does not have. */
const CRD_KINDS = new Set(["ServiceMonitor", "PrometheusRule"]);

const only = (mode: string, extra: Json = {}): Json => ({
  ...Object.fromEntries(
    MODES.map((m) => [m, { enabled: m === mode, ...extra[m] }]),
  ),
  ...Object.fromEntries(
    Object.entries(extra).filter(([k]) =>
      !(MODES as readonly string[])
        .includes(k)
    ),
  ),
});

/** The value sets every check runs over. */
const VALUE_SETS: Readonly<Record<string, Json>> = {
  "default values": {},
  "extender alone (second scheduler)": only("extender"),
  "extender alone (default-scheduler extender)": only("extender", {
    extender: { mode: "default-scheduler" },
  }),
  "affinity alone": only("affinity"),
  "agent alone": only("agent"),
  "fencing alone": only("fencing"),
  "LINSTOR over HTTPS with client certificates": {
    linstor: {
      endpoint: "https://linstor-controller.piraeus-datastore.svc:3371",
      clientSecret: "linstor-client-tls",
    },
    extender: { mode: "default-scheduler" },
  },
  "longest names (Service names stay DNS labels)": {
    fullnameOverride: "a".repeat(70),
    extender: { mode: "default-scheduler" },
    monitoring: { serviceMonitor: { enabled: true } },
  },
  "monitoring on, PDBs by minAvailable, pinned kube-scheduler": {
    options: { v: 2, logFormat: "json" },
    monitoring: {
      serviceMonitor: { enabled: true },
      prometheusRule: { enabled: true },
      dashboard: { enabled: true },
    },
    extender: {
      podDisruptionBudget: { minAvailable: 1 },
      scheduler: { image: { tag: "v1.34.1" } },
    },
    affinity: { podDisruptionBudget: { minAvailable: 1 } },
  },
};

async function helm(
  args: readonly string[],
  options: { values?: Json; env?: Record<string, string> } = {},
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "linstor-suite-helm-" });
  try {
    const valuesFile = join(dir, "values.json");
    await Deno.writeTextFile(valuesFile, JSON.stringify(options.values ?? {}));
    const output = await new Deno.Command(deployToolPath("helm"), {
      args: [...args, "--values", valuesFile],
      env: {
        HELM_CACHE_HOME: join(dir, "cache"),
        HELM_CONFIG_HOME: join(dir, "config"),
        HELM_DATA_HOME: join(dir, "data"),
        ...options.env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    assert.ok(
      output.success,
      `helm ${args.join(" ")}: ${decode(output.stderr)}${
        decode(output.stdout)
      }`,
    );
    return decode(output.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function render(
  values: Json,
  options: { kubeVersion?: string; kubeconfig?: string } = {},
): Promise<Json[]> {
  const args = ["template", RELEASE, CHART, "--namespace", NAMESPACE];
  if (options.kubeconfig) {
    args.push("--dry-run=server", "--kubeconfig", options.kubeconfig);
  } else {
    args.push("--kube-version", options.kubeVersion ?? KUBE_VERSION);
  }
  return objectsOfText(await helm(args, { values }), "helm template");
}

function byKind(objects: readonly Json[], kind: string): Json[] {
  return objects.filter((o) => o.kind === kind);
}

function component(object: Json): string | undefined {
  return object.metadata?.labels?.["app.kubernetes.io/component"];
}

function normalizedRules(role: Json): string[] {
  return role.rules.map((rule: Json) =>
    JSON.stringify({
      apiGroups: rule.apiGroups,
      resources: rule.resources,
      verbs: rule.verbs,
      named: Boolean(rule.resourceNames),
    })
  ).sort();
}

Deno.test({
  name: "`helm lint --strict` passes the chart with every value set",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn(t) {
    for (const [name, values] of Object.entries(VALUE_SETS)) {
      await t.step(name, async () => {
        const out = await helm(["lint", "--strict", CHART], { values });
        assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      });
    }
  },
});

Deno.test({
  name:
    "`helm template` renders each enabled mode's workload, and only those, for every value set",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn(t) {
    for (const [name, values] of Object.entries(VALUE_SETS)) {
      await t.step(name, async () => {
        const objects = await render(values);
        const workloads = objects.filter(podSpecOf);
        const enabled = MODES.filter((m) => values[m]?.enabled ?? true);
        assert.deepEqual(
          [...new Set(workloads.map(component))].sort(),
          [...enabled].sort(),
        );
        for (const object of objects) {
          assert.ok(object.apiVersion && object.kind && object.metadata?.name);
          if (object.kind.startsWith("Cluster")) continue;
          // The second scheduler reads the API server's client CA there.
          const namespace = object.metadata.name.endsWith(
              "-authentication-reader",
            )
            ? "kube-system"
            : NAMESPACE;
          assert.equal(object.metadata.namespace, namespace, object.kind);
        }
        // Every pod's ServiceAccount is rendered, one per mode.
        const accounts = byKind(objects, "ServiceAccount").map((o) =>
          o.metadata.name
        );
        for (const workload of workloads) {
          assert.ok(accounts.includes(podSpecOf(workload).serviceAccountName));
        }
        assert.equal(
          new Set(workloads.map((w) => podSpecOf(w).serviceAccountName)).size,
          workloads.length,
        );
      });
    }
  },
});

Deno.test({
  name:
    "`helm template`: every linstor-suite container's args pass the binary's flag parser and its probes hit endpoints the mode serves",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn(t) {
    for (const [name, values] of Object.entries(VALUE_SETS)) {
      await t.step(name, async () => {
        const containers = suiteContainersOf(await render(values));
        assert.ok(containers.length > 0);
        for (const container of containers) {
          const { mode, context } = await parseContainer(container);
          assert.equal(container.args[0], mode);
          assert.deepEqual(context.positionals, [], mode);
          await assertProbesServed(container, name);
        }
      });
    }
  },
});

Deno.test({
  name:
    "`helm template` turns values into the flags, LINSTOR variables and PDBs they name",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn() {
    const objects = await render({
      options: { v: 3 },
      affinity: {
        options: { reconcileRate: "30s", resyncRate: null, workers: 4 },
        podDisruptionBudget: { minAvailable: 1 },
      },
      linstor: {
        endpoint: "https://linstor.example:3371",
        clientSecret: "client-tls",
      },
    });
    const deployment = objects.find((o) =>
      o.kind === "Deployment" && component(o) === "affinity"
    );
    const container = podSpecOf(deployment).containers[0];
    const { context } = await parseContainer(container);
    assert.equal(context.flags.number("verbosity"), 3);
    assert.equal(context.flags.number("reconcile-rate"), 30_000);
    assert.equal(context.flags.number("workers"), 4);
    assert.ok(!container.args.some((a: string) => a.startsWith("--resync")));
    const env = Object.fromEntries(
      container.env.filter((e: Json) => "value" in e).map((
        e: Json,
      ) => [e.name, e.value]),
    );
    assert.equal(env.LS_CONTROLLERS, "https://linstor.example:3371");
    const mount = container.volumeMounts.find((m: Json) =>
      m.name === "linstor-client"
    );
    for (const key of ["USER_CERTIFICATE", "USER_KEY", "ROOT_CA"]) {
      assert.ok(env[`LS_${key}_FILE`].startsWith(`${mount.mountPath}/`), key);
    }
    assert.equal(
      podSpecOf(deployment).volumes.find((v: Json) =>
        v.name === "linstor-client"
      ).secret.secretName,
      "client-tls",
    );
    const pdb = objects.find((o) =>
      o.kind === "PodDisruptionBudget" && component(o) === "affinity"
    );
    assert.deepEqual(pdb.spec.minAvailable, 1);
    assert.equal(pdb.spec.maxUnavailable, undefined);
  },
});

/** The chart's default values and deploy/all.yaml differ only here. */
const PARITY_EXCEPTIONS: Readonly<Record<string, readonly string[]>> = {
  // The chart's top-level `options.v: 1` reaches the extender too, and its
  // pods also run with the image's group (deploy/extender sets only the user).
  extender: ["verbosity", "runAsGroup"],
};

function flagValue(context: CommandContext, flag: FlagSpec): unknown {
  switch (flag.type) {
    case "boolean":
      return context.flags.boolean(flag.name);
    case "int":
    case "number":
    case "duration":
      return context.flags.number(flag.name);
    case "string":
      return context.flags.string(flag.name);
    default:
      return undefined;
  }
}

Deno.test({
  name:
    "`helm template` with default values deploys each mode as deploy/all.yaml does: same flag values, LINSTOR endpoint, pod placement, security and resources",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn(t) {
    const chart = await render({});
    const plain = objectsOf("deploy/all.yaml");
    const workload = (objects: Json[], mode: string) =>
      objects.find((o) =>
        podSpecOf(o) &&
        suiteContainersOf([o]).some((c: Json) => c.args[0] === mode)
      );
    for (const mode of MODES) {
      await t.step(mode, async () => {
        const ours = workload(chart, mode);
        const theirs = workload(plain, mode);
        const [a] = suiteContainersOf([ours]);
        const [b] = suiteContainersOf([theirs]);
        const parsedA = await parseContainer(a);
        const parsedB = await parseContainer(b);
        for (const flag of FLAG_TABLES[mode]!) {
          if (PARITY_EXCEPTIONS[mode]?.includes(flag.name)) continue;
          assert.deepEqual(
            flagValue(parsedA.context, flag),
            flagValue(parsedB.context, flag),
            `${mode} --${flag.name}`,
          );
        }
        const env = (c: Json, name: string) =>
          c.env?.find((e: Json) => e.name === name)?.value;
        if (env(b, "LS_CONTROLLERS")) {
          assert.equal(env(a, "LS_CONTROLLERS"), env(b, "LS_CONTROLLERS"));
        }
        for (const key of ["resources", "securityContext"]) {
          assert.deepEqual(a[key], b[key], `${mode} ${key}`);
        }
        const specA = podSpecOf(ours);
        const specB = podSpecOf(theirs);
        for (
          const key of [
            "priorityClassName",
            "tolerations",
            "nodeSelector",
            "hostPID",
            "securityContext",
          ]
        ) {
          const ours = key === "securityContext" &&
              PARITY_EXCEPTIONS[mode]?.includes("runAsGroup")
            ? { ...specA[key], runAsGroup: specB[key]?.runAsGroup }
            : specA[key];
          // JSON drops the runAsGroup set to undefined above.
          assert.deepEqual(
            ours === undefined ? undefined : JSON.parse(JSON.stringify(ours)),
            specB[key],
            `${mode} pod ${key}`,
          );
        }
        assert.equal(ours.spec.replicas, theirs.spec.replicas, mode);
      });
    }
  },
});

Deno.test({
  name:
    "`helm template` refuses an option its mode does not parse and an unknown extender mode",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn(t) {
    const cases: [string, Json, RegExp][] = [
      // An affinity-only flag among the options every mode gets.
      [
        "misplaced option",
        { options: { reconcileRate: "15s" } },
        /reconcileRate/,
      ],
      [
        "misspelt option",
        { fencing: { options: { failoverTimeout: "5s" } } },
        /failoverTimeout/,
      ],
      ["unknown mode", { extender: { mode: "both" } }, /second-scheduler/],
    ];
    for (const [name, values, message] of cases) {
      await t.step(name, async () => {
        await assert.rejects(render(values), message);
      });
    }
  },
});

Deno.test({
  name:
    "`helm template` gives each mode the RBAC rules of deploy/<mode>/rbac.yaml, no wider",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn(t) {
    const second = await render({});
    const standalone = await render({
      extender: { mode: "default-scheduler" },
    });
    for (const mode of MODES) {
      await t.step(mode, () => {
        const shipped = objectsOf(`deploy/${mode}/rbac.yaml`);
        for (const kind of ["ClusterRole", "Role"]) {
          const want = byKind(shipped, kind).map(normalizedRules).sort();
          const got = byKind(second, kind).filter((o) => component(o) === mode)
            .map(normalizedRules).sort();
          assert.deepEqual(got, want, `${mode} ${kind}`);
        }
        const want = byKind(shipped, "ClusterRoleBinding").map((o) =>
          o.roleRef.name
        ).filter((name) => name.startsWith("system:")).sort();
        const got = byKind(second, "ClusterRoleBinding").filter((o) =>
          component(o) === mode
        ).map((o) => o.roleRef.name).filter((n) => n.startsWith("system:"))
          .sort();
        assert.deepEqual(got, want, `${mode} built-in roles`);
      });
    }
    await t.step(
      "the standalone extender's ServiceAccount gets only the extender's read rules",
      () => {
        const deployment = standalone.find((o) =>
          o.kind === "Deployment" && component(o) === "extender"
        );
        const account = podSpecOf(deployment).serviceAccountName;
        const roles = [
          ...byKind(standalone, "ClusterRoleBinding"),
          ...byKind(standalone, "RoleBinding"),
        ].filter((b) => b.subjects.some((s: Json) => s.name === account))
          .map((b) => b.roleRef.name);
        assert.deepEqual(roles, [`${RELEASE}-extender`]);
        const scheduler = second.find((o) =>
          o.kind === "Deployment" && component(o) === "extender"
        );
        assert.notEqual(podSpecOf(scheduler).serviceAccountName, account);
      },
    );
  },
});

Deno.test({
  name:
    "`helm template` second scheduler: kube-scheduler follows the cluster's version unless pinned, and calls its sidecar where it listens",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn(t) {
    const image = async (kubeVersion: string, values: Json = {}) => {
      const objects = await render(values, { kubeVersion });
      const deployment = objects.find((o) =>
        o.kind === "Deployment" && component(o) === "extender"
      );
      return podSpecOf(deployment).containers.find((c: Json) =>
        c.name === "kube-scheduler"
      ).image;
    };
    const versions: [string, string][] = [
      ["v1.35.8", "v1.35.8"],
      ["v1.33.2+k3s1", "v1.33.2"],
      ["v1.29.6-eks-db838b0", "v1.29.6"],
    ];
    for (const [version, tag] of versions) {
      await t.step(version, async () => {
        assert.equal(
          await image(version),
          `registry.k8s.io/kube-scheduler:${tag}`,
        );
      });
    }
    await t.step("pinned", async () => {
      assert.equal(
        await image("v1.35.8", {
          extender: {
            scheduler: { image: { repository: "r/ks", tag: "v1.34.0" } },
          },
        }),
        "r/ks:v1.34.0",
      );
    });
    await t.step("urlPrefix, schedulerName and lease", async () => {
      const objects = await render({ extender: { schedulerName: "drbd" } });
      const config = byKind(objects, "ConfigMap").find((o) =>
        component(o) === "extender"
      );
      const scheduler = parseAllDocuments(
        config.data["scheduler-config.yaml"],
      )[0]!.toJS();
      assert.equal(
        scheduler.apiVersion,
        "kubescheduler.config.k8s.io/v1",
      );
      assert.equal(scheduler.profiles[0].schedulerName, "drbd");
      const deployment = objects.find((o) =>
        o.kind === "Deployment" && component(o) === "extender"
      );
      const sidecar = podSpecOf(deployment).containers.find((c: Json) =>
        IMAGE.test(c.image)
      );
      const { context } = await parseContainer(sidecar);
      const url = new URL(scheduler.extenders[0].urlPrefix);
      assert.equal(url.host, context.flags.string("listen"));
      assert.equal(
        podSpecOf(deployment).volumes.find((v: Json) => v.configMap)
          .configMap.name,
        config.metadata.name,
      );
      const role = byKind(objects, "Role").find((o) =>
        component(o) === "extender"
      );
      assert.deepEqual(
        role.rules.find((r: Json) => r.resourceNames).resourceNames,
        [scheduler.leaderElection.resourceName],
      );
    });
  },
});

function secretCerts(secret: Json) {
  const pem = (key: string) => atob(secret.data[key]);
  return {
    ca: new X509Certificate(pem("ca.crt")),
    cert: new X509Certificate(pem("tls.crt")),
    key: pem("tls.key"),
    caKey: pem("ca.key"),
  };
}

Deno.test({
  name:
    "`helm template` default-scheduler extender: generates a CA-signed serving certificate for its Service and mounts only the certificate and key",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn() {
    const objects = await render({ extender: { mode: "default-scheduler" } });
    const secret = byKind(objects, "Secret")[0];
    assert.equal(secret.type, "kubernetes.io/tls");
    const { ca, cert } = secretCerts(secret);
    assert.ok(cert.checkIssued(ca));
    assert.ok(cert.verify(ca.publicKey));
    assert.ok(ca.ca);
    const service = byKind(objects, "Service").find((o) =>
      component(o) === "extender"
    );
    const host = `${service.metadata.name}.${NAMESPACE}.svc`;
    assert.equal(cert.checkHost(host), host);
    const deployment = objects.find((o) =>
      o.kind === "Deployment" && component(o) === "extender"
    );
    const spec = podSpecOf(deployment);
    const volume = spec.volumes.find((v: Json) => v.secret);
    assert.equal(volume.secret.secretName, secret.metadata.name);
    assert.deepEqual(volume.secret.items.map((i: Json) => i.key).sort(), [
      "tls.crt",
      "tls.key",
    ]);
    const container = spec.containers[0];
    const mount = container.volumeMounts.find((m: Json) =>
      m.name === volume.name
    );
    const { context } = await parseContainer(container);
    assert.equal(
      context.flags.string("tls-cert"),
      `${mount.mountPath}/tls.crt`,
    );
    assert.equal(context.flags.string("tls-key"), `${mount.mountPath}/tls.key`);
    assert.equal(
      container.ports.find((p: Json) => p.name === "https").containerPort,
      Number(context.flags.string("listen")!.split(":").at(-1)),
    );
    // A Secret of the user's (e.g. cert-manager's) replaces the generated one.
    const own = await render({
      extender: { mode: "default-scheduler", tls: { secretName: "mine" } },
    });
    assert.deepEqual(byKind(own, "Secret"), []);
    assert.equal(
      podSpecOf(
        own.find((o) => o.kind === "Deployment" && component(o) === "extender"),
      ).volumes.find((
        v: Json,
      ) => v.secret).secret.secretName,
      "mine",
    );
  },
});

Deno.test({
  name:
    "`helm install` notes give the default scheduler a stanza whose URL the generated certificate and the Service serve",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn(t) {
    const cases: [string, Json][] = [
      ["Service name", {}],
      ["pinned ClusterIP", { service: { clusterIP: "10.96.0.50" } }],
    ];
    for (const [name, extender] of cases) {
      await t.step(name, async () => {
        const out = await helm([
          "install",
          RELEASE,
          CHART,
          "--namespace",
          NAMESPACE,
          "--dry-run=client",
        ], {
          values: { extender: { mode: "default-scheduler", ...extender } },
        });
        const manifest = out.slice(
          out.indexOf("MANIFEST:") + 9,
          out.indexOf("NOTES:"),
        );
        const notes = out.slice(out.indexOf("NOTES:"));
        const stanza = /^ {2}extenders:\n(?: {4}.*\n)+/m.exec(notes)?.[0];
        assert.ok(stanza, notes);
        const [extenderConfig] = parseAllDocuments(stanza)[0]!.toJS().extenders;
        const objects = objectsOfText(manifest, "helm install --dry-run");
        const service = byKind(objects, "Service").find((o) =>
          component(o) === "extender"
        );
        const url = new URL(extenderConfig.urlPrefix);
        assert.equal(url.protocol, "https:");
        assert.equal(Number(url.port), service.spec.ports[0].port);
        const { cert } = secretCerts(byKind(objects, "Secret")[0]);
        if (extender.service) {
          assert.equal(url.hostname, extender.service.clusterIP);
          assert.equal(cert.checkIP(url.hostname), url.hostname);
        } else {
          assert.equal(
            url.hostname,
            `${service.metadata.name}.${NAMESPACE}.svc`,
          );
          assert.equal(cert.checkHost(url.hostname), url.hostname);
        }
        assert.equal(extenderConfig.ignorable, true);
        assert.equal(extenderConfig.nodeCacheCapable, true);
        assert.equal(extenderConfig.enableHTTPS, true);
      });
    }
  },
});

Deno.test({
  name:
    "`helm template` ships the dashboard and the alerts only when enabled and present",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn() {
    const objects = await render(
      VALUE_SETS["monitoring on, PDBs by minAvailable, pinned kube-scheduler"],
    );
    const exists = (path: string) => {
      try {
        Deno.statSync(new URL(`${CHART}/${path}`, "file:///"));
        return true;
      } catch {
        return false;
      }
    };
    const dashboard = byKind(objects, "ConfigMap").filter((o) =>
      o.metadata.labels?.grafana_dashboard === "1"
    );
    assert.equal(dashboard.length, exists("files/dashboard.json") ? 1 : 0);
    for (const map of dashboard) {
      const text = Object.values(map.data)[0] as string;
      assert.deepEqual(
        JSON.parse(text),
        JSON.parse(Deno.readTextFileSync(`${CHART}/files/dashboard.json`)),
      );
    }
    const rules = byKind(objects, "PrometheusRule");
    assert.equal(rules.length, exists("files/alerts.yaml") ? 1 : 0);
    for (const rule of rules) {
      assert.deepEqual(
        rule.spec.groups,
        parseAllDocuments(
          Deno.readTextFileSync(`${CHART}/files/alerts.yaml`),
        )[0]!.toJS(),
      );
    }
    const [monitor] = byKind(objects, "ServiceMonitor");
    assert.equal(monitor.apiVersion, "monitoring.coreos.com/v1");
    const services = byKind(objects, "Service").filter((s) =>
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) =>
        s.metadata.labels[k] === v
      )
    );
    assert.deepEqual(services.map(component).sort(), [...MODES].sort());
    // Each metrics Service reaches the port serving /metrics.
    for (const service of services) {
      const workload = objects.find((o) =>
        podSpecOf(o) && component(o) === component(service)
      );
      const container = podSpecOf(workload).containers.find((c: Json) =>
        IMAGE.test(c.image)
      );
      const { context } = await parseContainer(container);
      const port = container.ports.find((p: Json) =>
        p.name === service.spec.ports[0].targetPort
      ).containerPort;
      assert.equal(
        port,
        Number(context.flags.string("health-address")!.split(":").at(-1)),
      );
    }
    const off = await render({});
    for (const kind of CRD_KINDS) assert.deepEqual(byKind(off, kind), []);
  },
});

Deno.test({
  name:
    "`helm template` on the real apiserver: the output passes a server-side dry run with strict field validation, and `lookup` keeps the extender's certificate across upgrades and renews it (then the CA) near expiry",
  ignore: ignoreWithoutDeployTool("helm") || ignoreWithoutControlPlane(),
  async fn(t) {
    await using cp = await startControlPlane({});
    for (const [name, values] of Object.entries(VALUE_SETS)) {
      await t.step(`dry run: ${name}`, async () => {
        // ServiceMonitor and PrometheusRule need the Prometheus Operator's
        // CRDs, which this apiserver lacks: they are left out here (their
        // shape is checked above); everything else is created.
        const objects = (await render(values)).filter((o) =>
          !CRD_KINDS.has(o.kind)
        );
        assert.deepEqual(await dryRunCreate(cp, objects, name), []);
      });
    }
    await t.step("certificate kept, then renewed", async () => {
      await checkCertificateRenewal(cp);
    });
  },
});

async function checkCertificateRenewal(cp: ControlPlane): Promise<void> {
  const values = { extender: { mode: "default-scheduler" } };
  const kubeconfig = cp.kubeconfigFor("admin");
  const secretOf = async () =>
    byKind(await render(values, { kubeconfig }), "Secret")[0];
  const first = await secretOf();
  const path = `/api/v1/namespaces/${NAMESPACE}/secrets/${first.metadata.name}`;
  await createNamespaces(cp, [{ metadata: { namespace: NAMESPACE } }]);
  // What `helm install` would have created: the rendered Secret, owned by
  // the release.
  first.metadata.annotations = {
    ...first.metadata.annotations,
    "meta.helm.sh/release-name": RELEASE,
    "meta.helm.sh/release-namespace": NAMESPACE,
  };
  await cp.request("POST", `/api/v1/namespaces/${NAMESPACE}/secrets`, {
    body: first,
  });

  const kept = await secretOf();
  assert.deepEqual(kept.data, first.data);

  const soon = (days: number) =>
    String(Math.floor(Date.now() / 1000) + days * 86_400);
  const annotate = async (key: string, value: string) => {
    await cp.request("PATCH", path, {
      body: { metadata: { annotations: { [key]: value } } },
      contentType: "application/merge-patch+json",
    });
  };
  await annotate("linstor-suite.io/not-after", soon(10));
  const renewed = await secretOf();
  assert.notEqual(renewed.data["tls.crt"], first.data["tls.crt"]);
  assert.equal(renewed.data["ca.crt"], first.data["ca.crt"]);
  const a = secretCerts(first);
  const b = secretCerts(renewed);
  assert.ok(b.cert.verify(a.ca.publicKey));
  assert.ok(
    Number(renewed.metadata.annotations["linstor-suite.io/not-after"]) >
      Number(soon(300)),
  );

  await annotate("linstor-suite.io/ca-not-after", soon(10));
  const rotated = await secretCerts(await secretOf());
  assert.notEqual(rotated.ca.fingerprint256, a.ca.fingerprint256);
  assert.ok(rotated.cert.verify(rotated.ca.publicKey));
}

Deno.test({
  name:
    "`helm template` adds each mode's extraEnv to its container last, after the chart's own variables (so they can replace one), and none by default",
  ignore: ignoreWithoutDeployTool("helm"),
  async fn(t) {
    const extra = (mode: string) => [
      { name: "DENO_V8_FLAGS", value: "--max-semi-space-size=4" },
      { name: "EXTRA_OF", value: mode },
    ];
    const plain = await render({});
    const settings = [
      ["second scheduler", {}],
      ["default-scheduler extender", {
        extender: { mode: "default-scheduler" },
      }],
    ] as const;
    for (const [name, base] of settings) {
      const values: Json = structuredClone(base);
      for (const mode of MODES) {
        values[mode] = { ...values[mode], extraEnv: extra(mode) };
      }
      const objects = await render(values);
      for (const mode of MODES) {
        await t.step(`${name}: ${mode}`, () => {
          const containers = suiteContainersOf(objects).filter((c: Json) =>
            c.args[0] === mode
          );
          assert.ok(containers.length > 0, mode);
          for (const container of containers) {
            const env: Json[] = container.env;
            assert.deepEqual(env.slice(-2), extra(mode));
            // The chart's own variables stay (LS_CONTROLLERS first of them).
            assert.ok(env.some((e) => e.name === "LS_CONTROLLERS"));
          }
        });
      }
    }
    for (const container of suiteContainersOf(plain)) {
      assert.ok(
        !container.env?.some((e: Json) => e.name === "DENO_V8_FLAGS"),
        container.name,
      );
    }
  },
});
