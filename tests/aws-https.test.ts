// The AWS front door: HTTPS without a domain or certificate (CloudFront's default certificate in
// front of the load balancer, which admits only CloudFront: its managed prefix list and a secret
// origin header), certificateArn as before, and plain HTTP only by explicit opt-out.
import { awsCalls as calls, CLOUDFRONT_PREFIX_LIST_ID, REGION } from "./awsMocks";
import { ProgramRun, RecordedResource, runProgram } from "./harness";
import { committedUrnSet, urnSet } from "./urnSets";
import { ConfigError, parseConfig, RawConfig } from "../components/config";

const BASE = { "aws:region": REGION, target: "aws" };
const CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666";
const T = {
    distribution: "aws:cloudfront/distribution:Distribution",
    listener: "aws:lb/listener:Listener",
    rule: "aws:lb/listenerRule:ListenerRule",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    tg: "aws:lb/targetGroup:TargetGroup",
    alb: "aws:lb/loadBalancer:LoadBalancer",
    password: "random:index/randomPassword:RandomPassword",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
} as const;
/** What the mocks answer for the origin secret (tests/harness.ts): a recognisable value to look for. */
const SECRET = "pw-mlflow-aws-proxy-origin-secret-S3cret!@:%";
const CLOUDFRONT_DNS = "d111111abcdef8.cloudfront.net";

let front: ProgramRun;
let plain: ProgramRun;
let https: ProgramRun;

beforeAll(async () => {
    front = await runProgram({ stack: "aws", config: BASE, calls });
    plain = await runProgram({ stack: "aws", config: { ...BASE, plainHttp: "true", ingressCidrs: '["10.0.0.0/8"]' }, calls });
    https = await runProgram({ stack: "aws", config: { ...BASE, certificateArn: CERT, domainName: "mlflow.example.com" }, calls });
}, 60000);

const lbSg = (run: ProgramRun) => `${run.one(T.sg, /-lb-sg$/).name}-id`;
const arn = (kind: string, name: string) => `arn:aws:mock:eu-west-1:123456789012:${kind}/${name}`;
const envOf = (run: ProgramRun, name: string): Record<string, string> => Object.fromEntries(
    (JSON.parse(run.one(T.taskDef, /-tracking-task$/).inputs.containerDefinitions) as Array<{ name: string; environment: { name: string; value: string }[] }>)
        .find(c => c.name === name)!.environment.map(e => [e.name, e.value]));

