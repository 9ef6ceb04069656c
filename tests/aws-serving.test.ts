// The aws stack with servedModels, under mocks, against the same stack without it:
// the model services, their read-only logins, the Cloud Map registration and the model security
// group are additions; nothing else changes but MLflow's allowed hosts, the tracking service's
// registry, and the tracking sidecar (reader server, port and htpasswd) and its execution role.
import { awsCalls as calls, REGION } from "./awsMocks";
import { mockVersionId, ProgramRun, RecordedResource, runProgram } from "./harness";
import { committedUrnSet, urnSet } from "./urnSets";
import { keepAliveChain } from "../components/shared/keepalive";
import { HTPASSWD_PATH, PROXY_LISTEN_PORT, renderProxyConfig } from "../components/authProxy/nginx";
import { MLFLOW_PORT } from "../components/trackingServer/mlflow";
import { READER_HTPASSWD_PATH, readerUsername, REGISTRY_READER_PORT } from "../components/authProxy/registryReader";
import { PROXY_COMMAND, PROXY_COMMAND_WITH_READERS } from "../components/shared/ecs";
import { stableHtpasswdEntry } from "../components/shared/credentials";
import {
    internalTrackingHost, internalTrackingUri, MODEL_PROXY_PORT, modelRulePriority, renderModelProxyConfig, renderModelTaskContainers,
} from "../components/modelServer/ecs";

const BASE = { "aws:region": REGION, target: "aws", backend: "mysql" };
const SERVING = { ...BASE, servedModels: '["churn","Fraud.Detector@challenger"]', servingWorkers: "2", servingPollSeconds: "5" };
const MODELS = [
    { name: "churn", alias: "champion", slug: "churn" },
    { name: "Fraud.Detector", alias: "challenger", slug: "fraud-detector" },
] as const;

const T = {
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    service: "aws:ecs/service:Service",
    targetGroup: "aws:lb/targetGroup:TargetGroup",
    rule: "aws:lb/listenerRule:ListenerRule",
    listener: "aws:lb/listener:Listener",
    namespace: "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace",
    discovery: "aws:servicediscovery/service:Service",
    scalingTarget: "aws:appautoscaling/target:Target",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    secret: "aws:secretsmanager/secret:Secret",
    repo: "aws:ecr/repository:Repository",
    image: "docker:index/image:Image",
    password: "random:index/randomPassword:RandomPassword",
    salt: "random:index/randomString:RandomString",
} as const;

let plain: ProgramRun;
let run: ProgramRun;
beforeAll(async () => {
    plain = await runProgram({ stack: "aws", config: BASE, calls });
    run = await runProgram({ stack: "aws", config: SERVING, calls });
});

const byName = (r: ProgramRun, type: string, name: string): RecordedResource => {
    const found = r.ofType(type).find(x => x.name === name);
    if (!found) throw new Error(`no ${type} ${name}`);
    return found;
};
const id = (r: RecordedResource) => `${r.name}-id`;
const secretArn = (name: string) => `arn:aws:mock:eu-west-1:123456789012:secretsmanager/secret/${name}`;
const readersArn = secretArn("mlflow-aws-proxy-readers-htpasswd");
const trackingDefs = (r: ProgramRun) => JSON.parse(byName(r, T.taskDef, "mlflow-aws-tracking-task").inputs.containerDefinitions);
const mlflowEnv = (r: ProgramRun) => Object.fromEntries((JSON.parse(byName(r, T.taskDef, "mlflow-aws-tracking-task").inputs.containerDefinitions)[0].environment as { name: string; value: string }[]).map(e => [e.name, e.value]));

