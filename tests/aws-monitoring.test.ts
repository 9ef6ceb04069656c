// Monitoring on target aws (components/monitoring), under mocks: every alarm with its metric,
// dimensions (the real load balancer, target groups, services and cluster of the graph),
// threshold and the SNS topic; the optional e-mail subscription; the dashboard; log retention of
// every log group; monitoring=false leaves the rest of the graph as it was.
import { awsCalls as calls, REGION } from "./awsMocks";
import { ProgramRun, RecordedResource, runProgram } from "./harness";

const BASE = {
    "aws:region": REGION, target: "aws", dbMaxCapacity: "8", projects: JSON.stringify(["alpha"]), servedModels: JSON.stringify(["churn"]),
};
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const TOPIC = "aws:sns/topic:Topic";
const SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription";
const DASHBOARD = "aws:cloudwatch/dashboard:Dashboard";
const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
const M = "mlflow-aws-monitoring";
const TOPIC_ARN = `arn:aws:mock:eu-west-1:123456789012:sns/topic/${M}-alarms`;
const LB = "app/mlflow-aws-proxy-alb/0123";
const CLUSTER = "mlflow-aws-tracking-cluster";
const DB = "mlflow-aws-backend-cluster-0a1b2c3";

let on: ProgramRun;
let off: ProgramRun;
let tuned: ProgramRun;
beforeAll(async () => {
    on = await runProgram({ stack: "aws", config: BASE, calls });
    off = await runProgram({ stack: "aws", config: { ...BASE, monitoring: "false" }, calls });
    tuned = await runProgram({
        stack: "aws", calls, config: {
            ...BASE, alarmEmail: "ops@example.com", alarm5xxPercent: "2.5", alarmCpuPercent: "75", alarmMemoryPercent: "85", alarmDbConnectionsPercent: "50",
            logRetentionDays: "90",
        },
    });
}, 180000);

const alarm = (r: ProgramRun, key: string): RecordedResource => r.one(ALARM, new RegExp(`^${M}-${key}$`));
const tg = (name: string) => ({ TargetGroup: `targetgroup/${name}/4567`, LoadBalancer: LB });
const ecs = (service: string) => ({ ClusterName: CLUSTER, ServiceName: service });
const writer = { DBClusterIdentifier: DB, Role: "WRITER" };

// key, metric, statistic, period, dimensions, comparison, default threshold, threshold with the tuned config
const SINGLE: Array<[string, string, string, number, Record<string, string>, string, number, number]> = [
    ["tracking-unhealthy", "UnHealthyHostCount", "Maximum", 60, tg("mlflow-aws-proxy-tg"), "GreaterThanThreshold", 0, 0],
    ["tracking-restart-loop", "HealthyHostCount", "Maximum", 60, tg("mlflow-aws-proxy-tg"), "LessThanThreshold", 1, 1],
    ["tracking-memory", "MemoryUtilization", "Maximum", 60, ecs("mlflow-aws-tracking-service"), "GreaterThanOrEqualToThreshold", 90, 85],
    ["tracking-cpu", "CPUUtilization", "Average", 300, ecs("mlflow-aws-tracking-service"), "GreaterThanOrEqualToThreshold", 90, 75],
    ["project-alpha-unhealthy", "UnHealthyHostCount", "Maximum", 60, tg("mlflow-aws-proxy-project-alpha-tg"), "GreaterThanThreshold", 0, 0],
    ["project-alpha-restart-loop", "HealthyHostCount", "Maximum", 60, tg("mlflow-aws-proxy-project-alpha-tg"), "LessThanThreshold", 1, 1],
    ["project-alpha-memory", "MemoryUtilization", "Maximum", 60, ecs("mlflow-aws-project-alpha-tracking-service"), "GreaterThanOrEqualToThreshold", 90, 85],
    ["project-alpha-cpu", "CPUUtilization", "Average", 300, ecs("mlflow-aws-project-alpha-tracking-service"), "GreaterThanOrEqualToThreshold", 90, 75],
    ["model-churn-unhealthy", "UnHealthyHostCount", "Maximum", 60, tg("mlflow-aws-model-churn-tg"), "GreaterThanThreshold", 0, 0],
    ["model-churn-restart-loop", "HealthyHostCount", "Maximum", 60, tg("mlflow-aws-model-churn-tg"), "LessThanThreshold", 1, 1],
    ["model-churn-memory", "MemoryUtilization", "Maximum", 60, ecs("mlflow-aws-model-churn-service"), "GreaterThanOrEqualToThreshold", 90, 85],
    ["model-churn-cpu", "CPUUtilization", "Average", 300, ecs("mlflow-aws-model-churn-service"), "GreaterThanOrEqualToThreshold", 90, 75],
    ["db-capacity-max", "ServerlessDatabaseCapacity", "Minimum", 300, writer, "GreaterThanOrEqualToThreshold", 8, 8],
    // MySQL at 8 ACU: max_connections 1000, 990 after the 10 reserved (config/capacity.ts); 80% and 50% of it.
    ["db-connections", "DatabaseConnections", "Maximum", 60, writer, "GreaterThanOrEqualToThreshold", 792, 495],
];

