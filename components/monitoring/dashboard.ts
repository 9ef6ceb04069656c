// The CloudWatch dashboard: the alarms' signals on one page (body JSON, CloudWatch's dashboard
// body structure). Pure, from the same input as the alarms so both show the same metrics.
import { connectionsThreshold, ERROR_RATE_EXPRESSION, errorRateMetrics, MetricRef, MonitoredService, MonitoringInput } from "./alarms";

const WIDTH = 24;
const HALF = 12;
const HEIGHT = 6;

interface Widget {
    readonly type: "metric" | "text" | "alarm";
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
    readonly properties: Record<string, unknown>;
}

/** A metric as a dashboard row: namespace, name, dimension pairs, then its options. */
function row(m: MetricRef, options: Record<string, unknown>): unknown[] {
    return [m.namespace, m.metricName, ...Object.entries(m.dimensions).flat(), { stat: m.stat, period: m.period, ...options }];
}

function graph(region: string, title: string, metrics: unknown[][], extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { view: "timeSeries", region, title, metrics, ...extra };
}

function line(value: number, label: string): Record<string, unknown> {
    return { horizontal: [{ value, label }] };
}

function loadBalancerWidgets(input: MonitoringInput, region: string, y: number): Widget[] {
    const [target, elb, requests] = errorRateMetrics(input.loadBalancer, 60);
    return [{
        type: "metric", x: 0, y, width: HALF, height: HEIGHT,
        properties: graph(region, "Load balancer: requests and 5xx", [
            row(requests, { label: "requests" }), row(target, { label: "5xx from targets" }), row(elb, { label: "5xx from the load balancer" }),
        ], { stat: "Sum", period: 60 }),
    }, {
        type: "metric", x: HALF, y, width: HALF, height: HEIGHT,
        properties: graph(region, "Load balancer: 5xx per 100 requests", [
            row({ ...target, period: 300 }, { id: "m1", visible: false }), row({ ...elb, period: 300 }, { id: "m2", visible: false }),
            row({ ...requests, period: 300 }, { id: "m3", visible: false }),
            [{ expression: ERROR_RATE_EXPRESSION, label: "5xx per 100 requests", id: "e1" }],
        ], { period: 300, annotations: line(input.thresholds.errorRatePercent, "alarm") }),
    }];
}

function serviceWidgets(input: MonitoringInput, s: MonitoredService, region: string, y: number): Widget[] {
    const tg = { TargetGroup: s.targetGroup, LoadBalancer: input.loadBalancer };
    const ecs = { ClusterName: s.clusterName, ServiceName: s.serviceName };
    const t = input.thresholds;
    return [{
        type: "metric", x: 0, y, width: HALF, height: HEIGHT,
        properties: graph(region, `${s.title}: healthy and unhealthy tasks`, [
            row({ namespace: "AWS/ApplicationELB", metricName: "HealthyHostCount", dimensions: tg, stat: "Maximum", period: 60 }, { label: "healthy" }),
            row({ namespace: "AWS/ApplicationELB", metricName: "UnHealthyHostCount", dimensions: tg, stat: "Maximum", period: 60 }, { label: "unhealthy" }),
        ]),
    }, {
        type: "metric", x: HALF, y, width: HALF, height: HEIGHT,
        properties: graph(region, `${s.title}: CPU and memory (%)`, [
            row({ namespace: "AWS/ECS", metricName: "CPUUtilization", dimensions: ecs, stat: "Average", period: 300 }, { label: "CPU, average" }),
            row({ namespace: "AWS/ECS", metricName: "MemoryUtilization", dimensions: ecs, stat: "Maximum", period: 60 }, { label: "memory, fullest task" }),
        ], { yAxis: { left: { min: 0, max: 100 } }, annotations: { horizontal: [{ value: t.cpuPercent, label: "CPU alarm" }, { value: t.memoryPercent, label: "memory alarm" }] } }),
    }];
}

function databaseWidgets(input: MonitoringInput, region: string, y: number): Widget[] {
    const db = input.database;
    const dims = { DBClusterIdentifier: db.clusterIdentifier, Role: "WRITER" };
    const connections = connectionsThreshold(db.usableConnections, input.thresholds.dbConnectionsPercent);
    return [{
        type: "metric", x: 0, y, width: HALF, height: HEIGHT,
        properties: graph(region, "Aurora writer: capacity (ACU)", [
            row({ namespace: "AWS/RDS", metricName: "ServerlessDatabaseCapacity", dimensions: dims, stat: "Maximum", period: 60 }, { label: "ACU" }),
        ], { yAxis: { left: { min: 0 } }, annotations: line(db.maxCapacity, "dbMaxCapacity") }),
    }, {
        type: "metric", x: HALF, y, width: HALF, height: HEIGHT,
        properties: graph(region, "Aurora writer: connections", [
            row({ namespace: "AWS/RDS", metricName: "DatabaseConnections", dimensions: dims, stat: "Maximum", period: 60 }, { label: "connections" }),
        ], { yAxis: { left: { min: 0 } }, annotations: { horizontal: [{ value: connections, label: "alarm" }, { value: db.usableConnections, label: "budget" }] } }),
    }];
}

/**
 * The dashboard body: the alarms' states on top, then the load balancer, one row per service
 * (health, CPU and memory) and the database, each graph with its alarm's threshold drawn in.
 */
export function renderDashboardBody(input: MonitoringInput, region: string, alarmArns: readonly string[]): string {
    const widgets: Widget[] = [
        { type: "alarm", x: 0, y: 0, width: WIDTH, height: HEIGHT, properties: { title: "Alarms", alarms: [...alarmArns], sortBy: "stateUpdatedTimestamp" } },
        ...loadBalancerWidgets(input, region, HEIGHT),
        ...input.services.flatMap((s, i) => serviceWidgets(input, s, region, (i + 2) * HEIGHT)),
        ...databaseWidgets(input, region, (input.services.length + 2) * HEIGHT),
    ];
    return JSON.stringify({ widgets });
}
