// Every name the AWS provider generates (`<resource name>-<7 hex>`) fits its type's limit at the
// longest stack, project and model names the platform accepts; one character more is refused
// before anything is registered. Under mocks no name is generated, so this is the only place a
// too-long name shows before `pulumi up` fails at that resource.
import { AUTONAME_SUFFIX } from "../components/config/awsNames";
import { awsCalls as calls, REGION } from "./awsMocks";
import { runFailingProgram, runProgram } from "./harness";

/** Auto-named types: the field the provider fills and its limit. */
const LIMITS: Record<string, { field: string; max: number; source: string }> = {
    "aws:iam/role:Role": { field: "name", max: 64, source: "IAM quotas; pulumi-aws resources.go AutoName(\"name\", 64)" },
    "aws:iam/policy:Policy": { field: "name", max: 128, source: "IAM quotas (policy name 128)" },
    "aws:iam/rolePolicy:RolePolicy": { field: "name", max: 128, source: "IAM PutRolePolicy PolicyName 128" },
    "aws:lb/targetGroup:TargetGroup": { field: "name", max: 32, source: "@pulumi/aws lb/targetGroup.d.ts: maximum of 32; pulumi-aws AutoName(\"name\", 32)" },
    "aws:lb/loadBalancer:LoadBalancer": { field: "name", max: 32, source: "@pulumi/aws lb/loadBalancer.d.ts: maximum of 32" },
    "aws:scheduler/schedule:Schedule": { field: "name", max: 64, source: "EventBridge Scheduler CreateSchedule Name 1-64" },
    "aws:ecs/cluster:Cluster": { field: "name", max: 255, source: "ECS CreateCluster clusterName 255" },
    "aws:ecs/service:Service": { field: "name", max: 255, source: "ECS CreateService serviceName 255" },
    "aws:ecs/taskDefinition:TaskDefinition": { field: "family", max: 255, source: "ECS RegisterTaskDefinition family 255" },
    "aws:ecr/repository:Repository": { field: "name", max: 256, source: "ECR CreateRepository repositoryName 2-256" },
    "aws:cloudwatch/logGroup:LogGroup": { field: "name", max: 512, source: "CloudWatch Logs CreateLogGroup 1-512" },
    "aws:ec2/securityGroup:SecurityGroup": { field: "name", max: 255, source: "EC2 CreateSecurityGroup GroupName 255" },
    "aws:secretsmanager/secret:Secret": { field: "name", max: 512, source: "Secrets Manager CreateSecret Name 1-512" },
    "aws:rds/cluster:Cluster": { field: "clusterIdentifier", max: 63, source: "RDS CreateDBCluster DBClusterIdentifier 1-63" },
    "aws:rds/clusterInstance:ClusterInstance": { field: "identifier", max: 63, source: "RDS CreateDBInstance DBInstanceIdentifier 1-63" },
    "aws:rds/subnetGroup:SubnetGroup": { field: "name", max: 255, source: "RDS CreateDBSubnetGroup 255" },
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": { field: "name", max: 255, source: "RDS CreateDBClusterParameterGroup 255" },
    "aws:s3/bucket:Bucket": { field: "bucket", max: 63, source: "S3 bucket naming rules 3-63" },
    "aws:appautoscaling/policy:Policy": { field: "name", max: 256, source: "Application Auto Scaling PutScalingPolicy PolicyName 1-256" },
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": { field: "name", max: 253, source: "Cloud Map CreatePrivateDnsNamespace Name 1-253" },
    "aws:servicediscovery/service:Service": { field: "name", max: 127, source: "Cloud Map CreateService Name 127" },
    "aws:cloudwatch/metricAlarm:MetricAlarm": { field: "name", max: 255, source: "CloudWatch PutMetricAlarm AlarmName 1-255" },
    "aws:cloudwatch/dashboard:Dashboard": { field: "dashboardName", max: 255, source: "CloudWatch PutDashboard DashboardName 1-255" },
    "aws:sns/topic:Topic": { field: "name", max: 256, source: "SNS CreateTopic Name 1-256" },
};

/** Types without a generated name (no `name` input in @pulumi/aws, or named by their parent resource). */
const UNNAMED = new Set(["appautoscaling/target:Target", "cloudfront/distribution:Distribution", "ec2/internetGateway:InternetGateway", "ec2/route:Route",
    "ec2/routeTable:RouteTable", "ec2/routeTableAssociation:RouteTableAssociation", "ec2/subnet:Subnet", "ec2/vpc:Vpc", "ec2/vpcEndpoint:VpcEndpoint",
    "ecr/lifecyclePolicy:LifecyclePolicy", "iam/rolePolicyAttachment:RolePolicyAttachment", "lb/listener:Listener", "lb/listenerRule:ListenerRule",
    "s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "s3/bucketOwnershipControls:BucketOwnershipControls", "s3/bucketPolicy:BucketPolicy",
    "s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "s3/bucketVersioning:BucketVersioning", "secretsmanager/secretVersion:SecretVersion", "sns/topicSubscription:TopicSubscription", "vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "vpc/securityGroupIngressRule:SecurityGroupIngressRule"].map(t => `aws:${t}`));

