// Type-level tests: `tsc --noEmit` (the first half of `npm test`) checks this file; nothing
// here runs. Each `@ts-expect-error` marks a combination that must NOT compile: if it ever
// compiles, tsc fails with "Unused '@ts-expect-error' directive".
import type * as pulumi from "@pulumi/pulumi";
import { ArtifactStore } from "../components/artifactStore";
import { AuthProxy } from "../components/authProxy";
import { BackendStore } from "../components/backendStore";
import { BucketInit } from "../components/bucketInit";
import { Network } from "../components/network";
import { TrackingServer } from "../components/trackingServer";


/** The target of the args picks the outputs: never called, only compiled. */
export function dockerOutputsFollowTheArgs(): pulumi.Output<string>[] {
    const network = new Network("n", { target: "local" });
    const store = new ArtifactStore("a", { target: "local", bucketName: "b", networkName: network.dockerNetworkName, image: "minio:1" });
    const init = new BucketInit("i", {
        target: "local", bucketName: "b", networkName: "n", image: "mc:1",
        endpointUrl: store.s3EndpointUrl, rootUser: store.rootUser, rootPassword: store.rootPassword,
    });
    const backend = new BackendStore("b", { target: "local", engine: "mysql", networkName: "n", image: "mysql:8" });
    const uri: pulumi.Output<string> = backend.connectionUri;
    // @ts-expect-error a Docker BackendStore has no Secrets Manager secret
    void backend.secretArn;
    // @ts-expect-error a Docker Network has no VPC
    void network.vpcId;
    // @ts-expect-error a Docker BucketInit makes no IAM policy
    void init.policyArn;
    const server = new TrackingServer("t", {
        target: "local", networkName: "n", pythonImage: "python:3", artifactBucket: "b", allowedHosts: [], corsAllowedOrigins: [],
        s3EndpointUrl: store.s3EndpointUrl, backendStoreUri: uri, artifactAccessKeyId: init.accessKeyId, artifactSecretAccessKey: init.secretAccessKey,
    });
    // @ts-expect-error a Docker TrackingServer has no ECR repository
    void server.ecrRepositoryUrl;
    const proxy = new AuthProxy("p", {
        target: "local", networkName: "n", upstream: server.upstream, upstreamContainerId: server.containerId, username: "u", image: "nginx:1",
    });
    // @ts-expect-error a Docker AuthProxy has no target group
    void proxy.targetGroupArn;
    return [uri, proxy.url, store.rootPassword];
}

export function awsOutputsFollowTheArgs(): pulumi.Output<string>[] {
    const network = new Network("n", { target: "aws", ingressCidrs: [], listenerPorts: [80], proxyPort: 8080, databasePort: 3306 });
    const store = new ArtifactStore("a", { target: "aws" });
    // @ts-expect-error an S3 artifact store has no MinIO root password
    void store.rootPassword;
    const init = new BucketInit("i", { target: "aws", bucketName: store.bucketName, bucketArn: store.bucketArn });
    // @ts-expect-error an AWS BucketInit makes no MinIO access key
    void init.accessKeyId;
    const backend = new BackendStore("b", {
        target: "aws", engine: "postgres", engineVersion: "16.8", subnetIds: network.privateSubnetIds,
        securityGroupId: network.databaseSecurityGroupId, minCapacity: 0, maxCapacity: 2, autoPauseSeconds: 900,
        backupRetentionDays: 7, deletionProtection: true,
    });
    // @ts-expect-error an AWS BackendStore has no connection URI: the task reads its secret
    void backend.connectionUri;
    // @ts-expect-error an AWS Network has no Docker network
    void network.dockerNetworkName;
    const proxy = new AuthProxy("p", {
        target: "aws", vpcId: network.vpcId, publicSubnetIds: network.publicSubnetIds,
        securityGroupId: network.loadBalancerSecurityGroupId, username: "u", image: "nginx:1",
    });
    return [backend.secretArn, init.policyArn, proxy.targetGroupArn, proxy.htpasswdSecretArn, network.vpcId];
}

/** Args of one target do not type-check as the other's. */
export function argsAreChecked(): void {
    // @ts-expect-error the AWS Network needs its ingress CIDRs and ports
    new Network("n", { target: "aws" });
    // @ts-expect-error a Docker BackendStore needs the Docker network; an AWS-only setting does not replace it
    new BackendStore("b", { target: "local", engine: "mysql", image: "mysql:8", subnetIds: [] });
    // @ts-expect-error an unknown target
    new ArtifactStore("a", { target: "gcp" });
}

/** A component typed for one target cannot stand in for the other. */
export function targetsDoNotMix(docker: BackendStore<"local">, aws: BackendStore<"aws">): void {
    // @ts-expect-error an AWS BackendStore is not a Docker one
    const d: BackendStore<"local"> = aws;
    const engine: "mysql" | "postgres" = docker.engine;
    void d;
    void engine;
}

/** Only the local target has a container id for the proxy's replacement label. */
export function containerIdIsDockerOnly(docker: TrackingServer<"local">, aws: TrackingServer<"aws">): pulumi.Output<string> {
    // @ts-expect-error an AWS TrackingServer runs no Docker container
    void aws.containerId;
    return docker.containerId;
}