test("adds exactly the model services, their alarms, the Cloud Map registration and the model security group; no existing URN changes", () => {
    const added = urnSet(run).filter(u => !urnSet(plain).includes(u));
    expect(urnSet(run)).toEqual(expect.arrayContaining(committedUrnSet("aws-mysql", plain)));
    expect(added).toEqual([
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:AuthProxy$aws:secretsmanager/secret:Secret::mlflow-aws-proxy-readers-htpasswd",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:AuthProxy$aws:secretsmanager/secretVersion:SecretVersion::mlflow-aws-proxy-readers-htpasswd",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:AuthProxy$random:index/randomPassword:RandomPassword::mlflow-aws-proxy-reader-churn-password",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:AuthProxy$random:index/randomPassword:RandomPassword::mlflow-aws-proxy-reader-fraud-detector-password",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:AuthProxy$random:index/randomString:RandomString::mlflow-aws-proxy-reader-churn-salt",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:AuthProxy$random:index/randomString:RandomString::mlflow-aws-proxy-reader-fraud-detector-salt",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:appautoscaling/policy:Policy::mlflow-aws-model-churn-cpu",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:appautoscaling/policy:Policy::mlflow-aws-model-fraud-detector-cpu",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:appautoscaling/target:Target::mlflow-aws-model-churn-scaling",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:appautoscaling/target:Target::mlflow-aws-model-fraud-detector-scaling",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:cloudwatch/logGroup:LogGroup::mlflow-aws-model-churn-logs",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:cloudwatch/logGroup:LogGroup::mlflow-aws-model-fraud-detector-logs",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:ecs/service:Service::mlflow-aws-model-churn-service",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:ecs/service:Service::mlflow-aws-model-fraud-detector-service",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:ecs/taskDefinition:TaskDefinition::mlflow-aws-model-churn-task",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:ecs/taskDefinition:TaskDefinition::mlflow-aws-model-fraud-detector-task",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:iam/role:Role::mlflow-aws-model-churn-execution",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:iam/role:Role::mlflow-aws-model-fraud-detector-execution",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:iam/rolePolicy:RolePolicy::mlflow-aws-model-churn-execution",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:iam/rolePolicy:RolePolicy::mlflow-aws-model-fraud-detector-execution",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:lb/listenerRule:ListenerRule::mlflow-aws-model-churn-rule",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:lb/listenerRule:ListenerRule::mlflow-aws-model-fraud-detector-rule",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:lb/targetGroup:TargetGroup::mlflow-aws-model-churn-tg",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:lb/targetGroup:TargetGroup::mlflow-aws-model-fraud-detector-tg",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:secretsmanager/secret:Secret::mlflow-aws-model-churn-reader",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:secretsmanager/secret:Secret::mlflow-aws-model-fraud-detector-reader",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:secretsmanager/secretVersion:SecretVersion::mlflow-aws-model-churn-reader",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$aws:secretsmanager/secretVersion:SecretVersion::mlflow-aws-model-fraud-detector-reader",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer::mlflow-aws-model-churn",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer::mlflow-aws-model-fraud-detector",
        // Each model's alarms (tests/aws-monitoring.test.ts).
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Monitoring$aws:cloudwatch/metricAlarm:MetricAlarm::mlflow-aws-monitoring-model-churn-cpu",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Monitoring$aws:cloudwatch/metricAlarm:MetricAlarm::mlflow-aws-monitoring-model-churn-memory",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Monitoring$aws:cloudwatch/metricAlarm:MetricAlarm::mlflow-aws-monitoring-model-churn-restart-loop",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Monitoring$aws:cloudwatch/metricAlarm:MetricAlarm::mlflow-aws-monitoring-model-churn-unhealthy",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Monitoring$aws:cloudwatch/metricAlarm:MetricAlarm::mlflow-aws-monitoring-model-fraud-detector-cpu",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Monitoring$aws:cloudwatch/metricAlarm:MetricAlarm::mlflow-aws-monitoring-model-fraud-detector-memory",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Monitoring$aws:cloudwatch/metricAlarm:MetricAlarm::mlflow-aws-monitoring-model-fraud-detector-restart-loop",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Monitoring$aws:cloudwatch/metricAlarm:MetricAlarm::mlflow-aws-monitoring-model-fraud-detector-unhealthy",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Network$aws:ec2/securityGroup:SecurityGroup::mlflow-aws-network-models-sg",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Network$aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::mlflow-aws-network-lb-out-models",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Network$aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::mlflow-aws-network-models-out-https",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Network$aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::mlflow-aws-network-models-out-mlflow",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Network$aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::mlflow-aws-network-models-in-proxy",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Network$aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::mlflow-aws-network-service-in-models",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:TrackingServer$aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace::mlflow-aws-tracking-namespace",
        "urn:pulumi:aws::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:TrackingServer$aws:servicediscovery/service:Service::mlflow-aws-tracking-discovery",
    ]);
    expect(urnSet(run)).toEqual(committedUrnSet("aws-serving", run));
});