test("exactly these alarms, each notifying the topic when it fires and when it clears, tagged with the stack", () => {
    expect(on.ofType(ALARM).map(a => a.name).sort()).toEqual([`${M}-lb-5xx-rate`, ...SINGLE.map(([key]) => `${M}-${key}`)].sort());
    for (const a of on.ofType(ALARM)) {
        expect([a.name, a.inputs.alarmActions, a.inputs.okActions]).toEqual([a.name, [TOPIC_ARN], [TOPIC_ARN]]);
        expect(a.inputs.tags).toEqual({ "mlflow-platform:stack": "aws" });
        expect(a.inputs.alarmDescription).toMatch(/Runbook: docs\/observability\.md, Alarms on AWS/);
    }
    expect(on.ofType(TOPIC).map(t => [t.name, t.inputs.tags])).toEqual([[`${M}-alarms`, { "mlflow-platform:stack": "aws" }]]);
});

test.each(SINGLE)("%s: %s (%s over %is) of the graph's own resources, the threshold from config", (key, metricName, statistic, period, dimensions, comparison, threshold, tunedThreshold) => {
    const a = alarm(on, key).inputs;
    const namespace = metricName.endsWith("HostCount") ? "AWS/ApplicationELB" : metricName.endsWith("Utilization") ? "AWS/ECS" : "AWS/RDS";
    expect({ namespace: a.namespace, metricName: a.metricName, statistic: a.statistic, period: a.period, dimensions: a.dimensions, comparison: a.comparisonOperator })
        .toEqual({ namespace, metricName, statistic, period, dimensions, comparison });
    expect([a.threshold, alarm(tuned, key).inputs.threshold]).toEqual([threshold, tunedThreshold]);
    expect(a.metricQueries).toBeUndefined();
});

test("the 5xx rate: metric math over the load balancer's 5xx and requests, the percentage from config", () => {
    const a = alarm(on, "lb-5xx-rate").inputs;
    expect(a.metricName).toBeUndefined();
    expect(a.metricQueries.map((q: any) => q.metric?.metricName ?? q.expression)).toEqual([
        "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RequestCount", expect.stringContaining("100 * (FILL(m1, 0) + FILL(m2, 0))"),
    ]);
    expect(a.metricQueries.slice(0, 3).map((q: any) => [q.id, q.returnData, q.metric.dimensions, q.metric.stat, q.metric.period]))
        .toEqual([1, 2, 3].map(i => [`m${i}`, false, { LoadBalancer: LB }, "Sum", 300]));
    expect(a.metricQueries[3]).toMatchObject({ id: "e1", returnData: true });
    expect([a.comparisonOperator, a.threshold, alarm(tuned, "lb-5xx-rate").inputs.threshold]).toEqual(["GreaterThanThreshold", 5, 2.5]);
});

test("alarmEmail subscribes that address to the topic by e-mail; without it no subscription", () => {
    expect(on.ofType(SUBSCRIPTION)).toEqual([]);
    const subs = tuned.ofType(SUBSCRIPTION);
    expect(subs.map(s => [s.name, s.inputs.protocol, s.inputs.endpoint, s.inputs.topic])).toEqual([[`${M}-alarms-email`, "email", "ops@example.com", TOPIC_ARN]]);
});

test("the dashboard shows every alarm and a row per service, and its name and the topic are stack outputs", () => {
    const d = on.one(DASHBOARD);
    expect(d.inputs.dashboardName).toBe("mlflow-aws");
    const body = JSON.parse(d.inputs.dashboardBody as string);
    const arns = on.ofType(ALARM).map(a => `arn:aws:mock:eu-west-1:123456789012:cloudwatch/metricAlarm/${a.name}`);
    expect([...body.widgets[0].properties.alarms].sort()).toEqual(arns.sort());
    const titles = body.widgets.map((w: any) => w.properties.title as string);
    for (const s of ["MLflow at /", "project alpha", "model churn"]) expect(titles).toContain(`${s}: CPU and memory (%)`);
    expect(JSON.stringify(body)).toContain(`"DBClusterIdentifier","${DB}","Role","WRITER"`);
    expect(on.outputs).toMatchObject({ alarmTopicArn: TOPIC_ARN, dashboardName: "mlflow-aws" });
});

test("monitoring=false: no alarm, topic or dashboard, no outputs of them, and every other resource as with it", () => {
    const isMonitoring = (r: RecordedResource) => r.urn.includes("mlflow:index:Monitoring");
    expect(off.resources.filter(isMonitoring)).toEqual([]);
    expect([off.outputs.alarmTopicArn, off.outputs.dashboardName]).toEqual([undefined, undefined]);
    const rest = on.resources.filter(r => !isMonitoring(r));
    expect(off.resources.map(r => r.urn).sort()).toEqual(rest.map(r => r.urn).sort());
    for (const r of rest) expect([r.urn, off.resources.find(x => x.urn === r.urn)!.inputs]).toEqual([r.urn, r.inputs]);
});

test("every log group the stack creates keeps its logs for logRetentionDays", () => {
    const groups = (r: ProgramRun) => r.ofType(LOG_GROUP).map(g => [g.name, g.inputs.retentionInDays]);
    // One for the tracking cluster (`/`, projects, gc and prune tasks), one per served model.
    expect(groups(on)).toEqual([["mlflow-aws-tracking-logs", 30], ["mlflow-aws-model-churn-logs", 30]]);
    expect(groups(tuned)).toEqual([["mlflow-aws-tracking-logs", 90], ["mlflow-aws-model-churn-logs", 90]]);
});
