// The aws target's CloudWatch alarms and dashboard, as plain data: which metric, which
// dimensions, which threshold. Pure: monitoring/aws.ts turns each spec into a MetricAlarm and the
// dashboard into its body; the table tests beside this file pin every number.
// Generic in the dimension values `V`: aws.ts passes Pulumi outputs, the tests plain strings.

/** Thresholds from stack config (alarm* keys); DEFAULT_ALARM_THRESHOLDS when unset. */
export interface AlarmThresholds {
    /** 5xx answers as a percentage of requests at the load balancer (alarm5xxPercent). */
    readonly errorRatePercent: number;
    /** A service's average CPU (alarmCpuPercent). */
    readonly cpuPercent: number;
    /** A service's fullest task's memory (alarmMemoryPercent). */
    readonly memoryPercent: number;
    /** The writer's connections as a percentage of what the connection budget allows (alarmDbConnectionsPercent). */
    readonly dbConnectionsPercent: number;
}

export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = { errorRatePercent: 5, cpuPercent: 90, memoryPercent: 90, dbConnectionsPercent: 80 };

/** Fewer requests than this in a 5-minute period make no error rate: one failed request of three is no outage. */
export const ERROR_RATE_MIN_REQUESTS = 20;
/** Minutes a service may have no healthy target before the restart-loop alarm fires (a rolling deployment takes about 1). */
export const DOWN_MINUTES = 5;

/** One ECS service behind its own target group: the server at `/`, a project's, a model's. */
export interface MonitoredService<V = string> {
    /** Part of the alarm's resource name: `tracking`, `project-<name>`, `model-<slug>`. */
    readonly key: string;
    /** What a person reads in the alarm and on the dashboard: `MLflow at /`, `project alpha`. */
    readonly title: string;
    readonly clusterName: V;
    readonly serviceName: V;
    /** The target group's ARN suffix (`targetgroup/<name>/<id>`), CloudWatch's TargetGroup dimension. */
    readonly targetGroup: V;
}

export interface MonitoringInput<V = string> {
    /** The load balancer's ARN suffix (`app/<name>/<id>`), CloudWatch's LoadBalancer dimension. */
    readonly loadBalancer: V;
    readonly services: readonly MonitoredService<V>[];
    readonly database: {
        readonly clusterIdentifier: V;
        /** dbMaxCapacity, in ACUs. */
        readonly maxCapacity: number;
        /** What MLflow may use: config/capacity.ts auroraUsableConnections, the budget the config check fits every fleet into. */
        readonly usableConnections: number;
    };
    readonly thresholds: AlarmThresholds;
}

export type Comparison = "GreaterThanOrEqualToThreshold" | "GreaterThanThreshold" | "LessThanThreshold";
export type MissingData = "notBreaching" | "breaching";

export interface MetricRef<V = string> {
    readonly namespace: string;
    readonly metricName: string;
    readonly dimensions: Readonly<Record<string, V>>;
    readonly stat: "Sum" | "Average" | "Maximum" | "Minimum";
    readonly period: number;
}

/** An alarm on one metric, or on a metric-math expression over `metrics` (ids m1, m2, ...). */
export interface AlarmSpec<V = string> {
    /** The resource name's last part; with the component's name it is the alarm's name. */
    readonly key: string;
    /** The alarm's description: what it means and the runbook section (docs/observability.md). */
    readonly description: string;
    readonly comparison: Comparison;
    readonly threshold: number;
    readonly evaluationPeriods: number;
    readonly datapointsToAlarm: number;
    readonly treatMissingData: MissingData;
    readonly metric?: MetricRef<V>;
    readonly expression?: { readonly expression: string; readonly label: string; readonly period: number; readonly metrics: readonly MetricRef<V>[] };
}

const RUNBOOK = "Runbook: docs/observability.md, Alarms on AWS";
const MINUTE = 60;