test("every other resource has the inputs and options it has without servedModels, except MLflow's allowed hosts, the tracking service's registry and the tracking sidecar's readers", () => {
    const before = new Map(plain.resources.map(r => [`${r.type}::${r.name}`, r]));
    const internal = internalTrackingHost("mlflow-aws-tracking.internal");
    for (const r of run.resources) {
        const was = before.get(`${r.type}::${r.name}`);
        // The dashboard gains a row per model (tests/aws-monitoring.test.ts).
        if (!was || r.type === "aws:cloudwatch/dashboard:Dashboard") continue;
        const inputs = { ...r.inputs };
        if (r.type === T.taskDef && r.name === "mlflow-aws-tracking-task") {
            const defs = JSON.parse(inputs.containerDefinitions);
            const wasDefs = JSON.parse(was.inputs.containerDefinitions);
            const hosts = (d: any) => d[0].environment.find((e: any) => e.name === "MLFLOW_SERVER_ALLOWED_HOSTS");
            expect(hosts(defs).value).toBe(`${hosts(wasDefs).value},${internal},${internal}:*`);
            hosts(defs).value = hosts(wasDefs).value;
            // The sidecar's reader additions, checked in their own test below; the rest as before.
            defs[1] = wasDefs[1];
            inputs.containerDefinitions = JSON.stringify(defs);
        }
        if (r.type === T.rolePolicy && r.name === "mlflow-aws-tracking-execution") {
            const policy = JSON.parse(inputs.policy);
            const secrets = policy.Statement.find((x: any) => x.Sid === "Secrets");
            expect(secrets.Resource.pop()).toBe(readersArn);
            inputs.policy = JSON.stringify(policy);
        }
        if (r.type === T.service && r.name === "mlflow-aws-tracking-service") {
            expect(inputs.serviceRegistries).toEqual({ registryArn: "arn:aws:mock:eu-west-1:123456789012:servicediscovery/service/mlflow-aws-tracking-discovery" });
            delete inputs.serviceRegistries;
        }
        expect([r.type, r.name, inputs]).toEqual([r.type, r.name, was.inputs]);
        expect([r.name, r.options]).toEqual([r.name, was.options]);
    }
});

test("MLflow is registered in Cloud Map at the name the model servers use, and admits that name", () => {
    const ns = run.one(T.namespace);
    expect(ns.inputs).toMatchObject({ name: "mlflow-aws-tracking.internal", vpc: run.one("aws:ec2/vpc:Vpc").name + "-id" });
    const discovery = run.one(T.discovery);
    expect(discovery.inputs).toMatchObject({
        name: "mlflow", namespaceId: id(ns),
        dnsConfig: { namespaceId: id(ns), routingPolicy: "MULTIVALUE", dnsRecords: [{ type: "A", ttl: 10 }] },
    });
    const trackingUri = internalTrackingUri("mlflow-aws-tracking.internal");
    expect(trackingUri).toBe("http://mlflow.mlflow-aws-tracking.internal:8082");
    expect(mlflowEnv(run).MLFLOW_SERVER_ALLOWED_HOSTS.split(",")).toEqual(expect.arrayContaining(["mlflow.mlflow-aws-tracking.internal", "mlflow.mlflow-aws-tracking.internal:*"]));
    expect(mlflowEnv(plain).MLFLOW_SERVER_ALLOWED_HOSTS).not.toMatch(/internal/);
    expect(plain.ofType(T.namespace)).toEqual([]);
    expect(byName(plain, T.service, "mlflow-aws-tracking-service").inputs.serviceRegistries).toBeUndefined();
});