describe("default (no certificate): CloudFront in front", () => {
    test("adds exactly a distribution, its origin secret, the `/` rule and the prefix-list ingress; drops only the 0.0.0.0/0 rule", () => {
        const before = new Set(urnSet(plain));
        const after = new Set(urnSet(front));
        const tail = (u: string) => u.slice(u.lastIndexOf("::") + 2);
        expect([...after].filter(u => !before.has(u)).map(tail).sort()).toEqual([
            "mlflow-aws-network-lb-in-cloudfront-80", "mlflow-aws-proxy-cdn", "mlflow-aws-proxy-origin", "mlflow-aws-proxy-origin-secret",
        ]);
        expect([...before].filter(u => !after.has(u)).map(tail)).toEqual(["mlflow-aws-network-lb-in-80-0"]);
    });

    test("the load balancer admits port 80 from CloudFront's origin-facing prefix list only, no CIDR", () => {
        const rules = front.ofType(T.ingress).filter(r => r.inputs.securityGroupId === lbSg(front));
        expect(rules.map(r => r.inputs)).toEqual([expect.objectContaining({ ipProtocol: "tcp", fromPort: 80, toPort: 80, prefixListId: CLOUDFRONT_PREFIX_LIST_ID })]);
        expect(rules[0].inputs.cidrIpv4).toBeUndefined();
        expect(rules[0].inputs.cidrIpv6).toBeUndefined();
        expect(front.ofType(T.ingress).filter(r => r.inputs.cidrIpv4 !== undefined || r.inputs.cidrIpv6 !== undefined)).toEqual([]);
    });

    test("the listener answers 403 by default; only the origin rule (header = the secret) forwards to MLflow", () => {
        const listener = front.one(T.listener);
        expect(listener.inputs).toMatchObject({ port: 80, protocol: "HTTP" });
        expect(listener.inputs.defaultActions).toEqual([{ type: "fixed-response", fixedResponse: { contentType: "text/plain", messageBody: "Forbidden", statusCode: "403" } }]);
        const rule = front.one(T.rule);
        expect(rule.inputs).toEqual(expect.objectContaining({
            listenerArn: arn("lb/listener", listener.name),
            priority: 50000,
            conditions: [{ httpHeader: { httpHeaderName: "X-Origin-Verify", values: [SECRET] } }],
            actions: [{ type: "forward", targetGroupArn: arn("lb/targetGroup", front.one(T.tg).name) }],
        }));
    });

    test("CloudFront: default certificate, HTTP redirected, every method, nothing cached, all viewer headers, the secret header to the ALB", () => {
        const d = front.one(T.distribution).inputs;
        expect(d.viewerCertificate).toEqual({ cloudfrontDefaultCertificate: true });
        expect(d.defaultCacheBehavior).toMatchObject({
            viewerProtocolPolicy: "redirect-to-https",
            cachePolicyId: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
            originRequestPolicyId: "216adef6-5c7f-47e4-b989-5492eafa07d3",
            targetOriginId: "alb",
        });
        expect([...d.defaultCacheBehavior.allowedMethods].sort()).toEqual(["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]);
        expect(d.origins).toEqual([expect.objectContaining({
            originId: "alb",
            domainName: `${front.one(T.alb).name}-123456789.eu-west-1.elb.amazonaws.com`,
            customHeaders: [{ name: "X-Origin-Verify", value: SECRET }],
            customOriginConfig: expect.objectContaining({ httpPort: 80, originProtocolPolicy: "http-only", originReadTimeout: 60, originKeepaliveTimeout: 60 }),
        })]);
        expect(d.enabled).toBe(true);
    });

    test("the origin secret is a generated Pulumi secret, and in no plaintext input or output", () => {
        const secret = front.one(T.password, /-origin-secret$/);
        expect(secret.inputs).toMatchObject({ length: 48, special: false });
        expect(front.one(T.distribution).secretInputs).toContain("origins");
        expect(front.one(T.rule).secretInputs).toContain("conditions");
        const leaks = (r: RecordedResource) => Object.entries(r.inputs)
            .filter(([k, v]) => !r.secretInputs.includes(k) && JSON.stringify(v ?? null).includes(SECRET)).map(([k]) => `${r.name}.${k}`);
        expect(front.resources.flatMap(leaks)).toEqual([]);
        expect(JSON.stringify(front.outputs)).not.toContain(SECRET);
    });

    test("the tracking URI is CloudFront's HTTPS name, which MLflow accepts as Host (AllViewer forwards it) and as a CORS origin", () => {
        expect(front.outputs.trackingUri).toBe(`https://${CLOUDFRONT_DNS}`);
        const e = envOf(front, "mlflow");
        expect(e.MLFLOW_SERVER_ALLOWED_HOSTS.split(",")).toContain(CLOUDFRONT_DNS);
        // The load balancer's own name answers 403 to anyone but CloudFront: not a host to accept.
        expect(e.MLFLOW_SERVER_ALLOWED_HOSTS).not.toContain("elb.amazonaws.com");
        expect(e.MLFLOW_SERVER_CORS_ALLOWED_ORIGINS.split(",")).toContain(`https://${CLOUDFRONT_DNS}`);
    });
});

describe("plainHttp: today's graph, for private networks", () => {
    test("registers exactly the URNs today's default stack has", () => {
        expect(urnSet(plain)).toEqual(committedUrnSet("aws-mysql-plain-http", plain));
    });

    test("the listener forwards everything from the configured CIDRs, no CloudFront, no origin secret", () => {
        expect(plain.one(T.listener).inputs.defaultActions).toEqual([expect.objectContaining({ type: "forward" })]);
        expect(plain.ofType(T.distribution)).toEqual([]);
        expect(plain.ofType(T.rule)).toEqual([]);
        expect(plain.ofType(T.ingress).filter(r => r.inputs.securityGroupId === lbSg(plain)).map(r => [r.inputs.cidrIpv4, r.inputs.prefixListId]))
            .toEqual([["10.0.0.0/8", undefined]]);
        expect(plain.outputs.trackingUri).toBe(`http://${plain.one(T.alb).name}-123456789.eu-west-1.elb.amazonaws.com`);
    });
});

describe("certificateArn and domainName: HTTPS on the load balancer, no CloudFront", () => {
    test("no distribution, no origin rule; the HTTPS listener forwards; the tracking URI is the domain", () => {
        expect(https.ofType(T.distribution)).toEqual([]);
        expect(https.ofType(T.rule)).toEqual([]);
        expect(https.one(T.listener, /-https$/).inputs.defaultActions).toEqual([expect.objectContaining({ type: "forward" })]);
        expect(https.outputs.trackingUri).toBe("https://mlflow.example.com");
        expect(https.ofType(T.ingress).filter(r => r.inputs.securityGroupId === lbSg(https)).map(r => r.inputs.cidrIpv4).sort()).toEqual(["0.0.0.0/0", "0.0.0.0/0"]);
    });
});

describe("config: plain HTTP only on purpose, and nothing the front door would ignore", () => {
    const refused = (raw: RawConfig): string => {
        try {
            parseConfig({ target: "aws", ...raw }, REGION);
        } catch (e) {
            if (e instanceof ConfigError) return e.message;
            throw e;
        }
        throw new Error(`accepted ${JSON.stringify(raw)}`);
    };

    test.each<[string, RawConfig, RegExp]>([
        ["plainHttp open to the world", { plainHttp: "true" }, /plainHttp = "true" is invalid: sends passwords unencrypted and is only for private networks: set ingressCidrs .*0\.0\.0\.0\/0.*Fix: pulumi config set plainHttp false/],
        ["plainHttp with a certificate", { plainHttp: "true", certificateArn: CERT, ingressCidrs: '["10.0.0.0/8"]' }, /plainHttp = "true" is invalid: cannot be combined with certificateArn/],
        ["CIDRs behind CloudFront", { ingressCidrs: '["203.0.113.0/24"]' }, /ingressCidrs = "203\.0\.113\.0\/24" is invalid: it applies only with certificateArn or plainHttp.*Fix: pulumi config set certificateArn .* or pulumi config rm ingressCidrs/],
        ["a domain without a certificate", { domainName: "mlflow.example.com" }, /domainName = "mlflow\.example\.com" is invalid: it needs certificateArn.*Fix: pulumi config set certificateArn/],
    ])("refuses %s", (_label, raw, message) => {
        expect(refused(raw)).toMatch(message);
    });

    test("accepts the default, plainHttp with private CIDRs, and a certificate with CIDRs and a domain", () => {
        expect(parseConfig({ target: "aws" }, REGION)).toMatchObject({ aws: { plainHttp: false } });
        // Pulumi.yaml's default list, handed to the program as if set, is not a CIDR restriction.
        expect(parseConfig({ target: "aws", ingressCidrs: '["0.0.0.0/0"]' }, REGION)).toMatchObject({ aws: { ingressCidrs: ["0.0.0.0/0"] } });
        expect(parseConfig({ target: "aws", plainHttp: "true", ingressCidrs: '["10.0.0.0/8"]' }, REGION)).toMatchObject({ aws: { plainHttp: true } });
        expect(parseConfig({ target: "aws", certificateArn: CERT, domainName: "m.example.com", ingressCidrs: '["203.0.113.0/24"]' }, REGION))
            .toMatchObject({ aws: { ingressCidrs: ["203.0.113.0/24"], domainName: "m.example.com" } });
    });
});