function ecs<V>(s: MonitoredService<V>, metricName: string, stat: MetricRef["stat"], period: number): MetricRef<V> {
    return { namespace: "AWS/ECS", metricName, dimensions: { ClusterName: s.clusterName, ServiceName: s.serviceName }, stat, period };
}

function targetGroup<V>(input: MonitoringInput<V>, s: MonitoredService<V>, metricName: string, stat: MetricRef["stat"]): MetricRef<V> {
    return { namespace: "AWS/ApplicationELB", metricName, dimensions: { TargetGroup: s.targetGroup, LoadBalancer: input.loadBalancer }, stat, period: MINUTE };
}

function writer<V>(input: MonitoringInput<V>, metricName: string, stat: MetricRef["stat"], period: number): MetricRef<V> {
    // AWS advises alarms on the role's metrics, not an instance's: the writer may change after a failover.
    return { namespace: "AWS/RDS", metricName, dimensions: { DBClusterIdentifier: input.database.clusterIdentifier, Role: "WRITER" as V }, stat, period };
}

/** The load balancer's metrics the error rate is computed from, ids m1 (target 5xx), m2 (its own 5xx), m3 (requests). */
export function errorRateMetrics<V>(loadBalancer: V, period: number): MetricRef<V>[] {
    const lb = (metricName: string): MetricRef<V> => ({ namespace: "AWS/ApplicationELB", metricName, dimensions: { LoadBalancer: loadBalancer }, stat: "Sum", period });
    return [lb("HTTPCode_Target_5XX_Count"), lb("HTTPCode_ELB_5XX_Count"), lb("RequestCount")];
}

/**
 * 5xx per 100 requests. The ELB's own 5xx (502, 503, 504) are in the denominator too: a 503 for
 * no healthy target is not in RequestCount, which counts only requests a target was chosen for.
 * Missing counts are zero (CloudWatch reports them only when non-zero).
 */
export const ERROR_RATE_EXPRESSION = `IF((FILL(m3, 0) + FILL(m2, 0)) >= ${ERROR_RATE_MIN_REQUESTS}, 100 * (FILL(m1, 0) + FILL(m2, 0)) / (FILL(m3, 0) + FILL(m2, 0)), 0)`;

function errorRateAlarm<V>(input: MonitoringInput<V>): AlarmSpec<V> {
    const period = 5 * MINUTE;
    return {
        key: "lb-5xx-rate",
        description: `More than ${input.thresholds.errorRatePercent}% of requests at the load balancer answered 5xx (by MLflow, a model server or the load balancer itself) in 2 of 3 five-minute periods with ${ERROR_RATE_MIN_REQUESTS} or more requests. ${RUNBOOK}, "5xx rate".`,
        comparison: "GreaterThanThreshold", threshold: input.thresholds.errorRatePercent,
        evaluationPeriods: 3, datapointsToAlarm: 2, treatMissingData: "notBreaching",
        expression: { expression: ERROR_RATE_EXPRESSION, label: "5xx per 100 requests", period, metrics: errorRateMetrics(input.loadBalancer, period) },
    };
}