test("security groups: LB -> model sidecars on 8090 only; model tasks -> the reader port 8082 and 443 only, never MLflow's 5000", () => {
    const sg = (suffix: string) => `mlflow-aws-network-${suffix}-id`;
    const rules = (type: string, group: string) => run.ofType(type).filter(r => r.inputs.securityGroupId === sg(group))
        .map(r => [r.inputs.fromPort, r.inputs.toPort, r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4]);
    expect(rules(T.ingress, "models-sg")).toEqual([[MODEL_PROXY_PORT, MODEL_PROXY_PORT, sg("lb-sg")]]);
    expect(rules(T.egress, "models-sg")).toEqual([[443, 443, "0.0.0.0/0"], [REGISTRY_READER_PORT, REGISTRY_READER_PORT, sg("service-sg")]]);
    expect(rules(T.ingress, "service-sg")).toEqual([[PROXY_LISTEN_PORT, PROXY_LISTEN_PORT, sg("lb-sg")], [REGISTRY_READER_PORT, REGISTRY_READER_PORT, sg("models-sg")]]);
    expect(rules(T.egress, "lb-sg")).toEqual([[PROXY_LISTEN_PORT, PROXY_LISTEN_PORT, sg("service-sg")], [MODEL_PROXY_PORT, MODEL_PROXY_PORT, sg("models-sg")]]);
    // No rule anywhere opens MLflow's own port.
    expect([...run.ofType(T.ingress), ...run.ofType(T.egress)].filter(r => r.inputs.fromPort <= MLFLOW_PORT && MLFLOW_PORT <= r.inputs.toPort)).toEqual([]);
    // The reader rules keep the URNs they had when they opened 5000 (the provider updates their ports in place).
    expect(byName(run, T.egress, "mlflow-aws-network-models-out-mlflow").inputs.fromPort).toBe(REGISTRY_READER_PORT);
    expect(byName(run, T.ingress, "mlflow-aws-network-service-in-models").inputs.fromPort).toBe(REGISTRY_READER_PORT);
});

describe("the tracking sidecar serves the model servers' read-only endpoint", () => {
    test("its config is the tracking proxy's with the reader server, reading READER_HTPASSWD_PATH", () => {
        const proxy = trackingDefs(run)[1];
        const conf = proxy.environment.find((e: any) => e.name === "NGINX_CONF").value;
        expect(conf).toBe(renderProxyConfig({
            listenPort: PROXY_LISTEN_PORT, upstream: `127.0.0.1:${MLFLOW_PORT}`, maxUploadSize: "5g", timeoutSeconds: 3600,
            htpasswdPath: HTPASSWD_PATH, keepAlive: keepAliveChain({ proxyTimeoutSeconds: 3600, loadBalancer: true }),
            registryReader: { htpasswdPath: READER_HTPASSWD_PATH },
        }));
        expect(conf).toContain(`listen ${REGISTRY_READER_PORT};`);
        expect(conf).toContain(`auth_basic_user_file ${READER_HTPASSWD_PATH};`);
        const plainConf = trackingDefs(plain)[1].environment.find((e: any) => e.name === "NGINX_CONF").value;
        expect(plainConf).not.toContain(`listen ${REGISTRY_READER_PORT}`);
        expect(conf.startsWith(plainConf)).toBe(true);
    });

    test("the reader port is mapped and the readers' htpasswd arrives by its version-pinned ARN; the execution role may read it", () => {
        const proxy = trackingDefs(run)[1];
        const version = byName(run, T.secretVersion, "mlflow-aws-proxy-readers-htpasswd");
        expect(proxy.portMappings).toEqual([{ containerPort: PROXY_LISTEN_PORT, protocol: "tcp" }, { containerPort: REGISTRY_READER_PORT, protocol: "tcp" }]);
        expect(proxy.secrets[1]).toEqual({ name: "READERS_HTPASSWD", valueFrom: `${readersArn}:::${mockVersionId(version.name, version.inputs.secretString)}` });
        expect(proxy.command).toEqual(PROXY_COMMAND_WITH_READERS);
        const policy = JSON.parse(byName(run, T.rolePolicy, "mlflow-aws-tracking-execution").inputs.policy);
        expect(policy.Statement.find((x: any) => x.Sid === "Secrets").Resource).toContain(readersArn);
    });

    test("the readers' htpasswd: one SHA-512-crypt line per model for readerUsername, from its password and a salt kept in state; a secret", () => {
        const version = byName(run, T.secretVersion, "mlflow-aws-proxy-readers-htpasswd");
        expect(version.secretInputs).toContain("secretString");
        expect(version.inputs.secretId).toBe("mlflow-aws-proxy-readers-htpasswd-id");
        const salt = byName(run, T.salt, "mlflow-aws-proxy-reader-churn-salt");
        expect(salt.inputs).toMatchObject({ length: 22, overrideSpecial: "./" });
        const expected = MODELS.map(m => {
            const pw = `pw-mlflow-aws-proxy-reader-${m.slug}-password-S3cret!@:%`;
            return `${readerUsername(m.name)}:${stableHtpasswdEntry(pw, "abcdefghijklmnopqrstuv", true)}\n`;
        }).join("");
        expect(version.inputs.secretString).toBe(expected);
        expect(MODELS.map(m => readerUsername(m.name))).toEqual(["model-churn", "model-fraud-detector"]);
        // Not the users' login, and not in the users' htpasswd.
        expect(byName(run, T.secretVersion, "mlflow-aws-proxy-htpasswd").inputs.secretString).not.toMatch(/^model-/m);
    });

    test("without servedModels the tracking sidecar is exactly as before: one port, one secret, the old command", () => {
        const proxy = trackingDefs(plain)[1];
        expect(proxy.portMappings).toEqual([{ containerPort: PROXY_LISTEN_PORT, protocol: "tcp" }]);
        expect(proxy.secrets.map((x: any) => x.name)).toEqual(["HTPASSWD"]);
        expect(proxy.command).toEqual(PROXY_COMMAND);
        expect(plain.ofType(T.secret).map(x => x.name)).not.toContain("mlflow-aws-proxy-readers-htpasswd");
    });
});