const BASE = { "aws:region": REGION, target: "aws", dbMaxCapacity: "8", dbReaderInstances: "1" };
const stackOf = (n: number) => "s".repeat(n);
const nameOf = (n: number, c: string) => `${c}${"a".repeat(n - 1)}`;

/** Names over their limit: explicit ones as given, generated ones with the provider's suffix. */
async function tooLong(stack: string, config: Record<string, string>): Promise<string[]> {
    const run = await runProgram({ stack, config: { ...BASE, ...config }, calls });
    const types = new Set(run.resources.map(r => r.type).filter(t => t.startsWith("aws:")));
    const out: string[] = [];
    for (const r of run.resources) {
        const limit = LIMITS[r.type];
        if (limit === undefined) continue;
        const given = r.inputs[limit.field] as string | undefined;
        const prefix = r.inputs[`${limit.field}Prefix`] as string | undefined;
        // A namePrefix gets 26 characters of the provider's unique id (target groups and LBs cap their prefix at 6).
        const length = given !== undefined ? given.length : prefix !== undefined ? prefix.length + 26 : r.name.length + AUTONAME_SUFFIX;
        const cap = prefix !== undefined && r.type.startsWith("aws:lb/") ? Infinity : limit.max;
        if (prefix !== undefined && r.type.startsWith("aws:lb/")) expect([r.name, prefix.length <= 6]).toEqual([r.name, true]);
        if (length > cap) out.push(`${r.type} ${r.name}: ${length} > ${limit.max}`);
    }
    // A new AWS type must be placed in one of the two tables.
    expect([...types].filter(t => LIMITS[t] === undefined && !UNNAMED.has(t))).toEqual([]);
    return out;
}

// Bounds: stack + project <= 21 characters, stack + model <= 32, stack <= 30 (with `mlflow-`).
const FITTING: Array<[string, number, Record<string, string>]> = [
    ["projects, serving and gc at stack 10 + project 11 + model 22", 10, { projects: JSON.stringify([nameOf(11, "p")]), servedModels: JSON.stringify([nameOf(22, "m")]) }],
    ["the shortest project at stack 19", 19, { projects: JSON.stringify(["pa"]) }],
    ["no projects or models at stack 30", 30, {}],
];
test.each(FITTING)("every generated name fits: %s", async (_, n, config) => {
    expect(await tooLong(stackOf(n), config)).toEqual([]);
}, 60000);

const REFUSED: Array<[string, number, Record<string, string>, RegExp]> = [
    ["the longest project name (24) at stack 10", 10, { projects: JSON.stringify([nameOf(24, "p")]) }, /projects entry "paaaaaaaaaaaaaaaaaaaaaaa" is 13 characters too long/],
    ["project one over", 10, { projects: JSON.stringify(["keep", `${nameOf(12, "p")}:bob`]) },
        /at most 11 characters \(e\.g\. pulumi config rm projects && pulumi config set --path 'projects\[0\]' keep && pulumi config set --path 'projects\[1\]' paaaaaaaaaa:bob\)/],
    ["model one over", 10, { servedModels: JSON.stringify([nameOf(23, "m")]) }, /servedModels entry "maaaaaaaaaaaaaaaaaaaaaa" is 1 character too long/],
    ["stack one over", 31, {}, /a stack name of at most 30/],
];
test.each(REFUSED)("refused before anything is registered: %s", async (_, n, config, message) => {
    const { error, registered } = await runFailingProgram({ stack: stackOf(n), config: { ...BASE, ...config } });
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/must fit 64 characters/);
    expect(registered).toBe(0);
}, 60000);

test("gc schedules carry their own name <server>-gc-<7 hex>: the same on every run, one per server", async () => {
    const config = { ...BASE, projects: JSON.stringify(["alpha"]) };
    const names = async () => (await runProgram({ stack: "aws", config, calls })).ofType("aws:scheduler/schedule:Schedule").map(s => [s.name, s.inputs.name as string]);
    const first = await names();
    expect(first.map(([r]) => r).sort()).toEqual(["mlflow-aws-project-alpha-tracking-gc-schedule", "mlflow-aws-tracking-gc-schedule"]);
    for (const [resource, name] of first) expect(name).toMatch(new RegExp(`^${resource.replace(/-schedule$/, "")}-[0-9a-f]{7}$`));
    expect(new Set(first.map(([, n]) => n)).size).toBe(2);
    expect(await names()).toEqual(first);
}, 60000);
