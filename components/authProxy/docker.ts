// Docker auth proxy: an nginx container publishing the platform's only host port.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { healthcheck, pulledImage, LOG_ROTATION, RESTART_POLICY, roleLabels, WAIT_HEALTHY } from "../shared/docker";
import { HTPASSWD_PATH, PROXY_CONFIG_PATH, PROXY_LISTEN_PORT, proxyHealthcheckCommand, proxyUpstreamLabels, renderProxyConfig } from "./nginx";
import { projectNames, projectUpstreamLabels } from "../shared/projects";
import { READER_HTPASSWD_PATH, REGISTRY_READER_HOST } from "./registryReader";
import { PROXY_TOKEN_INCLUDE_PATH, renderProxyTokenInclude } from "./identity";
import { proxyModelLabels } from "../modelServer/serving";
import { SCRAPER_HTPASSWD_PATH } from "./metrics";
import type { AuthProxyResolved, LocalAuthProxyArgs, LocalAuthProxyOutputs, TargetOutputs } from "./types";

export function buildDockerAuthProxy(
    parent: pulumi.Resource, name: string, args: LocalAuthProxyArgs & AuthProxyResolved,
): TargetOutputs<LocalAuthProxyOutputs> {
    const hostPort = args.hostPort ?? 5000;
    const bindAddress = args.bindAddress ?? "127.0.0.1";
    const image = pulledImage(`${name}-image`, args.image, parent);
    const projects = args.projects ?? [];
    const projectUpstreams = pulumi.all(projects.map(p => p.upstream));
    const nginxConfig = pulumi.all([args.upstream, projectUpstreams]).apply(([upstream, upstreams]) => renderProxyConfig({
        listenPort: PROXY_LISTEN_PORT, upstream, maxUploadSize: args.maxUploadSize, timeoutSeconds: args.timeoutSeconds, htpasswdPath: HTPASSWD_PATH,
        ...(projects.length === 0 ? {} : { projects: projects.map((p, i) => ({ name: p.name, upstream: upstreams[i] })) }),
        ...(args.models ? { models: args.models.routes, registryReader: { htpasswdPath: READER_HTPASSWD_PATH } } : {}),
        ...(args.identityToken === undefined ? {} : { identity: { tokenIncludePath: PROXY_TOKEN_INCLUDE_PATH } }),
        ...(args.scraper === undefined ? {} : { metrics: { htpasswdPath: SCRAPER_HTPASSWD_PATH } }),
    }));
    const models = args.models;
    const modelIds = models ? pulumi.all(models.containerIds) : pulumi.output([] as string[]);
    const container = new docker.Container(`${name}-nginx`, {
        name: `${name}-nginx`,
        image: image.imageId,
        uploads: [
            { file: PROXY_CONFIG_PATH, content: nginxConfig },
            { file: HTPASSWD_PATH, content: args.htpasswd },
            ...(args.scraper === undefined ? [] : [{ file: SCRAPER_HTPASSWD_PATH, content: args.scraper.htpasswd }]),
            ...projects.map((p, i) => ({ file: projectNames(p.name).htpasswdPath, content: args.projectHtpasswd[i] })),
            ...(models ? [{ file: READER_HTPASSWD_PATH, content: pulumi.secret(pulumi.all(models.readerHtpasswdLines).apply(lines => lines.join(""))) }] : []),
            // The token's only copy on the proxy: a secret upload, never a command line or an env var.
            ...(args.identityToken === undefined ? [] : [{ file: PROXY_TOKEN_INCLUDE_PATH, content: pulumi.secret(pulumi.output(args.identityToken).apply(renderProxyTokenInclude)) }]),
            ...(args.identityToken === undefined ? [] : projects.map(p => ({ file: projectNames(p.name).tokenIncludePath, content: projectTokenInclude(args, p.name) }))),
        ],
        ports: [{ internal: PROXY_LISTEN_PORT, external: hostPort, ip: bindAddress, protocol: "tcp" }],
        // With served models also on each model's network, where that model server finds its
        // read-only registry port (never published) under REGISTRY_READER_HOST, and it finds the model.
        networksAdvanced: [{ name: args.networkName }, ...(models?.networkNames ?? []).map(n => ({ name: n, aliases: [REGISTRY_READER_HOST] }))],
        healthcheck: healthcheck(proxyHealthcheckCommand(PROXY_LISTEN_PORT)),
        restart: RESTART_POLICY,
        ...LOG_ROTATION,
        labels: pulumi.all([args.upstreamContainerId, pulumi.all(projects.map(p => p.upstreamContainerId)), modelIds]).apply(([id, ids, mids]) => [
            ...roleLabels("auth-proxy"), ...proxyUpstreamLabels(id), ...projectUpstreamLabels(projects.map(p => p.name), ids),
            ...(models ? proxyModelLabels(models.routes, mids) : []),
        ]),
        ...WAIT_HEALTHY,
        // Its fixed name and host port cannot exist twice: Pulumi must delete it before creating
        // the replacement (pulumi/pulumi-docker#1356: create-before-delete is the default).
    }, { parent, deleteBeforeReplace: true });
    const host = args.publicHost ?? (bindAddress === "0.0.0.0" || bindAddress === "127.0.0.1" ? "localhost" : bindAddress);
    return {
        url: container.id.apply(() => `http://${host}:${hostPort}`),
        nginxConfig,
        publicHosts: pulumi.output([host]),
    };
}

/** A project's token include (its own token: renderProjectProxyBlocks), secret. */
function projectTokenInclude(args: LocalAuthProxyArgs, project: string): pulumi.Output<string> {
    const token = args.projectIdentityTokens?.[project];
    if (token === undefined) throw new Error(`team accounts: project ${project} has no token of its own (projectIdentityTokens)`);
    return pulumi.secret(pulumi.output(token).apply(renderProxyTokenInclude));
}
