// A program that owns its network and adds MLflow to it: a VPC with two public and two private
// subnets (egress through one NAT gateway), then MlflowPlatform from the mlflow-platform package
// with its tasks and database in the private subnets and its load balancer in the public ones.
import * as aws from "@pulumi/aws";
import { MlflowPlatform, MlflowPlatformArgs, platformArgs } from "mlflow-platform";

const zones = aws.getAvailabilityZonesOutput({ state: "available" });
const vpc = new aws.ec2.Vpc("team", { cidrBlock: "10.60.0.0/16", enableDnsSupport: true, enableDnsHostnames: true });
const igw = new aws.ec2.InternetGateway("team", { vpcId: vpc.id });

const publicRoutes = new aws.ec2.RouteTable("team-public", { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }] });
const publicSubnets = [0, 1].map(i => {
    const subnet = new aws.ec2.Subnet(`team-public-${i}`, {
        vpcId: vpc.id, cidrBlock: `10.60.${i}.0/24`, availabilityZone: zones.names[i], mapPublicIpOnLaunch: true,
    });
    new aws.ec2.RouteTableAssociation(`team-public-${i}`, { subnetId: subnet.id, routeTableId: publicRoutes.id });
    return subnet;
});

// The tasks pull images and reach AWS APIs from the private subnets: one NAT gateway gives them egress.
const natIp = new aws.ec2.Eip("team-nat", { domain: "vpc" });
const nat = new aws.ec2.NatGateway("team", { subnetId: publicSubnets[0].id, allocationId: natIp.id }, { dependsOn: [igw] });
const privateRoutes = new aws.ec2.RouteTable("team-private", { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }] });
const privateSubnets = [0, 1].map(i => {
    const subnet = new aws.ec2.Subnet(`team-private-${i}`, { vpcId: vpc.id, cidrBlock: `10.60.${10 + i}.0/24`, availabilityZone: zones.names[i] });
    new aws.ec2.RouteTableAssociation(`team-private-${i}`, { subnetId: subnet.id, routeTableId: privateRoutes.id });
    return subnet;
});

// Settings named like the stack's config keys, with its defaults and checks; the VPC is added
// afterwards because its ids are outputs of this program, not strings platformArgs could check.
const settings = platformArgs({ target: "aws", backend: "postgres", projects: ["research"], dbMaxCapacity: 2 });
const args: MlflowPlatformArgs = {
    ...settings,
    aws: {
        ...settings.aws,
        existingVpc: { vpcId: vpc.id, publicSubnetIds: publicSubnets.map(s => s.id), privateSubnetIds: privateSubnets.map(s => s.id) },
    },
};
const mlflow = new MlflowPlatform("mlflow", args);

export const vpcId = vpc.id;
export const trackingUri = mlflow.trackingUri;
export const username = mlflow.username;
export const password = mlflow.password;
export const artifactBucket = mlflow.artifactBucket;
export const projects = mlflow.projects;