function serviceAlarms<V>(input: MonitoringInput<V>, s: MonitoredService<V>): AlarmSpec<V>[] {
    const t = input.thresholds;
    return [{
        key: `${s.key}-unhealthy`,
        description: `${s.title}: a task failed the load balancer's health check for ${DOWN_MINUTES} minutes in a row. ${RUNBOOK}, "Unhealthy targets".`,
        comparison: "GreaterThanThreshold", threshold: 0, evaluationPeriods: DOWN_MINUTES, datapointsToAlarm: DOWN_MINUTES, treatMissingData: "notBreaching",
        metric: targetGroup(input, s, "UnHealthyHostCount", "Maximum"),
    }, {
        key: `${s.key}-restart-loop`,
        description: `${s.title}: no healthy task for ${DOWN_MINUTES} minutes: its tasks keep stopping or never pass the health check (a restart loop), or none runs. ${RUNBOOK}, "Restart loop".`,
        // No data means no target registered at all: as down as a failing one.
        comparison: "LessThanThreshold", threshold: 1, evaluationPeriods: DOWN_MINUTES, datapointsToAlarm: DOWN_MINUTES, treatMissingData: "breaching",
        metric: targetGroup(input, s, "HealthyHostCount", "Maximum"),
    }, {
        key: `${s.key}-memory`,
        description: `${s.title}: a task used ${t.memoryPercent}% or more of its memory for 5 minutes; at 100% it is killed (OutOfMemoryError). ${RUNBOOK}, "Memory high".`,
        comparison: "GreaterThanOrEqualToThreshold", threshold: t.memoryPercent, evaluationPeriods: 5, datapointsToAlarm: 5, treatMissingData: "notBreaching",
        metric: ecs(s, "MemoryUtilization", "Maximum", MINUTE),
    }, {
        key: `${s.key}-cpu`,
        description: `${s.title}: its tasks averaged ${t.cpuPercent}% CPU or more for 15 minutes: autoscaling is at its maximum or cannot keep up. ${RUNBOOK}, "CPU high".`,
        comparison: "GreaterThanOrEqualToThreshold", threshold: t.cpuPercent, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: "notBreaching",
        metric: ecs(s, "CPUUtilization", "Average", 5 * MINUTE),
    }];
}

/** The connections the alarm fires at: `percent` of the budget, at least 1. */
export function connectionsThreshold(usableConnections: number, percent: number): number {
    return Math.max(1, Math.floor(usableConnections * percent / 100));
}

function databaseAlarms<V>(input: MonitoringInput<V>): AlarmSpec<V>[] {
    const db = input.database;
    const connections = connectionsThreshold(db.usableConnections, input.thresholds.dbConnectionsPercent);
    return [{
        key: "db-capacity-max",
        description: `Aurora's writer stayed at its maximum capacity (dbMaxCapacity ${db.maxCapacity} ACU) for 15 minutes: queries queue for CPU and memory. ${RUNBOOK}, "Aurora at maximum capacity".`,
        // Minimum over each period: at the ceiling the whole 5 minutes, not one spike.
        comparison: "GreaterThanOrEqualToThreshold", threshold: db.maxCapacity, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: "notBreaching",
        metric: writer(input, "ServerlessDatabaseCapacity", "Minimum", 5 * MINUTE),
    }, {
        key: "db-connections",
        description: `Aurora's writer held ${connections} connections or more (${input.thresholds.dbConnectionsPercent}% of the ${db.usableConnections} the connection budget allows at dbMaxCapacity ${db.maxCapacity}) for 5 minutes. ${RUNBOOK}, "Database connections".`,
        comparison: "GreaterThanOrEqualToThreshold", threshold: connections, evaluationPeriods: 5, datapointsToAlarm: 5, treatMissingData: "notBreaching",
        metric: writer(input, "DatabaseConnections", "Maximum", MINUTE),
    }];
}

/** Every alarm of the stack, in a stable order: the load balancer, each service, the database. */
export function renderAlarms<V>(input: MonitoringInput<V>): AlarmSpec<V>[] {
    return [errorRateAlarm(input), ...input.services.flatMap(s => serviceAlarms(input, s)), ...databaseAlarms(input)];
}

/** How many metrics CloudWatch bills an alarm for: one each, metric math its metrics (not the expression). */
export function billedAlarmMetrics(spec: AlarmSpec<unknown>): number {
    return spec.expression === undefined ? 1 : spec.expression.metrics.length;
}

/** CloudWatch's dashboard name for a platform: letters, digits, `-` and `_` only (a stack name may hold a `.`). */
export function dashboardName(platformName: string): string {
    return platformName.replace(/[^A-Za-z0-9_-]/g, "-");
}