describe.each(MODELS)("model $name", m => {
    const n = `mlflow-aws-model-${m.slug}`;

    test("target group on the sidecar port with its own /health; rule /models/<name>/* on the forwarding listener at the name's priority", () => {
        const tg = byName(run, T.targetGroup, `${n}-tg`);
        expect(tg.inputs).toMatchObject({ targetType: "ip", port: MODEL_PROXY_PORT, protocol: "HTTP", vpcId: "mlflow-aws-network-vpc-id", healthCheck: { path: "/health", matcher: "200" } });
        const rule = byName(run, T.rule, `${n}-rule`);
        // No certificate in this stack: the HTTP listener forwards (with one, the HTTPS one would).
        expect(rule.inputs.listenerArn).toBe(`arn:aws:mock:eu-west-1:123456789012:lb/listener/${run.one(T.listener).name}`);
        expect(run.one(T.listener).name).toBe("mlflow-aws-proxy-http");
        expect(rule.inputs.priority).toBe(modelRulePriority(m.name));
        expect(rule.inputs.actions).toEqual([expect.objectContaining({ type: "forward", targetGroupArn: expect.stringContaining(`${n}-tg`) })]);
        // Behind CloudFront, as the `/` rule: only requests carrying the secret origin header.
        expect(rule.inputs.conditions).toEqual([{ pathPattern: { values: [`/models/${m.name}/*`] } }, byName(run, T.rule, "mlflow-aws-proxy-origin").inputs.conditions[0]]);
        expect(rule.secretInputs).toContain("conditions");
        expect(byName(run, T.service, `${n}-service`).options.parent).toBe(n);
    });

    test("container definitions are the renderer's, with the htpasswd secret by its version-pinned ARN only", () => {
        const task = byName(run, T.taskDef, `${n}-task`);
        const version = byName(run, T.secretVersion, "mlflow-aws-proxy-htpasswd");
        const htpasswdArn = "arn:aws:mock:eu-west-1:123456789012:secretsmanager/secret/mlflow-aws-proxy-htpasswd";
        const defs = JSON.parse(task.inputs.containerDefinitions);
        // The same secret and version the tracking task's sidecar names: one password for both
        // (the readers' htpasswd is the tracking sidecar's only).
        const tracking = trackingDefs(run);
        expect(defs[1].secrets).toEqual([tracking[1].secrets[0]]);
        expect(defs[1].secrets).toEqual([{ name: "HTPASSWD", valueFrom: `${htpasswdArn}:::${mockVersionId(version.name, version.inputs.secretString)}` }]);
        const reader = byName(run, T.secretVersion, `${n}-reader`);
        expect(defs).toEqual(renderModelTaskContainers({
            region: REGION, logGroupName: `${n}-logs`, model: { name: m.name, alias: m.alias },
            image: run.one(T.image).inputs.imageName, trackingUri: "http://mlflow.mlflow-aws-tracking.internal:8082", workers: 2, pollSeconds: 5,
            reader: { username: readerUsername(m.name), passwordSecretArn: secretArn(`${n}-reader`), passwordVersionId: mockVersionId(reader.name, reader.inputs.secretString) },
            proxy: {
                image: "nginx:1.28.0-alpine", port: MODEL_PROXY_PORT,
                config: renderModelProxyConfig({
                    listenPort: MODEL_PROXY_PORT, model: { name: m.name, alias: m.alias }, htpasswdPath: HTPASSWD_PATH,
                    maxUploadSize: "5g", timeoutSeconds: 3600, keepAlive: keepAliveChain({ proxyTimeoutSeconds: 3600, loadBalancer: true }),
                }),
                htpasswdSecretArn: htpasswdArn, htpasswdVersionId: mockVersionId(version.name, version.inputs.secretString),
            },
        }));
        expect(task.inputs).toMatchObject({ family: n, networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"] });
        expect(task.inputs.taskRoleArn).toBeUndefined();
        for (const password of run.ofType(T.password)) expect(JSON.stringify(task.inputs)).not.toContain(`pw-${password.name}`);
        expect(JSON.stringify(task.inputs)).not.toMatch(/\$6\$|\{SHA\}|\$apr1\$/);
    });

    test("the supervisor reads at the reader port as its own reader: user in the environment, password from its own secret", () => {
        const defs = JSON.parse(byName(run, T.taskDef, `${n}-task`).inputs.containerDefinitions);
        const env = Object.fromEntries(defs[0].environment.map((e: any) => [e.name, e.value]));
        expect(env.MLFLOW_TRACKING_URI).toBe(`http://mlflow.mlflow-aws-tracking.internal:${REGISTRY_READER_PORT}`);
        expect(env.MLFLOW_TRACKING_USERNAME).toBe(readerUsername(m.name));
        expect(env.MLFLOW_TRACKING_PASSWORD).toBeUndefined();
        const reader = byName(run, T.secretVersion, `${n}-reader`);
        expect(defs[0].secrets).toEqual([{ name: "MLFLOW_TRACKING_PASSWORD", valueFrom: `${secretArn(`${n}-reader`)}:::${mockVersionId(reader.name, reader.inputs.secretString)}` }]);
        // The secret holds exactly the password whose line the tracking sidecar checks, marked secret.
        expect(reader.inputs.secretString).toBe(`pw-mlflow-aws-proxy-reader-${m.slug}-password-S3cret!@:%`);
        expect(reader.secretInputs).toContain("secretString");
        expect(reader.inputs.secretId).toBe(`${n}-reader-id`);
        expect(byName(run, T.secret, `${n}-reader`).options.parent).toBe(n);
    });

    test("the execution role reads the htpasswd secret and this model's reader secret, pulls from the tracking repository, nothing more", () => {
        const policy = JSON.parse(byName(run, T.rolePolicy, `${n}-execution`).inputs.policy);
        const secrets = policy.Statement.find((s: any) => s.Sid === "Secrets");
        expect(secrets.Resource).toEqual([secretArn("mlflow-aws-proxy-htpasswd"), secretArn(`${n}-reader`)]);
        expect(policy.Statement.find((s: any) => s.Sid === "EcrPull").Resource).toEqual([expect.stringContaining("mlflow-aws-tracking-repo")]);
    });

    test("the service runs in the tracking cluster, in the model security group, behind its target group, scaled between minTasks and maxTasks", () => {
        const service = byName(run, T.service, `${n}-service`);
        expect(service.inputs).toMatchObject({
            cluster: expect.stringContaining("mlflow-aws-tracking-cluster"), launchType: "FARGATE",
            networkConfiguration: { securityGroups: ["mlflow-aws-network-models-sg-id"], assignPublicIp: true },
            loadBalancers: [{ targetGroupArn: expect.stringContaining(`${n}-tg`), containerName: "proxy", containerPort: MODEL_PROXY_PORT }],
        });
        const scaling = byName(run, T.scalingTarget, `${n}-scaling`);
        const tracking = byName(run, T.scalingTarget, "mlflow-aws-tracking-scaling");
        expect([scaling.inputs.minCapacity, scaling.inputs.maxCapacity]).toEqual([tracking.inputs.minCapacity, tracking.inputs.maxCapacity]);
        expect(scaling.inputs.resourceId).toMatch(new RegExp(`^service/.*mlflow-aws-tracking-cluster.*/${n}-service`));
    });
});

test("outputs each model's invocation URL; the stack without servedModels has no such output", () => {
    const base = String(run.outputs.trackingUri);
    expect(run.outputs.servedModels).toEqual({
        "churn": `${base}/models/churn/invocations`,
        "Fraud.Detector": `${base}/models/Fraud.Detector/invocations`,
    });
    expect("servedModels" in plain.outputs).toBe(false);
});
